"""MXNet Gluon's DataLoader on the benchmark workloads; run with benchmarks/.venv-mxnet/bin/python.

Usage: ``mxnet_runner.py --workload w1|w2|w3|w4|w5 --workers N --epochs E --data DIR
[--dataset user|native|iter]``; prints one JSON line. MXNet's engine is asynchronous, so each
epoch's clock stops only after ``mx.nd.waitall()``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import harness
import mxnet as mx
from workloads import w1, w2, w3, w4, w5


class UserTable(w1.TableSamples, mx.gluon.data.Dataset):
    """W1's user ``__getitem__`` on Gluon's dataset base class."""


class UserMapped(w2.MappedSamples, mx.gluon.data.Dataset):
    """W2's user ``__getitem__`` on Gluon's dataset base class."""


class UserPairs(w5.PairSamples, mx.gluon.data.Dataset):
    """W5's user ``__getitem__`` on Gluon's dataset base class."""


class UserFolder(w3.FolderSamples, mx.gluon.data.Dataset):
    """W3's user ``__getitem__`` on Gluon's dataset base class."""


class UserRecords(w4.RecordSamples, mx.gluon.data.Dataset):
    """W4's user ``__getitem__`` on Gluon's dataset base class."""


def add_options(parser: argparse.ArgumentParser) -> None:
    """Add MXNet's option: the user's dataset, or MXNet's own (W3/W4), or its C++ iterator (W4)."""
    parser.add_argument(
        "--dataset",
        choices=("user", "native", "iter"),
        default="user",
        help="the user's per-sample Dataset; native: Gluon's ImageFolderDataset (W3) or "
        "ImageRecordDataset (W4) + gluon transforms; iter: mx.io.ImageRecordIter (W4)",
    )


def _measure(
    args: argparse.Namespace, dataset: Any, batch_size: int, max_batches: int, **options: Any
) -> harness.Result:
    """Run the protocol on a Gluon DataLoader with the command line's workers."""
    return harness.measure(
        lambda: mx.gluon.data.DataLoader(
            dataset, batch_size=batch_size, num_workers=args.workers, **options
        ),
        args.epochs,
        max_batches,
        sync=mx.nd.waitall,
    )


def run_w1(args: argparse.Namespace) -> harness.Result:
    """Measure W1 with the user's dataset and ``num_workers=args.workers``."""
    return _measure(
        args, UserTable(*w1.load(args.data)), w1.BATCH_SIZE, w1.EPOCH_BATCHES, shuffle=True
    )


def run_w2(args: argparse.Namespace) -> harness.Result:
    """Measure W2 with the user's dataset over the memory-mapped array."""
    return _measure(args, UserMapped(w2.load(args.data)), w2.BATCH_SIZE, w2.EPOCH_BATCHES)


def run_w5(args: argparse.Namespace) -> harness.Result:
    """Measure W5 with the user's dataset, shuffled, ``last_batch='rollover'``."""
    return _measure(
        args,
        UserPairs(args.data),
        w5.BATCH_SIZE,
        w5.EPOCH_BATCHES,
        shuffle=True,
        last_batch="rollover",
    )


def _image_transform() -> mx.gluon.Block:
    """W3's augmentation with Gluon's own transforms."""
    T = mx.gluon.data.vision.transforms
    return T.Compose(
        [
            T.RandomResizedCrop(w3.CROP, scale=w3.SCALE, ratio=w3.RATIO),
            T.RandomFlipLeftRight(),
            T.ToTensor(),
            T.Normalize(w3.MEAN, w3.STD),
        ]
    )


def run_w3(args: argparse.Namespace) -> harness.Result:
    """Measure W3 with the user's dataset or Gluon's ImageFolderDataset + transforms."""
    if args.dataset == "native":
        folder = mx.gluon.data.vision.ImageFolderDataset(str(w3.folder(args.data)))
        dataset = folder.transform_first(_image_transform())
    elif args.dataset == "user":
        dataset = UserFolder(args.data)
    else:
        raise ValueError(f"W3 has no --dataset {args.dataset}")
    return _measure(args, dataset, w3.BATCH_SIZE, w3.EPOCH_BATCHES, shuffle=True)


def run_w4(args: argparse.Namespace) -> harness.Result:
    """Measure W4 with the user's dataset, Gluon's ImageRecordDataset + transforms, or the C++
    ``mx.io.ImageRecordIter``."""
    rec = w4.rec_path(args.data)
    if args.dataset == "iter":
        return harness.measure(
            lambda: w4.RecordIterEpochs(
                mx.io.ImageRecordIter(
                    path_imgrec=rec,
                    path_imgidx=w4.idx_path(args.data),
                    verbose=False,
                    **w4.RECORD_ITER_ARGS,
                ),
                w3.IMAGES,
            ),
            args.epochs,
            w3.EPOCH_BATCHES,
            sync=mx.nd.waitall,
        )
    if args.dataset == "native":
        records = mx.gluon.data.vision.ImageRecordDataset(rec)
        dataset = records.transform_first(_image_transform())
    elif args.dataset == "user":
        dataset = UserRecords(rec)
    else:
        raise ValueError(f"W4 has no --dataset {args.dataset}")
    return _measure(args, dataset, w3.BATCH_SIZE, w3.EPOCH_BATCHES, shuffle=True)


if __name__ == "__main__":
    harness.main(
        {"w1": run_w1, "w2": run_w2, "w3": run_w3, "w4": run_w4, "w5": run_w5},
        "MXNet",
        mx.__version__,
        add_options,
    )
