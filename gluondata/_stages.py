"""Named stages of one batch's work, timed in the thread that computes it.

The loader times each batch's ``getitem`` and ``batchify`` (and, in a worker
process, its ``handover``) into a fresh record: a list of nanoseconds per
stage, as :data:`STAGES`, then a pickled flag. Code deeper down that knows
what it is doing (the image decode, ``Compose``) claims its own time with
:func:`timed`: that time is counted under its own stage and not under the
stage around it, so the stages of a batch add up to its time. Each thread has
one :class:`StageClock` that points at the record of the batch it computes.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from time import perf_counter_ns
from typing import Any, TypeVar

__all__ = ["PICKLED", "STAGES", "StageClock", "new_record", "thread_clock", "timed"]

STAGES = ("getitem", "decode", "transform", "batchify", "handover")
"""``getitem``: the dataset's own work (reading, and any transform that is not a
``Compose``); ``decode``: image decode (on the fused path, with its crop and
resize); ``transform``: ``Compose`` pipelines; ``batchify``: ``batchify_fn``;
``handover``: putting the batch where the main process can take it."""
PICKLED = len(STAGES)  # a record's last item: 1 if the batch travelled pickled

_local = threading.local()
_Fn = TypeVar("_Fn", bound=Callable[..., Any])


class StageClock:
    """A thread's clock: the record being filled, and the time inner stages claimed."""

    __slots__ = ("claimed", "ns")

    def __init__(self) -> None:
        self.ns = new_record()
        self.claimed = 0  # ns claimed by timed() stages inside the stage being measured


def new_record() -> list[int]:
    """A batch's empty record: 0 ns for each stage, and not pickled."""
    return [0] * (len(STAGES) + 1)


def thread_clock() -> StageClock:
    """This thread's clock (made on first use)."""
    clock = getattr(_local, "clock", None)
    if clock is None:
        clock = _local.clock = StageClock()
    return clock


def timed(stage: str) -> Callable[[_Fn], _Fn]:
    """Count the time of calls of the decorated function under ``stage``."""
    position = STAGES.index(stage)

    def decorate(fn: _Fn) -> _Fn:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            clock = getattr(_local, "clock", None)
            if clock is None:  # this thread never computed a batch
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
