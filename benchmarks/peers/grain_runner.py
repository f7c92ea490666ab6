"""Grain on the benchmark workloads; run with benchmarks/.venv-grain/bin/python.

Usage: ``grain_runner.py --workload w1|w2|w3|w4|w5 --workers N --epochs E --data DIR
[--dataset user|native]``; prints one JSON line.

- ``user``: ``grain.DataLoader`` over the same per-sample Python code as every contender (a
  random-access data source), an ``IndexSampler`` (shuffled where the workload shuffles, endless),
  ``Batch`` and ``worker_count=N`` worker processes.
- ``native``: Grain's dataset API, ``MapDataset.source(...).shuffle().repeat().batch()``, iterated
  in the main process (0 workers) or through ``to_iter_dataset().mp_prefetch(N workers)``. Grain
  has no image operations of its own: its W3 pipeline maps the same PIL code.

Both are one endless stream (its workers started once), read ``max_batches`` batches per epoch;
so an epoch's batches are all full (W3: 16 x 64 images, where the other loaders give 1000).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import grain
import harness
from workloads import w1, w2, w3, w4, w5

SEED = 0


def add_options(parser: argparse.ArgumentParser) -> None:
    """Add Grain's option: its DataLoader, or its dataset API."""
    parser.add_argument(
        "--dataset",
        choices=("user", "native"),
        default="user",
        help="grain.DataLoader over the user's __getitem__, or MapDataset + mp_prefetch",
    )


class Stream:
    """An endless iterator as a loader: every ``iter()`` continues where the last one stopped."""

    def __init__(self, it: Iterator[Any]) -> None:
        self._it = it

    def __iter__(self) -> Iterator[Any]:
        return self._it


def loader(args: argparse.Namespace, source: Any, batch_size: int, shuffle: bool) -> Stream:
    """The configuration of the command line over ``source`` (len + getitem)."""
    if args.dataset == "native":
        ds = grain.MapDataset.source(source)
        if shuffle:
            ds = ds.shuffle(seed=SEED)
        stream = ds.repeat().batch(batch_size).to_iter_dataset()
        if args.workers:
            stream = stream.mp_prefetch(grain.MultiprocessingOptions(num_workers=args.workers))
        return Stream(iter(stream))
    data = grain.DataLoader(
        data_source=source,
        sampler=grain.samplers.IndexSampler(len(source), shuffle=shuffle, seed=SEED),
        operations=[grain.transforms.Batch(batch_size)],
        worker_count=args.workers,
    )
    return Stream(iter(data))


def _measure(
    args: argparse.Namespace, source: Any, batch_size: int, max_batches: int, shuffle: bool
) -> harness.Result:
    return harness.measure(
        lambda: loader(args, source, batch_size, shuffle), args.epochs, max_batches
    )


def run_w1(args: argparse.Namespace) -> harness.Result:
    """W1: the user's ``(x[i], y[i])``."""
    source = w1.TableSamples(*w1.load(args.data))
    return _measure(args, source, w1.BATCH_SIZE, w1.EPOCH_BATCHES, shuffle=True)


def run_w2(args: argparse.Namespace) -> harness.Result:
    """W2: the user's copy of ``arr[i]``, in file order."""
    source = w2.MappedSamples(w2.load(args.data))
    return _measure(args, source, w2.BATCH_SIZE, w2.EPOCH_BATCHES, shuffle=False)


def run_w3(args: argparse.Namespace) -> harness.Result:
    """W3: the user's PIL ``__getitem__``."""
    source = w3.FolderSamples(args.data)
    return _measure(args, source, w3.BATCH_SIZE, w3.EPOCH_BATCHES, shuffle=True)


def run_w4(args: argparse.Namespace) -> harness.Result:
    """W4: the user's record ``__getitem__``."""
    source = w4.RecordSamples(w4.rec_path(args.data))
    return _measure(args, source, w3.BATCH_SIZE, w3.EPOCH_BATCHES, shuffle=True)


def run_w5(args: argparse.Namespace) -> harness.Result:
    """W5: the user's pair of ``np.load``."""
    source = w5.PairSamples(args.data)
    return _measure(args, source, w5.BATCH_SIZE, w5.EPOCH_BATCHES, shuffle=True)


if __name__ == "__main__":
    harness.main(
        {"w1": run_w1, "w2": run_w2, "w3": run_w3, "w4": run_w4, "w5": run_w5},
        "Grain",
        grain.__version__,
        add_options,
    )
