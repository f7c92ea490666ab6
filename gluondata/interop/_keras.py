"""to_keras: a DataLoader as a ``keras.utils.PyDataset``."""

from __future__ import annotations

import collections
import threading
from collections.abc import Iterator
from typing import Any

from ._structure import map_arrays, require

__all__ = ["to_keras"]


def to_keras(loader: Any) -> Any:
    """Return a ``keras.utils.PyDataset`` that serves ``loader``'s batches to Keras.

    ``model.fit``, ``evaluate`` and ``predict`` accept it on every Keras 3
    backend. The loader's own workers compute the batches (Keras' workers are
    off); each Keras epoch is one pass over the loader, so a shuffling loader
    draws a new order every epoch (``loader.set_epoch(n)`` first to resume at
    epoch ``n``). A batch is passed on as the loader makes it: ``(x, y)``,
    ``(x, y, sample_weight)``, a single ``x``, or a dict of named inputs (a
    list becomes a tuple, a ``SampleColumns`` the tuple of its columns).

    Batches are served in the loader's order, whatever index Keras asks for
    (``fit(shuffle=True)`` only permutes batch numbers; the loader shuffles
    samples). Outside an epoch, index ``i`` is batch ``i`` of the next epoch,
    read ahead and kept for it (the TensorFlow backend reads two batches to
    learn the input signature), so every epoch still sees each batch once.

    Parameters
    ----------
    loader : DataLoader
        Any iterable with ``len()`` whose passes yield batches.

    Returns
    -------
    keras.utils.PyDataset
    """
    keras = require("keras", "keras")
    return _loader_py_dataset_class(keras.utils.PyDataset)(loader)


_CLASSES: dict[type, type] = {}


def _loader_py_dataset_class(base: type) -> type:
    """The PyDataset subclass for this Keras (made once, as keras is imported lazily)."""
    if base not in _CLASSES:
        _CLASSES[base] = type("LoaderPyDataset", (_LoaderStream, base), {})
    return _CLASSES[base]


class _LoaderStream:
    """Batches of successive passes over a loader, handed out in order."""

    def __init__(self, loader: Any) -> None:
        super().__init__(workers=1, use_multiprocessing=False)  # keras' workers off
        self.loader = loader
        self._pass: Iterator[Any] | None = None
        self._left_in_pass = 0
        self._peeked: collections.deque[Any] = collections.deque()
        self._in_epoch = False
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.loader)

    def __getitem__(self, index: int) -> Any:
        with self._lock:
            if self._in_epoch:
                batch = self._peeked.popleft() if self._peeked else self._next_batch()
            else:  # a look ahead: batch ``index`` of the next epoch, kept for it
                while len(self._peeked) <= index:
                    self._peeked.append(self._next_batch())
                batch = self._peeked[index]
        return _for_keras(batch)

    def _next_batch(self) -> Any:
        if self._left_in_pass == 0:
            self._pass = iter(self.loader)
            self._left_in_pass = len(self.loader)
        self._left_in_pass -= 1
        try:
            return next(self._pass)
        except StopIteration:
            self._left_in_pass = 0
            raise IndexError("the loader yielded fewer batches than its len()") from None

    def on_epoch_begin(self) -> None:
        self._in_epoch = True

    def on_epoch_end(self) -> None:
        self._in_epoch = False

    def __repr__(self) -> str:
        return f"to_keras({self.loader!r})"


def _for_keras(batch: Any) -> Any:
    """The batch in a form Keras takes: a list at the top becomes a tuple."""
    batch = map_arrays(lambda array: array, batch)
    return tuple(batch) if isinstance(batch, list) else batch
