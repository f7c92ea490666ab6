"""The "no loader, 1 core" baseline: a bare numpy loop, with the same CLI as the other runners.

Usage: ``numpy_runner.py --workload w1|w2|w3|w4|w5 --workers 0 --epochs E --data DIR``; prints
one JSON line.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import harness
import numpy as np
from workloads import w1, w2, w3, w4, w5


class NumpyLoop:
    """Single samples ``(x[i], y[i])`` in a fresh shuffled order per epoch, stacked into batches.

    This is the least work any loader does for W1, done in the calling thread.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int) -> None:
        self._x = x
        self._y = y
        self._batch_size = batch_size
        self._rng = np.random.default_rng()

    def __iter__(self) -> Iterator[list[np.ndarray]]:
        x, y = self._x, self._y
        order = self._rng.permutation(len(x))
        for start in range(0, len(order), self._batch_size):
            samples = [(x[i], y[i]) for i in order[start : start + self._batch_size].tolist()]
            yield [np.stack([s[0] for s in samples]), np.array([s[1] for s in samples])]


class SampleLoop:
    """The user's ``__getitem__`` over every index (shuffled or in order), stacked field by field.

    The least work any loader does for a per-sample dataset, done in the calling thread.
    """

    def __init__(self, dataset: Sequence[Any], batch_size: int, shuffle: bool) -> None:
        self._dataset = dataset
        self._batch_size = batch_size
        self._shuffle = shuffle
        self._rng = np.random.default_rng()

    def __iter__(self) -> Iterator[Any]:
        n = len(self._dataset)
        order = self._rng.permutation(n) if self._shuffle else np.arange(n)
        for start in range(0, n, self._batch_size):
            samples = [self._dataset[i] for i in order[start : start + self._batch_size].tolist()]
            if isinstance(samples[0], tuple):
                yield [np.stack(field) for field in zip(*samples, strict=True)]
            else:
                yield np.stack(samples)


def _single_thread(
    run: Callable[[argparse.Namespace], harness.Result],
) -> Callable[[argparse.Namespace], harness.Result]:
    """Refuse ``--workers`` other than 0."""

    def checked(args: argparse.Namespace) -> harness.Result:
        if args.workers != 0:
            raise ValueError("the numpy baseline runs in one thread: use --workers 0")
        return run(args)

    checked.__doc__ = run.__doc__
    return checked


@_single_thread
def run_w1(args: argparse.Namespace) -> harness.Result:
    """Measure the bare loop over W1's table."""
    x, y = w1.load(args.data)
    return harness.measure(lambda: NumpyLoop(x, y, w1.BATCH_SIZE), args.epochs, w1.EPOCH_BATCHES)


@_single_thread
def run_w2(args: argparse.Namespace) -> harness.Result:
    """Measure the bare loop over W2's samples, in file order."""
    dataset = w2.MappedSamples(w2.load(args.data))
    return harness.measure(
        lambda: SampleLoop(dataset, w2.BATCH_SIZE, shuffle=False), args.epochs, w2.EPOCH_BATCHES
    )


@_single_thread
def run_w3(args: argparse.Namespace) -> harness.Result:
    """Measure the bare loop over W3's images, shuffled."""
    dataset = w3.FolderSamples(args.data)
    return harness.measure(
        lambda: SampleLoop(dataset, w3.BATCH_SIZE, shuffle=True), args.epochs, w3.EPOCH_BATCHES
    )


@_single_thread
def run_w4(args: argparse.Namespace) -> harness.Result:
    """Measure the bare loop over W4's records, shuffled."""
    dataset = w4.RecordSamples(w4.rec_path(args.data))
    return harness.measure(
        lambda: SampleLoop(dataset, w3.BATCH_SIZE, shuffle=True), args.epochs, w3.EPOCH_BATCHES
    )


@_single_thread
def run_w5(args: argparse.Namespace) -> harness.Result:
    """Measure the bare loop over W5's pairs, shuffled."""
    dataset = w5.PairSamples(args.data)
    return harness.measure(
        lambda: SampleLoop(dataset, w5.BATCH_SIZE, shuffle=True), args.epochs, w5.EPOCH_BATCHES
    )


if __name__ == "__main__":
    harness.main(
        {"w1": run_w1, "w2": run_w2, "w3": run_w3, "w4": run_w4, "w5": run_w5},
        "numpy",
        np.__version__,
    )
