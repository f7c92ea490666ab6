"""Batches across the process boundary: arrays by reference into a slot, the rest pickled.

A worker pickles the batch with every numpy array replaced by a reference
``(offset, shape, dtype, strides)`` into its shared-memory slot (an array
not already in the slot is copied there once, if it fits). The main process
unpickles it with each reference rebuilt as a view of the slot, so array
data never passes through the pipe.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Callable
from typing import Any

import numpy as np

from ..alloc import ALIGNMENT, Arena

__all__ = ["decode", "encode", "measure"]


class _SlotPickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, arena: Arena | None) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.arena = arena
        self.array_bytes = 0

    def persistent_id(self, obj: Any) -> Any:
        if not isinstance(obj, np.ndarray) or obj.dtype.hasobject:
            return None
        self.array_bytes += -(-obj.nbytes // ALIGNMENT) * ALIGNMENT
        if self.arena is None:
            return None
        if not self.arena.contains(obj):
            copy = self.arena.try_empty(obj.shape, obj.dtype)
            if copy is None:
                self.arena.overflow += obj.nbytes + ALIGNMENT
                return None
            np.copyto(copy, obj)
            obj = copy
        return (self.arena.offset(obj), obj.shape, obj.dtype, obj.strides)


def encode(batch: Any, arena: Arena | None) -> tuple[bytes, int]:
    """Pickle ``batch`` with its arrays referenced in ``arena``'s slot.

    An array outside the slot is copied into it if it fits (else pickled,
    and counted in ``arena.overflow``).

    Returns
    -------
    payload : bytes
        The pickled structure.
    array_bytes : int
        Bytes the batch's arrays take (what a slot needs to hold them all).
    """
    buffer = io.BytesIO()
    pickler = _SlotPickler(buffer, arena)
    pickler.dump(batch)
    return buffer.getvalue(), pickler.array_bytes


class _ArrayCounter(pickle.Pickler):
    def __init__(self) -> None:
        super().__init__(io.BytesIO(), protocol=pickle.HIGHEST_PROTOCOL)
        self.array_bytes = 0

    def persistent_id(self, obj: Any) -> Any:
        if not isinstance(obj, np.ndarray) or obj.dtype.hasobject:
            return None
        self.array_bytes += -(-obj.nbytes // ALIGNMENT) * ALIGNMENT
        return self.array_bytes


def measure(batch: Any) -> int:
    """Bytes a slot needs to hold every array of ``batch`` (without copying any)."""
    counter = _ArrayCounter()
    counter.dump(batch)
    return counter.array_bytes


class _SlotUnpickler(pickle.Unpickler):
    def __init__(self, payload: bytes, lease: Callable[[], np.ndarray]) -> None:
        super().__init__(io.BytesIO(payload))
        self._lease = lease

    def persistent_load(self, pid: Any) -> np.ndarray:
        offset, shape, dtype, strides = pid
        return np.ndarray(shape, dtype, buffer=self._lease(), offset=offset, strides=strides)


def decode(payload: bytes, lease: Callable[[], np.ndarray]) -> Any:
    """Unpickle a batch; its arrays become views of ``lease()`` (the slot's memory)."""
    return _SlotUnpickler(payload, lease).load()
