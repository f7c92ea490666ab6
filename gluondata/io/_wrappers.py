"""Iterators over other iterators: ResizeIter, PrefetchingIter, DataLoaderIter."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ._base import BatchIter, DataBatch, DataDesc, DataIter
from ._state import check_iter_state, iter_state

__all__ = ["DataLoaderIter", "PrefetchingIter", "ResizeIter"]


class ResizeIter(BatchIter):
    """Give exactly ``size`` batches per epoch from another iterator (``mx.io.ResizeIter``).

    When the inner iterator runs out, it is reset and iteration continues, so
    an epoch may wrap around the data or stop before its end.

    Parameters
    ----------
    data_iter : DataIter
        The iterator to resize.
    size : int
        Batches per epoch.
    reset_internal : bool, default True
        Whether ``reset()`` also resets the inner iterator (False: the next
        epoch continues where this one stopped).
    """

    def __init__(self, data_iter: DataIter, size: int, reset_internal: bool = True) -> None:
        super().__init__(data_iter.batch_size)
        self.data_iter = data_iter
        self.size = int(size)
        self.reset_internal = reset_internal
        self.cur = 0
        self.provide_data = data_iter.provide_data
        self.provide_label = data_iter.provide_label
        if hasattr(data_iter, "default_bucket_key"):
            self.default_bucket_key = data_iter.default_bucket_key

    def reset(self) -> None:
        """Start a new epoch of ``size`` batches."""
        self.cur = 0
        if self.reset_internal:
            self.data_iter.reset()

    def _next_batch(self) -> DataBatch | None:
        if self.cur == self.size:
            return None
        try:
            batch = self.data_iter.next()
        except StopIteration:
            self.data_iter.reset()
            batch = self.data_iter.next()
        self.cur += 1
        return batch

    def state_dict(self) -> dict[str, Any]:
        """Return the position after the last batch returned: this epoch's count and the inner's.

        The inner iterator needs ``state_dict`` too.
        """
        inner = _inner_state(self.data_iter, "ResizeIter")
        return iter_state("ResizeIter", {"size": self.size}, {"cur": self.cur, "inner": inner})

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from ``state`` (from :meth:`state_dict`)."""
        check_iter_state("ResizeIter", state, {"size": self.size}, ("cur", "inner"))
        self.data_iter.load_state_dict(state["inner"])
        self.cur = int(state["cur"])


def _inner_state(data_iter: Any, wrapper: str) -> dict[str, Any]:
    state_dict = getattr(data_iter, "state_dict", None)
    if state_dict is None:
        name = type(data_iter).__qualname__
        raise TypeError(
            f"cannot checkpoint {wrapper}: its inner iterator {name} has no state_dict(); "
            f"add {name}.state_dict() -> dict and {name}.load_state_dict(state)"
        )
    return state_dict()


_JOIN_SECONDS = 10.0


class _Prefetcher:
    """A thread that keeps the next batch of one iterator ready."""

    def __init__(self, data_iter: DataIter, name: str) -> None:
        self.data_iter = data_iter
        self.state: dict[str, Any] | Exception = self.capture()  # after the batch taken last
        self.batch_state: dict[str, Any] | Exception = self.state  # after the batch prefetched
        self.ready = threading.Event()
        self.taken = threading.Event()
        self.taken.set()
        self.running = True
        self.batch: DataBatch | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while self.running:  # checked after clearing ``taken``: stop() cannot be missed
            self.taken.wait()
            if not self.running:
                return
            try:
                self.batch, self.error = self.data_iter.next(), None
            except StopIteration:
                self.batch, self.error = None, None
            except BaseException as exc:  # handed to the consumer, raised there
                self.batch, self.error = None, exc
            self.batch_state = self.capture()
            self.taken.clear()
            self.ready.set()

    def capture(self) -> dict[str, Any] | Exception:
        """The inner iterator's state now (or why it has none, raised if asked for)."""
        try:
            return _inner_state(self.data_iter, "PrefetchingIter")
        except Exception as exc:  # no state_dict, an unseeded shuffle: raised if asked for
            return exc

    def take(self) -> DataBatch | None:
        """Wait for the prefetched batch (None at the end of the epoch)."""
        self.ready.wait()
        self.state = self.batch_state
        if self.error is not None:
            error, self.error = self.error, None
            raise error  # the batch stays None: the epoch ends here
        return self.batch

    def request(self) -> None:
        """Let the thread fetch the next batch."""
        self.ready.clear()
        self.taken.set()

    def stop(self) -> None:
        """End the thread once it has finished the batch it may be reading."""
        self.running = False
        self.taken.set()
        if self.thread is not threading.current_thread():
            self.thread.join(timeout=_JOIN_SECONDS)


