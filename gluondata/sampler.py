"""Samplers: the order in which a DataLoader visits a dataset's indices.

A sampler yields dataset indices; a :class:`BatchSampler` groups them into
lists, one list per batch. Shuffling never touches numpy's global random
state: each :class:`RandomSampler` owns a ``numpy.random.Generator`` keyed by
its seed and the epoch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from .random import fresh_seed

__all__ = [
    "BatchSampler",
    "FilterSampler",
    "IntervalSampler",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
]

LAST_BATCH_MODES = ("keep", "discard", "rollover")


class Sampler:
    """Base class: yields indices (or lists of indices) into a dataset."""

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError


class SequentialSampler(Sampler):
    """Yield ``start, start + 1, ..., start + length - 1``.

    Parameters
    ----------
    length : int
        Number of indices.
    start : int, default 0
        First index.
    """

    def __init__(self, length: int, start: int = 0) -> None:
        self._length = int(length)
        self._start = int(start)

    def __iter__(self) -> Iterator[int]:
        return iter(range(self._start, self._start + self._length))

    def epoch_indices(self) -> np.ndarray:
        """Return this epoch's indices as an int64 array."""
        return np.arange(self._start, self._start + self._length, dtype=np.int64)

    def __len__(self) -> int:
        return self._length

    def __repr__(self) -> str:
        return f"SequentialSampler(length={self._length}, start={self._start})"


class RandomSampler(Sampler):
    """Yield ``0 .. length - 1`` in a new random order every epoch.

    The order of epoch ``e`` is a pure function of ``(seed, e)``, so a seeded
    sampler repeats run to run. Each ``iter()`` starts the next epoch, unless
    :meth:`set_epoch` chose one.

    Parameters
    ----------
    length : int
        Number of indices.
    seed : int, optional
        Seed of the shuffle; a fresh random seed when omitted.
    """

    def __init__(self, length: int, seed: int | None = None) -> None:
        self._length = int(length)
        self.seed = fresh_seed() if seed is None else int(seed)
        self._epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Make the next ``iter()`` yield the order of ``epoch``."""
        self._epoch = int(epoch)

    def __iter__(self) -> Iterator[int]:
        return iter(self.epoch_indices().tolist())

    def epoch_indices(self) -> np.ndarray:
        """Return the next epoch's order as an int64 array (and move to the epoch after)."""
        rng = np.random.default_rng([self.seed, self._epoch])
        self._epoch += 1
        return rng.permutation(self._length).astype(np.int64, copy=False)

    def __len__(self) -> int:
        return self._length

    def __repr__(self) -> str:
        return f"RandomSampler(length={self._length}, seed={self.seed})"


class FilterSampler(Sampler):
    """Yield the indices of the samples for which ``fn(sample)`` is true.

    The dataset is scanned once, at construction (as in Gluon).

    Parameters
    ----------
    fn : callable
        Predicate on a sample.
    dataset : Dataset
        The dataset to scan.
    """

    def __init__(self, fn: Callable[[Any], Any], dataset: Sequence[Any]) -> None:
        self._indices = np.array([i for i in range(len(dataset)) if fn(dataset[i])], dtype=np.int64)

    def __iter__(self) -> Iterator[int]:
        return iter(self._indices.tolist())

    def epoch_indices(self) -> np.ndarray:
        """Return the kept indices as an int64 array."""
        return self._indices

    def __len__(self) -> int:
        return len(self._indices)


class IntervalSampler(Sampler):
    """Yield ``0, k, 2k, ...`` then (with rollover) ``1, k + 1, ...`` and so on.

    Parameters
    ----------
    length : int
        Number of indices in the dataset.
    interval : int
        The step ``k``; must not exceed ``length``.
    rollover : bool, default True
        Continue with offsets ``1 .. k - 1`` after the first pass; otherwise
        stop after offset 0 (and ``len()`` counts only those indices, unlike
        MXNet, whose ``len()`` still said ``length``).
    """

    def __init__(self, length: int, interval: int, rollover: bool = True) -> None:
        if not 0 < interval <= length:
            raise ValueError(f"interval must be in 1..length ({length}), got {interval}")
        self._length = int(length)
        self._interval = int(interval)
        self._rollover = bool(rollover)

    def __iter__(self) -> Iterator[int]:
        offsets = range(self._interval) if self._rollover else range(1)
        for offset in offsets:
            yield from range(offset, self._length, self._interval)

    def __len__(self) -> int:
        if self._rollover:
            return self._length
        return len(range(0, self._length, self._interval))


class BatchSampler(Sampler):
    """Group a sampler's indices into lists of ``batch_size``.

    Parameters
    ----------
    sampler : Sampler or iterable of int
        Source of indices; iterated once per epoch.
    batch_size : int
        Indices per batch.
    last_batch : {'keep', 'discard', 'rollover'}, default 'keep'
        What to do with a short last batch: yield it (``keep``), drop it
        (``discard``), or carry its indices over to open the next epoch
        (``rollover``; ``len()`` then depends on what was carried over).
    """

    def __init__(self, sampler: Any, batch_size: int, last_batch: str = "keep") -> None:
        if last_batch not in LAST_BATCH_MODES:
            raise ValueError(
                "last_batch must be one of 'keep', 'discard', or 'rollover', "
                f"but got {last_batch!r}"
            )
        if int(batch_size) <= 0:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
        self._sampler = sampler
        self._batch_size = int(batch_size)
        self._last_batch = last_batch
        self._prev: list[int] = []

    @property
    def batch_size(self) -> int:
        """Indices per full batch."""
        return self._batch_size

    @property
    def last_batch(self) -> str:
        """The last-batch mode."""
        return self._last_batch

    @property
    def sampler(self) -> Any:
        """The sampler whose indices are grouped."""
        return self._sampler

    def set_epoch(self, epoch: int) -> None:
        """Pass ``epoch`` on to the sampler, if it has epochs (a RandomSampler does)."""
        set_epoch = getattr(self._sampler, "set_epoch", None)
        if set_epoch is not None:
            set_epoch(epoch)

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.index_batches():
            yield batch.tolist() if isinstance(batch, np.ndarray) else batch

    def index_batches(self) -> Iterator[Sequence[Any]]:
        """Yield this epoch's batches without converting them.

        For samplers with ``epoch_indices()`` (the built-in ones) each batch
        is a slice of an int64 array, which spares a Python int per index;
        for other samplers it is a list.
        """
        epoch_indices = getattr(self._sampler, "epoch_indices", None)
        stream: Sequence[Any] = list(self._sampler) if epoch_indices is None else epoch_indices()
        if self._prev:
            stream = (
                np.concatenate([np.asarray(self._prev, dtype=np.int64), stream])
                if isinstance(stream, np.ndarray)
                else self._prev + stream
            )
        self._prev = []
        if isinstance(stream, np.ndarray):
            stream.flags.writeable = False  # batches are views: a dataset must not write them
        full = len(stream) - len(stream) % self._batch_size
        for start in range(0, full, self._batch_size):
            yield stream[start : start + self._batch_size]
        leftover = stream[full:]
        if len(leftover) and self._last_batch == "keep":
            yield leftover
        elif len(leftover) and self._last_batch == "rollover":
            self._prev = list(leftover)

    def __len__(self) -> int:
        total = len(self._prev) + len(self._sampler)
        if self._last_batch == "keep":
            return -(-total // self._batch_size)
        return total // self._batch_size

    def __repr__(self) -> str:
        return (
            f"BatchSampler({self._sampler!r}, batch_size={self._batch_size}, "
            f"last_batch={self._last_batch!r})"
        )
