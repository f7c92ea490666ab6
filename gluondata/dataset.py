"""Datasets: map-style collections of samples, and their combinators.

A dataset has ``__len__`` and ``__getitem__(index)``. It may also offer a
batched fetch, ``__getitems__(indices)``, returning the samples of a whole
batch at once (a list of samples, or a :class:`SampleColumns`); the
DataLoader uses it when present.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from ._loader.alloc import empty, in_arena
from ._loader.cache import CacheStore
from ._loader.columns import SampleColumns, SampleSink
from ._loader.fetch import add_note
from ._loader.pool.shm import available_memory
from .random import indexed
from .recordio import MXIndexedRecordIO
from .sampler import FilterSampler, Sampler, SequentialSampler

__all__ = ["ArrayDataset", "CachedDataset", "Dataset", "RecordFileDataset", "SimpleDataset"]


class Dataset:
    """Abstract dataset: subclasses implement ``__getitem__`` and ``__len__``."""

    def __getitem__(self, idx: int) -> Any:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def __iter__(self) -> Iterator[Any]:
        for i in range(len(self)):
            yield self[i]

    def random_key(self, idx: int) -> int:
        """The index that keys sample ``idx``'s randomness (see :mod:`gluondata.random`).

        The sample's own index, except in datasets that pick samples of another
        (``shard``, ``take``, ``filter``, ``sample``): there, the index in the
        dataset they pick from, so that shards do not repeat each other's draws.
        """
        return idx

    def __repr__(self) -> str:
        try:
            size = f"len={len(self)}"
        except (NotImplementedError, TypeError):
            size = "len=?"
        return f"{type(self).__name__}({size})"

    def transform(self, fn: Callable[..., Any], lazy: bool = True) -> Dataset:
        """Return a dataset whose samples are ``fn(sample)``.

        A tuple sample is unpacked: ``fn(*sample)``.

        Parameters
        ----------
        fn : callable
            The transform.
        lazy : bool, default True
            Apply ``fn`` on every access (random transforms draw anew), or
            apply it once to every sample now and keep the results.
        """
        batched = hasattr(self, "__getitems__")
        transformed = (_BatchedTransformDataset if batched else _LazyTransformDataset)(self, fn)
        if lazy:
            return transformed
        return SimpleDataset([transformed[i] for i in range(len(transformed))])

    def transform_first(self, fn: Callable[[Any], Any], lazy: bool = True) -> Dataset:
        """Return a dataset that applies ``fn`` to the first field of each sample.

        For ``(data, label)`` samples this transforms the data and keeps the
        label; a sample that is not a tuple is transformed whole.
        """
        return self.transform(_TransformFirstClosure(fn), lazy)

    def filter(self, fn: Callable[[Any], Any]) -> Dataset:
        """Return the samples for which ``fn(sample)`` is true (scans the dataset now)."""
        return self.sample(FilterSampler(fn, self))

    def shard(self, num_shards: int, index: int) -> Dataset:
        """Return contiguous part ``index`` of ``num_shards`` parts.

        The first ``len(self) % num_shards`` shards get one sample more, so the
        shards cover the dataset exactly once.
        """
        if num_shards <= 0:
            raise ValueError(f"num_shards must be positive, got {num_shards}")
        if not 0 <= index < num_shards:
            raise ValueError(f"shard index must be in 0..{num_shards - 1}, got {index}")
        length, rest = divmod(len(self), num_shards)
        start = length * index + min(index, rest)
        return self.sample(SequentialSampler(length + (index < rest), start))

    def take(self, count: int | None) -> Dataset:
        """Return the first ``count`` samples (all of them if ``count`` is None or larger)."""
        if count is None or count >= len(self):
            return self
        if count < 0:
            raise ValueError(f"take() needs a count >= 0, got {count}")
        return self.sample(SequentialSampler(count))

    def cache(
        self,
        path: str | os.PathLike | None = None,
        max_bytes: int | None = None,
        fingerprint: str | None = None,
    ) -> Dataset:
        """Return this dataset with each sample computed once, then read from a cache.

        The first read of a sample computes it and stores it (pickled); every
        later read, in any worker process or thread, loads the stored copy.
        Put ``cache()`` after the expensive, deterministic steps (reading,
        decoding, resizing) and before random augmentation, which then still
        draws anew every epoch::

            ds.transform_first(decode_and_resize).cache().transform_first(random_crop)

        Parameters
        ----------
        path : str or path-like, optional
            Keep the cache in this file, memory-mapped, for later runs to
            reuse. A file made for another dataset (other length or
            fingerprint), or damaged (truncated, index past its end), is
            rebuilt with a warning, never served. Without a path the cache
            lives in nameless shared memory: one copy for the main process
            and all its workers, gone when they exit.
        max_bytes : int, optional
            Most bytes of samples to keep (pickled size). Once it is spent,
            samples not cached yet are computed on every read (with one
            warning), so memory never grows past it. Default: a quarter of
            the available memory in RAM, unlimited for a file (a full disk
            stops caching the same way).
        fingerprint : str, optional
            What identifies the dataset's content for a cache file. Default:
            the dataset's ``repr``, its length, and its first and last samples.
        """
        return CachedDataset(self, path, max_bytes, fingerprint)

    def sample(self, sampler: Sampler) -> Dataset:
        """Return the samples at the indices ``sampler`` yields (iterated once, now)."""
        if not isinstance(sampler, Sampler):
            raise TypeError(
                f"Invalid sampler type: {type(sampler).__name__}. "
                "Expected a gluondata.Sampler instance."
            )
        indices = np.fromiter(iter(sampler), dtype=np.int64)
        if hasattr(self, "__getitems__"):
            if hasattr(self, "_getitems_into"):
                return _StreamedSampledDataset(self, indices)
            return _BatchedSampledDataset(self, indices)
        return _SampledDataset(self, indices)


class SimpleDataset(Dataset):
    """Wrap any object with ``len()`` and ``[]`` (a list, a numpy array, ...).

    Parameters
    ----------
    data : sequence
        The samples.
    """

    def __init__(self, data: Sequence[Any]) -> None:
        self._data = data

    def __len__(self) -> int:
        return len(self._data)

    def __getitem__(self, idx: int) -> Any:
        return self._data[idx]

    def __getitems__(self, indices: Sequence[int]) -> Any:
        return _column_batch(_gather((self._data,), indices, len(self)))

    def __repr__(self) -> str:
        return f"SimpleDataset({_describe(self._data)})"


class ArrayDataset(Dataset):
    """Zip several equally long arrays into ``(a[i], b[i], ...)`` samples.

    With one array a sample is ``a[i]`` itself. Arrays may be numpy arrays
    (fetched a batch at a time with one fancy index each), lists or datasets.

    Parameters
    ----------
    *arrays : sequence
        The fields, all of the same length.
    """

    def __init__(self, *arrays: Sequence[Any]) -> None:
        if not arrays:
            raise ValueError("ArrayDataset needs at least one array")
        lengths = [len(a) for a in arrays]
        if len(set(lengths)) != 1:
            raise ValueError(f"ArrayDataset needs arrays of equal length, got lengths {lengths}")
        self._length = lengths[0]
        self._arrays = arrays

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, idx: int) -> Any:
        if len(self._arrays) == 1:
            return self._arrays[0][idx]
        return tuple(a[idx] for a in self._arrays)

    def __getitems__(self, indices: Sequence[int]) -> Any:
        return _column_batch(_gather(self._arrays, indices, self._length))

    def __repr__(self) -> str:
        fields = ", ".join(_describe(a) for a in self._arrays)
        return f"ArrayDataset({fields})"


class _LazyTransformDataset(Dataset):
    """Apply ``fn`` to each sample on access."""

    def __init__(self, data: Dataset, fn: Callable[..., Any]) -> None:
        self._data = data
        self._fn = fn

    def __len__(self) -> int:
        return len(self._data)

    def __getitem__(self, idx: int) -> Any:
        return self._apply(self._data[idx])

    def _apply(self, item: Any) -> Any:
        if isinstance(item, tuple):
            return self._fn(*item)
        return self._fn(item)

    def random_key(self, idx: int) -> int:
        return _random_key(self._data, idx)

    def __repr__(self) -> str:
        return f"{self._data!r}.transform({_name(self._fn)})"


class _BatchedTransformDataset(_LazyTransformDataset):
    """A transformed dataset over one with a batched fetch, which it keeps.

    The source's samples are fetched together; ``fn`` then runs on each, under
    the sample's own random key, and an error names the sample's index.
    """

    def __getitems__(self, indices: Sequence[int]) -> list[Any]:
        return self._getitems_into(indices, [])

    def _getitems_into(self, indices: Sequence[int], samples: SampleSink) -> SampleSink:
        for idx, item in zip(indices, self._data.__getitems__(indices), strict=True):
            try:
                with indexed(self.random_key(int(idx))):
                    samples.append(self._apply(item))
            except Exception as exc:
                add_note(exc, f"gluondata: raised by a transform on dataset index {idx}")
                raise
        return samples


class _TransformFirstClosure:
    """Picklable ``fn`` applied to the first field of a sample."""

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self._fn = fn

    def __call__(self, x: Any, *rest: Any) -> Any:
        if rest:
            return (self._fn(x), *rest)
        return self._fn(x)

    def __repr__(self) -> str:
        return f"first({_name(self._fn)})"


class _SampledDataset(Dataset):
    """The samples of ``data`` at fixed ``indices`` (held in a numpy array)."""

    def __init__(self, data: Dataset, indices: np.ndarray) -> None:
        self._data = data
        self._indices = indices

    def __len__(self) -> int:
        return len(self._indices)

    def __getitem__(self, idx: int) -> Any:
        return self._data[int(self._indices[idx])]

    def random_key(self, idx: int) -> int:
        return _random_key(self._data, int(self._indices[idx]))

    def __repr__(self) -> str:
        return f"{self._data!r}.sample(len={len(self)})"


class _BatchedSampledDataset(_SampledDataset):
    """A sampled dataset over one that has a batched fetch, which it keeps."""

    def __getitems__(self, indices: Sequence[int]) -> Any:
        return self._data.__getitems__(self._source_indices(indices))

    def _source_indices(self, indices: Sequence[int]) -> list[int]:
        return self._indices[np.asarray(indices, dtype=np.intp)].tolist()


class _StreamedSampledDataset(_BatchedSampledDataset):
    """A sampled dataset over one that hands its samples over one by one, which it keeps."""

    def _getitems_into(self, indices: Sequence[int], samples: SampleSink) -> SampleSink:
        return self._data._getitems_into(self._source_indices(indices), samples)


class CachedDataset(Dataset):
    """A dataset computed once, then read from a cache (see :meth:`Dataset.cache`)."""

    def __init__(
        self,
        data: Dataset,
        path: str | os.PathLike | None = None,
        max_bytes: int | None = None,
        fingerprint: str | None = None,
    ) -> None:
        self._data = data
        if max_bytes is None:
            memory = available_memory() or 2**30
            max_bytes = memory // 4 if path is None else 2**62
        if max_bytes < 0:
            raise ValueError(f"cache() needs max_bytes >= 0, given {max_bytes}")
        self.path = None if path is None else os.fspath(path)
        last = len(data) - 1
        ends = {} if fingerprint is not None or last < 0 else {0: data[0], last: data[last]}
        key = fingerprint.encode() if fingerprint is not None else self._describe_content(ends)
        digest = hashlib.blake2b(key, digest_size=16).digest()
        self._store = CacheStore(len(data), digest, max_bytes, self.path)
        for idx, sample in ends.items():  # computed already: keep them
            if not self._store.get(idx)[0]:
                self._store.put(idx, sample)

    def _describe_content(self, ends: dict[int, Any]) -> bytes:
        parts = [repr(self._data).encode(), str(len(self._data)).encode()]
        for sample in ends.values():
            parts.append(pickle.dumps(sample, protocol=pickle.HIGHEST_PROTOCOL))
        return b"\0".join(parts)

    def __len__(self) -> int:
        return len(self._data)

    def __getitem__(self, idx: int) -> Any:
        idx = int(idx)
        if not -len(self) <= idx < len(self):
            raise IndexError(f"index {idx} is out of range for a dataset of length {len(self)}")
        idx %= len(self)
        found, sample = self._store.get(idx)
        if found:
            return sample
        sample = self._data[idx]
        self._store.put(idx, sample)
        return sample

    @property
    def cached_bytes(self) -> int:
        """Bytes of samples stored in the cache so far."""
        return self._store.used

    def random_key(self, idx: int) -> int:
        return _random_key(self._data, idx)

    def __repr__(self) -> str:
        where = "" if self.path is None else f"{self.path!r}"
        return f"{self._data!r}.cache({where})"


def _gather(arrays: Sequence[Sequence[Any]], indices: Sequence[int], length: int) -> list[Any]:
    """``[array[i] for i in indices]`` for each of ``arrays``, all of ``length`` items.

    In the caller and in threads, numpy arrays are gathered by numpy alone,
    which checks the indices as it goes (the cheapest way for small batches);
    in a worker's shared-memory slot, the indices are checked first and the
    rows written straight into the slot. An index out of range raises an
    IndexError naming it.
    """
    if not in_arena() and all(type(a) is np.ndarray for a in arrays):
        positions = np.asarray(indices, dtype=np.intp)
        try:
            return [a.take(positions, axis=0) for a in arrays]
        except IndexError:
            pass  # _positions names the index
    positions = _positions(indices, length)
    return [_take(a, positions) for a in arrays]


def _take(array: Sequence[Any], positions: np.ndarray) -> Any:
    """Fetch ``array[i]`` for every ``i``: one fancy index for numpy, else item by item.

    A dataset's items are computed each under its own index's random key.
    """
    if isinstance(array, np.ndarray):
        return _take_rows(array, positions)
    indices = positions.tolist()
    getitems = getattr(array, "__getitems__", None)
    if getitems is not None:
        return list(getitems(indices))
    if not isinstance(array, Dataset):
        return [array[i] for i in indices]
    items = []
    for i in indices:
        with indexed(i):
            items.append(array[i])
    return items


def _column_batch(columns: list[Any]) -> Any:
    """The samples of a batch from their columns: columnar, unless it is one list.

    A single column that is not a numpy array is returned as the plain list of
    samples, so that batchify functions see its tuples as tuples.
    """
    if len(columns) == 1 and not isinstance(columns[0], np.ndarray):
        return columns[0]
    return SampleColumns(columns, as_tuple=len(columns) > 1)


def _positions(indices: Sequence[int], length: int) -> np.ndarray:
    """``indices`` as an intp array, each checked to be a valid index for ``length`` items."""
    positions = np.asarray(indices, dtype=np.intp)
    if len(positions):
        low, high = int(positions.min()), int(positions.max())
        if low < -length or high >= length:
            bad = low if low < -length else high
            raise IndexError(f"index {bad} is out of range for a dataset of length {length}")
    return positions


def _take_rows(array: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """``array[positions]`` (checked positions) written straight into a batch buffer."""
    out = empty((len(positions), *array.shape[1:]), array.dtype)
    return np.take(array, positions, axis=0, out=out, mode="wrap")


def _random_key(dataset: Any, idx: int) -> int:
    key = getattr(dataset, "random_key", None)
    return idx if key is None else key(idx)


def _describe(array: Any) -> str:
    if isinstance(array, np.ndarray):
        return f"ndarray {array.dtype} {array.shape}"
    if isinstance(array, Dataset):
        return repr(array)
    return f"{type(array).__name__}[{len(array)}]"


def _name(fn: Any) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)


class RecordFileDataset(Dataset):
    """The raw records of a RecordIO file, by position in its .idx (Gluon's ``RecordFileDataset``).

    Sample ``i`` is the record of the key on line ``i + 1`` of the .idx (a key
    repeated in the .idx gives the record of its last line each time, as in
    MXNet). A batch whose records lie next to each other in the file is read
    with one request. Safe to use from forked or spawned workers and threads.

    Parameters
    ----------
    filename : str or path-like
        The .rec file (a path, or an fsspec URI); its index is the file of the
        same name with the extension ``.idx``.
    """

    def __init__(self, filename: str | os.PathLike) -> None:
        self.filename = os.fspath(filename)
        self.idx_file = os.path.splitext(self.filename)[0] + ".idx"
        self._record = MXIndexedRecordIO(self.idx_file, self.filename, "r")
        self._keys = self._record.key_array()

    def __len__(self) -> int:
        return len(self._keys)

    def __getitem__(self, idx: int) -> bytes:
        return self._record.read_idx(self._keys[idx])

    def __getitems__(self, indices: Sequence[int]) -> list[bytes]:
        return self._record.read_idx_many(self._keys[np.asarray(indices, dtype=np.intp)])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.filename!r}, len={len(self)})"