def _stop_all(prefetchers: list[_Prefetcher]) -> None:
    for prefetcher in prefetchers:
        prefetcher.stop()


class PrefetchingIter(BatchIter):
    """Read other iterators ahead in background threads (``mx.io.PrefetchingIter``).

    One thread per inner iterator keeps its next batch ready. The batches of
    all inner iterators are combined: their data lists and label lists are
    concatenated; they must agree on ``pad``.

    Parameters
    ----------
    iters : DataIter or list of DataIter
        The iterators to read ahead.
    rename_data : list of dict, optional
        For the *i*-th iterator, ``{old_name: new_name}`` for its data.
    rename_label : list of dict, optional
        The same for its labels.
    """

    def __init__(
        self,
        iters: DataIter | list[DataIter],
        rename_data: Sequence[Mapping[str, str]] | None = None,
        rename_label: Sequence[Mapping[str, str]] | None = None,
    ) -> None:
        if not isinstance(iters, list):
            iters = [iters]
        if not iters:
            raise ValueError("PrefetchingIter needs at least one iterator")
        self.iters = iters
        self.n_iter = len(iters)
        self.rename_data = rename_data
        self.rename_label = rename_label
        descs = self.provide_data
        super().__init__(descs[0][1][0] if descs else iters[0].batch_size)
        self._prefetchers = [
            _Prefetcher(it, f"gluondata-prefetch-{i}") for i, it in enumerate(iters)
        ]
        self._finalizer = weakref.finalize(self, _stop_all, self._prefetchers)

    @staticmethod
    def _rename(descs: list[Any], renames: Sequence[Mapping[str, str]] | None, i: int) -> list[Any]:
        if renames is None:
            return list(descs)
        mapping = renames[i]
        out = []
        for desc in descs:
            name, shape = desc[0], desc[1]
            dtype = getattr(desc, "dtype", np.float32)
            out.append(DataDesc(mapping.get(name, name), shape, dtype))
        return out

    @property
    def provide_data(self) -> list[Any]:
        """The inner iterators' data descriptions, concatenated (and renamed)."""
        return [
            desc
            for i, it in enumerate(self.iters)
            for desc in self._rename(it.provide_data, self.rename_data, i)
        ]

    @property
    def provide_label(self) -> list[Any]:
        """The inner iterators' label descriptions, concatenated (and renamed)."""
        return [
            desc
            for i, it in enumerate(self.iters)
            for desc in self._rename(it.provide_label, self.rename_label, i)
        ]

    def reset(self) -> None:
        """Reset every inner iterator (after its thread finished the batch it was reading)."""
        for prefetcher in self._prefetchers:
            prefetcher.ready.wait()
        for it in self.iters:
            it.reset()
        for prefetcher in self._prefetchers:
            prefetcher.state = prefetcher.capture()
            prefetcher.request()

    def state_dict(self) -> dict[str, Any]:
        """Return the position after the last batch returned, not after the prefetched ones.

        It holds each inner iterator's state as it was right after making
        that batch (they need ``state_dict``).
        """
        states = []
        for prefetcher in self._prefetchers:
            if isinstance(prefetcher.state, Exception):
                raise prefetcher.state
            states.append(prefetcher.state)
        return iter_state("PrefetchingIter", {"n_iter": self.n_iter}, {"iters": states})

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from ``state`` (from :meth:`state_dict`); the prefetched batches are dropped."""
        check_iter_state("PrefetchingIter", state, {"n_iter": self.n_iter}, ("iters",))
        for prefetcher in self._prefetchers:
            prefetcher.ready.wait()
        for it, inner in zip(self.iters, state["iters"], strict=True):
            it.load_state_dict(inner)
        for prefetcher in self._prefetchers:
            prefetcher.state = prefetcher.capture()
            prefetcher.request()

    def _next_batch(self) -> DataBatch | None:
        batches = [prefetcher.take() for prefetcher in self._prefetchers]
        if batches[0] is None:
            if any(batch is not None for batch in batches):
                raise ValueError("PrefetchingIter: the inner iterators have different lengths")
            return None
        if any(batch is None or batch.pad != batches[0].pad for batch in batches):
            raise ValueError(
                "PrefetchingIter: the inner iterators' batches do not line up "
                f"(pads {[None if b is None else b.pad for b in batches]})"
            )
        combined = DataBatch(
            [array for batch in batches for array in batch.data],
            [array for batch in batches for array in batch.label or []],
            batches[0].pad,
            batches[0].index,
            provide_data=self.provide_data,
            provide_label=self.provide_label,
        )
        for prefetcher in self._prefetchers:
            prefetcher.request()
        return combined

    def close(self) -> None:
        """Stop the background threads (also done when the iterator is garbage)."""
        self._finalizer()


class DataLoaderIter(BatchIter):
    """Any :class:`~gluondata.DataLoader` as a :class:`DataIter`.

    Each loader batch becomes a :class:`DataBatch`: a single array is the
    data; a tuple or list gives its first field(s) as data and the rest as
    labels; a dict is split by name. A short last batch (``last_batch='keep'``)
    is completed by repeating its own examples, with ``pad`` saying how many.

    Parameters
    ----------
    loader : DataLoader
        The loader (any iterable of batches with a fixed batch size works).
    data_name : str or sequence of str, default "data"
        Name(s) of the data field(s); several names take that many fields.
    label_name : str or sequence of str, default "softmax_label"
        Name(s) of the label field(s). With one name and several label fields,
        they are called ``_0_<name>``, ``_1_<name>``, ...
    """

    def __init__(
        self,
        loader: Any,
        data_name: str | Sequence[str] = "data",
        label_name: str | Sequence[str] = "softmax_label",
    ) -> None:
        batch_size = getattr(getattr(loader, "batch_sampler", None), "batch_size", None)
        super().__init__(0 if batch_size is None else int(batch_size))
        self.loader = loader
        self._data_names = [data_name] if isinstance(data_name, str) else list(data_name)
        self._label_name = label_name
        self._epoch: Iterator[Any] | None = None
        self._consumed = 0
        self._peeked: tuple[list[np.ndarray], list[np.ndarray]] | None = None
        self._descs: tuple[list[DataDesc], list[DataDesc]] | None = None

    def _split(self, batch: Any) -> tuple[list[np.ndarray], list[np.ndarray]]:
        if isinstance(batch, Mapping):
            data = [batch[name] for name in self._data_names]
            label = [value for name, value in batch.items() if name not in self._data_names]
        elif isinstance(batch, (list, tuple)):
            data = list(batch[: len(self._data_names)])
            label = list(batch[len(self._data_names) :])
        else:
            data, label = [batch], []
        if len(data) != len(self._data_names):
            raise ValueError(
                f"DataLoaderIter: a batch has {len(data)} field(s) for the data names "
                f"{self._data_names}"
            )
        return [np.asarray(d) for d in data], [np.asarray(lab) for lab in label]

    def _label_names(self, count: int) -> list[str]:
        if isinstance(self._label_name, str):
            if count == 1:
                return [self._label_name]
            return [f"_{i}_{self._label_name}" for i in range(count)]
        names = list(self._label_name)
        if len(names) != count:
            raise ValueError(
                f"DataLoaderIter: {len(names)} label names {names} for {count} label field(s)"
            )
        return names

    def _fetch(self) -> tuple[list[np.ndarray], list[np.ndarray]] | None:
        if self._peeked is not None:
            arrays, self._peeked = self._peeked, None
            return arrays
        if self._epoch is None:
            self._epoch = iter(self.loader)
        try:
            batch = next(self._epoch)
        except StopIteration:
            return None
        arrays = self._split(batch)
        if self._descs is None:
            if not self.batch_size:
                self.batch_size = len(arrays[0][0])
            data_descs = [
                DataDesc(name, (self.batch_size, *a.shape[1:]), a.dtype.type)
                for name, a in zip(self._data_names, arrays[0], strict=True)
            ]
            label_descs = [
                DataDesc(name, (self.batch_size, *a.shape[1:]), a.dtype.type)
                for name, a in zip(self._label_names(len(arrays[1])), arrays[1], strict=True)
            ]
            self._descs = (data_descs, label_descs)
        return arrays

    def _describe(self) -> tuple[list[DataDesc], list[DataDesc]]:
        if self._descs is None:
            arrays = self._fetch()
            if arrays is None:
                raise ValueError("DataLoaderIter: the loader gives no batch to describe")
            self._peeked = arrays
        return self._descs

    @property
    def provide_data(self) -> list[DataDesc]:
        """Descriptions of the data arrays (read from the first batch)."""
        return self._describe()[0]

    @property
    def provide_label(self) -> list[DataDesc]:
        """Descriptions of the label arrays (read from the first batch)."""
        return self._describe()[1]

    def reset(self) -> None:
        """Start a new epoch of the loader (a no-op before the epoch's first batch)."""
        if self._consumed:
            self._peeked = None
            self._epoch = None
            self._consumed = 0

    def _next_batch(self) -> DataBatch | None:
        self._consumed += 1
        arrays = self._fetch()
        if arrays is None:
            return None
        data, label = arrays
        pad = self.batch_size - len(data[0])
        if pad > 0:
            rows = np.arange(self.batch_size) % len(data[0])
            data = [np.take(a, rows, axis=0) for a in data]
            label = [np.take(a, rows, axis=0) for a in label]
        descs = self._descs
        return DataBatch(data, label, max(pad, 0), provide_data=descs[0], provide_label=descs[1])
