"""The ``gluondata`` command."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    run_demo(
        samples=args.samples,
        size=args.size,
        batch_size=args.batch_size,
        workers=args.workers,
        epochs=args.epochs,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``gluondata`` command line; return the exit status."""
    parser = argparse.ArgumentParser(prog="gluondata", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="load a generated .npy segmentation dataset and report samples/s"
    )
    demo.add_argument("--samples", type=int, default=256, help="image/mask pairs to make")
    demo.add_argument("--size", type=int, default=128, help="image side in pixels")
    demo.add_argument("--batch-size", type=int, default=16)
    demo.add_argument("--workers", type=int, default=None, help="default: min(2, cores)")
    demo.add_argument("--epochs", type=int, default=2)
    demo.set_defaults(run=_demo)
    from . import _bench, _doctor, im2rec
    from .recordio import _inspect as recordio_inspect

    packer = commands.add_parser(
        "im2rec",
        help="list images into .lst files (--list), or pack .lst files into .rec/.idx",
        description="MXNet's tools/im2rec.py: list images (--list), or pack lists into RecordIO.",
    )
    im2rec.add_arguments(packer)
    packer.set_defaults(run=im2rec.run)
    inspect = commands.add_parser(
        "inspect", help="count a .rec file's records, labels and images; check its .idx"
    )
    recordio_inspect.add_arguments(inspect)
    inspect.set_defaults(run=recordio_inspect.run)
    doctor = commands.add_parser(
        "doctor",
        help="check this machine for data loading (CPUs, shared memory, memory, start method, "
        "image backends); exit 1 if a loader would fail",
        description=_doctor.__doc__,
    )
    _doctor.add_arguments(doctor)
    doctor.set_defaults(run=_doctor.run)
    bencher = commands.add_parser(
        "bench",
        help="iterate a loader for some epochs; print samples/s and where the time goes",
        description=_bench.__doc__,
    )
    _bench.add_arguments(bencher)
    bencher.set_defaults(run=_bench.run)
    args = parser.parse_args(argv)
    return args.run(args)
