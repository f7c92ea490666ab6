"""PyTorch's DataLoader on the benchmark workloads; run with benchmarks/.venv-torch/bin/python.

Usage: ``torch_runner.py --workload w1|w2|w3|w4|w5 --workers N --epochs E --data DIR``; prints
one JSON line. PyTorch's default collate turns the numpy samples into tensors: that is what a user
gets.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import harness
import torch
from torch.utils.data import DataLoader, Dataset
from workloads import w1, w2, w3, w4, w5


class UserTable(w1.TableSamples, Dataset):
    """W1's user ``__getitem__`` on PyTorch's dataset base class."""


class UserMapped(w2.MappedSamples, Dataset):
    """W2's user ``__getitem__`` on PyTorch's dataset base class."""


class UserPairs(w5.PairSamples, Dataset):
    """W5's user ``__getitem__`` on PyTorch's dataset base class."""


class UserFolder(w3.FolderSamples, Dataset):
    """W3's user ``__getitem__`` on PyTorch's dataset base class."""


class UserRecords(w4.RecordSamples, Dataset):
    """W4's user ``__getitem__`` on PyTorch's dataset base class."""


def _measure(
    args: argparse.Namespace, dataset: Any, batch_size: int, max_batches: int, shuffle: bool
) -> harness.Result:
    """Run the protocol on a PyTorch DataLoader with the command line's workers."""
    return harness.measure(
        lambda: DataLoader(
            dataset, batch_size=batch_size, shuffle=shuffle, num_workers=args.workers
        ),
        args.epochs,
        max_batches,
    )


def run_w1(args: argparse.Namespace) -> harness.Result:
    """Measure W1 with the user's dataset and ``num_workers=args.workers``."""
    return _measure(
        args, UserTable(*w1.load(args.data)), w1.BATCH_SIZE, w1.EPOCH_BATCHES, shuffle=True
    )


def run_w2(args: argparse.Namespace) -> harness.Result:
    """Measure W2 with the user's dataset over the memory-mapped array."""
    return _measure(
        args, UserMapped(w2.load(args.data)), w2.BATCH_SIZE, w2.EPOCH_BATCHES, shuffle=False
    )


def run_w5(args: argparse.Namespace) -> harness.Result:
    """Measure W5 with the user's dataset (``last_batch`` has no rollover here: the default)."""
    return _measure(args, UserPairs(args.data), w5.BATCH_SIZE, w5.EPOCH_BATCHES, shuffle=True)


def run_w3(args: argparse.Namespace) -> harness.Result:
    """Measure W3 with the user's dataset (the PIL transform)."""
    return _measure(args, UserFolder(args.data), w3.BATCH_SIZE, w3.EPOCH_BATCHES, shuffle=True)


def run_w4(args: argparse.Namespace) -> harness.Result:
    """Measure W4 with the user's dataset (pure-Python record reader, the PIL transform)."""
    dataset = UserRecords(w4.rec_path(args.data))
    return _measure(args, dataset, w3.BATCH_SIZE, w3.EPOCH_BATCHES, shuffle=True)


if __name__ == "__main__":
    harness.main(
        {"w1": run_w1, "w2": run_w2, "w3": run_w3, "w4": run_w4, "w5": run_w5},
        "PyTorch",
        torch.__version__,
    )
