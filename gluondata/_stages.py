"""Named stages of one batch's work, timed in the thread that computes it.

The loader starts a :class:`StageClock` around each batch (``getitem`` and
``batchify``, then ``handover`` in a worker process). Code deeper down that
knows what it is doing (the image decode, ``Compose``) claims its own time
with :func:`timed`: that time is then counted under its own stage and not
under the stage around it, so the stages of a batch add up to its wall time.
Outside a timed batch, :func:`timed` costs one attribute lookup.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from time import perf_counter_ns
from typing import Any, TypeVar

__all__ = ["STAGES", "StageClock", "current_clock", "timed"]

STAGES = ("getitem", "decode", "transform", "batchify", "handover")
"""``getitem``: the dataset's own work (reading, and any transform that is not a
``Compose``); ``decode``: image decode (on the fused path, with its crop and
resize); ``transform``: ``Compose`` pipelines; ``batchify``: ``batchify_fn``;
``handover``: putting the batch where the main process can take it."""

_local = threading.local()
_Fn = TypeVar("_Fn", bound=Callable[..., Any])


class StageClock:
    """Nanoseconds per stage for one batch, as :data:`STAGES` order."""

    __slots__ = ("_outer", "claimed", "ns")

    def __init__(self) -> None:
        self.ns = [0] * len(STAGES)
        self.claimed = 0  # time claimed by timed() stages inside the stage being measured
        self._outer: StageClock | None = None

    def __enter__(self) -> StageClock:
        self._outer = getattr(_local, "clock", None)
        _local.clock = self
        return self

    def __exit__(self, *exc_info: object) -> None:
        _local.clock = self._outer

    def add(self, stage: int, elapsed: int) -> None:
        """Count ``elapsed`` ns under ``stage``, less what inner stages claimed of it."""
        self.ns[stage] += elapsed - self.claimed
        self.claimed = 0

    def record(self, pickled: bool) -> tuple[int, ...]:
        """The batch's stage times and whether it travelled pickled (1) or in shared memory."""
        return (*self.ns, int(pickled))


def current_clock() -> StageClock | None:
    """The clock of the batch this thread is computing, if any."""
    return getattr(_local, "clock", None)


def timed(stage: str) -> Callable[[_Fn], _Fn]:
    """Count the time of calls of the decorated function under ``stage`` (inside a timed batch)."""
    position = STAGES.index(stage)

    def decorate(fn: _Fn) -> _Fn:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            clock = getattr(_local, "clock", None)
            if clock is None:
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
