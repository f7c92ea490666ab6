"""Where batch arrays are allocated: the heap, or a worker's shared-memory slot.

Batchify functions and batched fetches allocate their output with
:func:`empty`. In the caller and in threads that is ``np.empty``; in a worker
process computing into a shared-memory slot, :func:`arena` makes the same
calls carve the arrays out of the slot, so the batch is written once, in
place, and the main process reads it without a copy.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["Arena", "arena", "empty", "in_arena", "undone_on_error"]

ALIGNMENT = 64

_local = threading.local()


class Arena:
    """A bump allocator over one writable buffer.

    Parameters
    ----------
    buffer : writable buffer
        The memory to allocate from (a slot's mapping).
    """

    def __init__(self, buffer: Any) -> None:
        self.memory = np.frombuffer(buffer, dtype=np.uint8)
        self.used = 0
        self.overflow = 0

    def try_empty(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray | None:
        """Return an uninitialised array inside the buffer, or None if it does not fit."""
        dtype = np.dtype(dtype)
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        start = -(-self.used // ALIGNMENT) * ALIGNMENT
        if dtype.hasobject or start + nbytes > len(self.memory):
            return None
        self.used = start + nbytes
        return self.memory[start : start + nbytes].view(dtype).reshape(shape)

    def empty(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """Return an uninitialised array inside the buffer, or on the heap if it is full."""
        out = self.try_empty(shape, dtype)
        if out is None:
            out = np.empty(shape, dtype)
            self.overflow += out.nbytes + ALIGNMENT
        return out

    def contains(self, array: np.ndarray) -> bool:
        """Whether ``array``'s memory lies inside the buffer."""
        low, high = _byte_bounds(array)
        start = self.memory.ctypes.data
        return start <= low and high <= start + len(self.memory)

    def offset(self, array: np.ndarray) -> int:
        """Byte offset of ``array``'s first element from the start of the buffer."""
        return array.__array_interface__["data"][0] - self.memory.ctypes.data

    @property
    def needed(self) -> int:
        """Bytes this batch would have needed to fit entirely."""
        return self.used + self.overflow


def _byte_bounds(array: np.ndarray) -> tuple[int, int]:
    """First and one-past-last byte addresses ``array`` touches (any strides)."""
    low = high = array.__array_interface__["data"][0]
    if array.size == 0:
        return low, high
    for length, stride in zip(array.shape, array.strides, strict=True):
        if stride < 0:
            low += (length - 1) * stride
        else:
            high += (length - 1) * stride
    return low, high + array.itemsize


def empty(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """Return an uninitialised array for a batch (in the current arena, if any)."""
    current = getattr(_local, "arena", None)
    if current is None:
        return np.empty(shape, dtype)
    return current.empty(shape, dtype)


def in_arena() -> bool:
    """Whether this thread allocates its batch arrays in an arena (a worker's slot) now."""
    return getattr(_local, "arena", None) is not None


@contextlib.contextmanager
def undone_on_error() -> Iterator[None]:
    """If the body raises, give back what it allocated in this thread's arena (if any)."""
    current = getattr(_local, "arena", None)
    if current is None:
        yield
        return
    used, overflow = current.used, current.overflow
    try:
        yield
    except BaseException:
        current.used, current.overflow = used, overflow
        raise


@contextlib.contextmanager
def arena(current: Arena | None) -> Iterator[Arena | None]:
    """Allocate this thread's batch arrays from ``current`` inside the body."""
    previous = getattr(_local, "arena", None)
    _local.arena = current
    try:
        yield current
    finally:
        _local.arena = previous
