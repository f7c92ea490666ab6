"""The ring of shared-memory slots that workers write batches into.

Slots are made once and reused: a slot returns to the ring when every array
viewing it is garbage (a finalizer on the array that owns the view), and the
ring's owner is told at once, so a task waiting for a slot can start. The
ring grows while the consumer keeps batches, up to a byte budget; past it
:meth:`SlotRing.acquire` says no slot, and the batch travels pickled — slower,
never a deadlock. A slot is the size of what it holds: workers map slots with
every page in place, so room beyond the batch would be memory held for nothing.
Only once a batch outgrew the largest one before do new slots get headroom.
"""

from __future__ import annotations

import collections
import mmap
import threading
import weakref
from collections.abc import Callable

import numpy as np

from .shm import SharedBlock

__all__ = ["SlotRing"]

_GROWTH = 1.25
_SLACK = mmap.PAGESIZE  # room for the arena's alignment padding in a slot without headroom
# from this batch size on, a worker gets its next task only when it is free to run it
LARGE_BATCH_BYTES = 8 * 2**20


class SlotRing:
    """Shared-memory slots, their sizes and which are free.

    Parameters
    ----------
    budget : int
        Most bytes all slots together may take.
    on_return : callable, optional
        Called with no argument after a leased slot came back (where its last
        array became garbage).
    """

    def __init__(self, budget: int, on_return: Callable[[], None] | None = None) -> None:
        self.budget = int(budget)
        self._on_return = on_return
        self.batch_bytes = 0
        self.grew = False  # a batch was once larger than every batch before it
        self.blocks: dict[int, SharedBlock] = {}
        self._free: collections.deque[int] = collections.deque()
        self._dropped: list[int] = []
        self._next_id = 0
        self._lock = threading.Lock()
        self._closed = False

    @property
    def total_bytes(self) -> int:
        """Bytes held by all slots."""
        return sum(block.size for block in self.blocks.values())

    def note_needed(self, nbytes: int, batches: int) -> None:
        """Record that a task of ``batches`` batches needed ``nbytes`` of slot."""
        if batches:
            per_batch = -(-nbytes // batches)
            if per_batch > self.batch_bytes:
                # more than alignment padding (a first size measured off the heap, later ones
                # in a slot, differ by that): the batches vary
                self.grew = self.grew or 0 < self.batch_bytes < per_batch - _SLACK
                self.batch_bytes = per_batch

    def queue_depth(self) -> int:
        """How many tasks a worker may hold at once (each task holds its slot).

        Two (one running, one queued, so a worker never waits for the main
        process between tasks), or one for large batches: a queued task's
        slot would hold a batch's memory before its batch is started, and a
        large batch takes long beside the round trip to hand out the next.
        """
        return 1 if self.batch_bytes >= LARGE_BATCH_BYTES else 2

    def in_use(self) -> int:
        """How many slots are not free (written into, or holding batches)."""
        with self._lock:
            return len(self.blocks) - len(self._free)

    def has_free(self, batches: int) -> bool:
        """Whether a free slot can hold ``batches`` batches."""
        needed = self.batch_bytes * batches
        with self._lock:
            return any(self.blocks[slot_id].size >= needed for slot_id in self._free)

    def acquire(self, batches: int) -> int | None:
        """Return a free slot big enough for ``batches`` batches (made if the budget allows).

        A new slot is as large as the largest batch seen, plus a page for
        alignment padding, rounded up to pages;
        once batches have grown, it gets 25 % headroom, so batches of varying
        size keep fitting. Returns None when the size of a batch is not known
        yet, or when the budget is spent on slots that are in use.
        """
        if self.batch_bytes == 0 or self._closed:
            return None
        needed = self.batch_bytes * batches
        with self._lock:
            for slot_id in self._free:
                if self.blocks[slot_id].size >= needed:
                    self._free.remove(slot_id)
                    return slot_id
            wanted = int(needed * _GROWTH) if self.grew else needed + _SLACK
            size = -(-wanted // mmap.PAGESIZE) * mmap.PAGESIZE
            # free slots are all too small: they will not fit later batches either
            while self._free:
                self._drop(self._free.popleft())
            if self.total_bytes + size > self.budget:
                return None
            slot_id = self._next_id
            self._next_id += 1
        self.blocks[slot_id] = SharedBlock(size)
        return slot_id

    def release(self, slot_id: int) -> None:
        """Give a slot back (called when its batch's arrays are garbage)."""
        with self._lock:
            if not self._closed and slot_id in self.blocks:
                self._free.append(slot_id)

    def lease(self, slot_id: int) -> np.ndarray:
        """Return the slot's memory as a uint8 array; the slot is released when it is garbage."""
        owner = np.frombuffer(self.blocks[slot_id].mapping, dtype=np.uint8)
        # not at exit: the ring ends with the process, and no task should start then
        weakref.finalize(owner, self._returned, slot_id).atexit = False
        return owner

    def _returned(self, slot_id: int) -> None:
        self.release(slot_id)
        if self._on_return is not None:
            self._on_return()

    def take_dropped(self) -> list[int]:
        """Slots dropped since the last call (workers should unmap them)."""
        with self._lock:
            dropped, self._dropped = self._dropped, []
        return dropped

    def _drop(self, slot_id: int) -> None:
        block = self.blocks.pop(slot_id)
        block.close_descriptor()
        self._dropped.append(slot_id)

    def close(self) -> None:
        """Stop reusing slots; mappings live on while arrays still view them."""
        with self._lock:
            self._closed = True
            for block in self.blocks.values():
                block.close_descriptor()
            self.blocks.clear()
            self._free.clear()
