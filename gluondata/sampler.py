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
    "ReplaySampler",
    "Sampler",
    "SequentialSampler",
    "load_sampler_state",
    "sampler_state",
]

LAST_BATCH_MODES = ("keep", "discard", "rollover")


class Sampler:
    """Base class: yields indices (or lists of indices) into a dataset."""

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError


def sampler_state(sampler: Any) -> dict[str, Any]:
    """Return ``sampler.state_dict()``, or ``{}`` for a plain sequence of indices.

    Raises
    ------
    TypeError
        The sampler has no ``state_dict``: the message names it and says what to add.
    """
    if isinstance(sampler, (list, tuple, range, np.ndarray)):
        return {}
    state_dict = getattr(sampler, "state_dict", None)
    if state_dict is None:
        name = type(sampler).__qualname__
        raise TypeError(
            f"cannot checkpoint the position of {name}: it has no state_dict(). Add "
            f"{name}.state_dict() -> dict (JSON-serializable: what makes its next epoch's "
            f"order, e.g. seed and epoch) and {name}.load_state_dict(state), or wrap it as "
            "gluondata.sampler.ReplaySampler(sampler) to resume by replaying its epoch (O(n))"
        )
    return state_dict()


def load_sampler_state(sampler: Any, state: dict[str, Any]) -> None:
    """Give ``state`` to ``sampler.load_state_dict`` (a plain sequence needs nothing)."""
    if isinstance(sampler, (list, tuple, range, np.ndarray)):
        return
    load_state_dict = getattr(sampler, "load_state_dict", None)
    if load_state_dict is None:
        sampler_state(sampler)  # raises the error naming what to add
    load_state_dict(state)


def _check_state_field(what: str, field: str, saved: Any, current: Any) -> None:
    """Refuse a state whose ``field`` differs from this object's, naming the field."""
    if saved != current:
        raise ValueError(
            f"cannot load this {what} state: its {field!r} is {saved!r} but this {what} "
            f"has {current!r} (a state resumes the same data, order and batches only)"
        )


class _Stateless:
    """State methods of a sampler whose order never changes between epochs."""

    def state_dict(self) -> dict[str, Any]:
        """Return ``{}``: the order is the same every epoch."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Nothing to restore."""


class SequentialSampler(_Stateless, Sampler):
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

    def state_dict(self) -> dict[str, Any]:
        """Return ``{"seed", "epoch"}``: the next ``iter()`` yields the order of that epoch."""
        return {"seed": self.seed, "epoch": self._epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Make the next ``iter()`` the epoch of ``state`` (its seed must be this sampler's)."""
        _check_state_field("RandomSampler", "seed", state["seed"], self.seed)
        self._epoch = int(state["epoch"])

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


class FilterSampler(_Stateless, Sampler):
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


class IntervalSampler(_Stateless, Sampler):
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
        return iter(self.epoch_indices().tolist())

    def epoch_indices(self) -> np.ndarray:
        """Return the indices of an epoch as an int64 array."""
        rows = -(-self._length // self._interval)
        grid = np.arange(rows * self._interval, dtype=np.int64).reshape(rows, self._interval)
        indices = grid.T.ravel()
        indices = indices[indices < self._length]
        return indices if self._rollover else indices[:rows]

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

    def state_dict(self) -> dict[str, Any]:
        """Return the state the next epoch starts from: the sampler's and the rollover carry.

        The carry (``last_batch='rollover'``) is fewer than ``batch_size`` indices.
        """
        return {
            "sampler": sampler_state(self._sampler),
            "carry": [int(index) for index in self._prev],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Make the next epoch start from ``state`` (from :meth:`state_dict`)."""
        carry = [int(index) for index in state["carry"]]
        if len(carry) >= self._batch_size or (carry and self._last_batch != "rollover"):
            raise ValueError(
                f"cannot load this BatchSampler state: its 'carry' holds {len(carry)} indices, "
                f"impossible with batch_size={self._batch_size}, last_batch={self._last_batch!r}"
            )
        load_sampler_state(self._sampler, state["sampler"])
        self._prev = carry

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.index_batches():
            yield batch.tolist() if isinstance(batch, np.ndarray) else batch

    def index_batches(self, start: int = 0) -> Iterator[Sequence[Any]]:
        """Yield this epoch's batches without converting them, from batch ``start`` on.

        For samplers with ``epoch_indices()`` (the built-in ones) each batch
        is a slice of an int64 array, which spares a Python int per index;
        for other samplers it is a list. The batches before ``start`` are
        skipped by arithmetic (their indices are not even sliced).
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
        for offset in range(start * self._batch_size, full, self._batch_size):
            yield stream[offset : offset + self._batch_size]
        leftover = stream[full:]
        if len(leftover) and self._last_batch == "keep" and start * self._batch_size <= full:
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


class ReplaySampler(Sampler):
    """Make a sampler without ``state_dict`` resumable, by replaying its epoch: O(n).

    The state records only the epoch. On resume the wrapped sampler is
    iterated again from the epoch's start (after ``set_epoch(epoch)``, when it
    has one) and the indices before the position are dropped: no sample is
    read for them, but every index is generated again, so resuming costs time
    in proportion to the position. Use it only for a sampler whose order is
    the same whenever an epoch is replayed (a pure function of its epoch);
    give your own sampler ``state_dict``/``load_state_dict`` to resume in O(1).

    Parameters
    ----------
    sampler : Sampler or iterable of int
        The sampler to replay.
    """

    def __init__(self, sampler: Any) -> None:
        self._sampler = sampler
        self._epoch = 0

    @property
    def sampler(self) -> Any:
        """The wrapped sampler."""
        return self._sampler

    def set_epoch(self, epoch: int) -> None:
        """Make the next ``iter()`` epoch ``epoch`` (passed on to the sampler, if it has epochs)."""
        self._epoch = int(epoch)
        set_epoch = getattr(self._sampler, "set_epoch", None)
        if set_epoch is not None:
            set_epoch(epoch)

    def state_dict(self) -> dict[str, Any]:
        """Return ``{"epoch"}``, the epoch the next ``iter()`` replays."""
        return {"epoch": self._epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Make the next ``iter()`` replay epoch ``state["epoch"]``."""
        self.set_epoch(state["epoch"])

    def __iter__(self) -> Iterator[Any]:
        self.set_epoch(self._epoch)
        self._epoch += 1
        return iter(self._sampler)

    def __len__(self) -> int:
        return len(self._sampler)

    def __repr__(self) -> str:
        return f"ReplaySampler({self._sampler!r})"
