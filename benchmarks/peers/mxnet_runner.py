"""MXNet Gluon's DataLoader on the benchmark workloads; run with benchmarks/.venv-mxnet/bin/python.

Usage: ``mxnet_runner.py --workload w1|w2|w5 --workers N --epochs E --data DIR``; prints one JSON
line. MXNet's engine is asynchronous, so each epoch's clock stops only after ``mx.nd.waitall()``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import harness
import mxnet as mx
import w1
import w2
import w5


class UserTable(w1.TableSamples, mx.gluon.data.Dataset):
    """W1's user ``__getitem__`` on Gluon's dataset base class."""


class UserMapped(w2.MappedSamples, mx.gluon.data.Dataset):
    """W2's user ``__getitem__`` on Gluon's dataset base class."""


class UserPairs(w5.PairSamples, mx.gluon.data.Dataset):
    """W5's user ``__getitem__`` on Gluon's dataset base class."""


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


if __name__ == "__main__":
    harness.main({"w1": run_w1, "w2": run_w2, "w5": run_w5}, "MXNet", mx.__version__)
