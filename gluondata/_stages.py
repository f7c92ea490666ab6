"""Named stages of one batch's work, timed in the thread that computes it.

The loader times a batch's ``getitem`` and ``batchify`` (and, in a worker
process, its ``handover``) into a fresh record: a list of nanoseconds per
stage, as :data:`STAGES`, then a pickled flag and the number of batches the
record stands for. Code deeper down that knows what it is doing (the image
decode, ``Compose``) claims its own time with :func:`timed`: that time is
counted under its own stage and not under the stage around it, so the stages
of a batch add up to its time. Each thread has one :class:`StageClock` that
points at the record of the batch it computes.

Timing costs about a microsecond per batch, so batches that take less than
``CHEAP_NS`` are timed one in ``SAMPLE_EVERY`` (each timed record then stands
for itself and the untimed batches before it).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from time import perf_counter_ns
from typing import Any, TypeVar

__all__ = [
    "CHEAP_NS",
    "PICKLED",
    "SAMPLE_EVERY",
    "STAGES",
    "WEIGHT",
    "StageClock",
    "new_record",
    "next_record",
    "restart_sampling",
    "thread_clock",
    "timed",
]

STAGES = ("getitem", "decode", "transform", "batchify", "handover")
"""``getitem``: the dataset's own work (reading, and any transform that is not a
``Compose``); ``decode``: image decode (on the fused path, with its crop and
resize); ``transform``: ``Compose`` pipelines; ``batchify``: ``batchify_fn``;
``handover``: putting the batch where the main process can take it."""
PICKLED = len(STAGES)  # in a record, after the stages: 1 if the batch travelled pickled
WEIGHT = PICKLED + 1  # and last, how many batches the record stands for
CHEAP_NS = 1_000_000
SAMPLE_EVERY = 16

_local = threading.local()
_Fn = TypeVar("_Fn", bound=Callable[..., Any])


class StageClock:
    """A thread's clock: the record being filled (None between timed batches), the time
    inner stages claimed, and how many batches go untimed before the next timed one."""

    __slots__ = ("claimed", "ns", "skip", "untimed")

    def __init__(self) -> None:
        self.ns: list[int] | None = None
        self.claimed = 0  # ns claimed by timed() stages inside the stage being measured
        self.skip = 0  # batches still to leave untimed
        self.untimed = 0  # batches left untimed since the last record

    def timed_batch(self, nanoseconds: int) -> None:
        """A timed batch took ``nanoseconds``: if that is cheap, leave the next ones untimed."""
        if nanoseconds < CHEAP_NS:
            self.skip = SAMPLE_EVERY - 1


def next_record() -> list[int] | None:
    """The empty record of the next batch this thread computes, or None: leave it untimed."""
    clock = getattr(_local, "clock", None) or thread_clock()
    if clock.skip:
        clock.skip -= 1
        clock.untimed += 1
        return None
    record = new_record(1 + clock.untimed)
    clock.untimed = 0
    return record


def new_record(weight: int) -> list[int]:
    """An empty record standing for ``weight`` batches (itself and the untimed ones before it)."""
    record = [0] * (WEIGHT + 1)
    record[WEIGHT] = weight
    return record


def thread_clock() -> StageClock:
    """This thread's clock (made on first use)."""
    clock = getattr(_local, "clock", None)
    if clock is None:
        clock = _local.clock = StageClock()
    return clock


def restart_sampling() -> None:
    """Time this thread's next batch: sampling starts afresh (an epoch in the loop's thread,
    a new worker), so no count carries over from another loader or from a forking parent."""
    clock = thread_clock()
    clock.skip = clock.untimed = 0


def timed(stage: str) -> Callable[[_Fn], _Fn]:
    """Count the time of calls of the decorated function under ``stage``."""
    position = STAGES.index(stage)

    def decorate(fn: _Fn) -> _Fn:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            clock = getattr(_local, "clock", None)
            if clock is None or clock.ns is None:  # not inside a timed batch
                return fn(*args, **kwargs)
            start = perf_counter_ns()
            outer_claimed, clock.claimed = clock.claimed, 0
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = perf_counter_ns() - start
                clock.ns[position] += elapsed - clock.claimed
                clock.claimed = outer_claimed + elapsed

        return run  # type: ignore[return-value]

    return decorate
