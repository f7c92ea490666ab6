"""``num_workers='auto'`` and ``prefetch='auto'``: chosen by measuring, once, at the first epoch.

Each candidate setting computes batches of the first epoch (which are then
computed again for real: every batch is a pure function of its seed, epoch
and position, so measuring changes no batch) and is timed after a warm-up.
Workers are added while the throughput grows by more than ``MIN_GAIN``,
within the usable CPUs and the shared-memory budget; the fewest workers
(and then the smallest prefetch) within ``MIN_GAIN`` of the best win.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .executors import Executor, InlineExecutor
from .pool.codec import measure
from .stats import usable_cpus

__all__ = ["MIN_GAIN", "TRIAL_BATCHES", "Choice", "choose"]

MIN_GAIN = 0.05
TRIAL_SECONDS = 0.4  # timed part of each trial, after its warm-up
_MAX_TRIAL_SECONDS = 3.0
TRIAL_BATCHES = 64  # the first batches of the epoch that trials cycle through


@dataclass(frozen=True)
class Choice:
    """The chosen setting and what each candidate measured (samples/s)."""

    num_workers: int
    prefetch: int
    rates: dict[tuple[int, int], float]

    def describe(self) -> str:
        """One line: the choice and the measurements behind it."""
        tried = ", ".join(
            f"{workers}w/p{prefetch}: {rate:,.0f}/s"
            for (workers, prefetch), rate in self.rates.items()
        )
        chosen = f"num_workers={self.num_workers}"
        if self.num_workers:
            chosen += f", prefetch={self.prefetch}"
        return f"{chosen} (measured {tried})"


def choose(
    make_executor: Callable[[int], Executor | InlineExecutor],
    make_iterator: Callable[[Executor | InlineExecutor, int, Iterator[Sequence[int]]], Any],
    first_batches: Sequence[Sequence[int]],
    *,
    tune_workers: bool,
    num_workers: int,
    tune_prefetch: bool,
    prefetch: int | None,
) -> tuple[Choice, Executor]:
    """Measure candidate settings; return the choice and its (open) executor.

    Parameters
    ----------
    make_executor : callable
        ``make_executor(num_workers)`` returns a fresh executor.
    make_iterator : callable
        ``make_iterator(executor, prefetch, index_batches)`` iterates batches.
    first_batches : sequence
        The index lists of the epoch's first batches (trials cycle through them).
    tune_workers, tune_prefetch : bool
        Which of the two to choose; the other is ``num_workers``/``prefetch``
        (None: twice the workers).
    """
    rates: dict[tuple[int, int], float] = {}
    executors: dict[int, Executor] = {}
    batch_bytes = 0
    shm_budget: int | None = None  # known once a process executor exists

    def trial(workers: int, depth: int) -> float:
        nonlocal batch_bytes, shm_budget
        if workers not in executors:
            executors[workers] = make_executor(workers)
            shared = getattr(executors[workers], "shared_memory", None)
            shm_budget = shm_budget if shared is None else shared[1]
        batches = make_iterator(executors[workers], depth, itertools.cycle(first_batches))
        sizes = itertools.cycle([len(indices) for indices in first_batches])
        # the first trial warms up for the others too (page cache, lazy set-ups, and the
        # main process's heap: its first large allocations fault fresh pages in)
        warm_batches = len(first_batches) if not rates else 0
        try:
            rate, batch_bytes_seen = _time_batches(batches, sizes, workers, depth, warm_batches)
        finally:
            batches.close()
        batch_bytes = max(batch_bytes, batch_bytes_seen)
        rates[workers, depth] = rate
        return rate

    def default_depth(workers: int) -> int:
        return 2 * workers if prefetch is None or tune_prefetch else prefetch

    best = num_workers
    if tune_workers:
        trial(0, default_depth(0))
        best, limit = 0, usable_cpus()
        for workers in range(1, limit + 1):
            if shm_budget and 2 * workers * batch_bytes > shm_budget:
                break  # the slots in flight would not fit the shared-memory budget
            trial(workers, default_depth(workers))
            if rates[workers, default_depth(workers)] > rates[best, default_depth(best)] * (
                1 + MIN_GAIN
            ):
                best = workers
            elif workers >= 2:
                break  # (one worker alone often only moves the work off the loop)
    depth = default_depth(best)
    if tune_prefetch and best > 0:
        if (best, depth) not in rates:
            trial(best, depth)
        for candidate in (best, 4 * best):
            if not shm_budget or candidate * batch_bytes <= shm_budget:
                trial(best, candidate)
        top = max(rate for (workers, _), rate in rates.items() if workers == best)
        good_enough = top / (1 + MIN_GAIN)
        depth = min(d for (w, d), rate in rates.items() if w == best and rate >= good_enough)
    for workers, executor in executors.items():
        if workers != best:
            executor.close()
    chosen = executors.pop(best, None) or make_executor(best)
    return Choice(best, depth, rates), chosen


def _time_batches(
    batches: Iterator[Any],
    sizes: Iterator[int],
    workers: int,
    depth: int,
    warm_batches: int = 0,
) -> tuple[float, int]:
    """Samples per second after a warm-up; and one batch's array bytes.

    The warm-up lasts one batch per worker and, with workers, one more per
    batch in flight (``depth``), so that every shared-memory slot has been
    made and touched once (fresh shared memory is several times slower to
    write than reused); and ``warm_batches`` if they take under
    ``_MAX_TRIAL_SECONDS``.

    ``sizes`` gives each batch's number of samples, in order. Each batch is
    kept until the next one arrives, as a training loop keeps it: freeing it
    first would make the next one's allocation fault fresh pages in (twice as
    slow on W5) and the measurement unlike the epoch.
    """
    warm_up = max(1, workers) + (depth + 1 if workers else 0)
    began = time.perf_counter()
    batch = next(batches)
    batch_bytes = _array_bytes(batch)
    next(sizes)
    warmed = 1
    while warmed < warm_up or (
        warmed < warm_batches and time.perf_counter() - began < _MAX_TRIAL_SECONDS
    ):
        batch = next(batches)
        next(sizes)
        warmed += 1
    start = time.perf_counter()
    samples = count = 0
    while True:
        batch = next(batches)  # kept until the next (see above)
        samples += next(sizes)
        count += 1
        elapsed = time.perf_counter() - start
        enough = elapsed >= TRIAL_SECONDS and count >= 2 * max(1, workers)
        if enough or elapsed >= _MAX_TRIAL_SECONDS:
            return samples / elapsed, batch_bytes


def _array_bytes(batch: Any) -> int:
    try:
        return measure(batch)
    except Exception:
        return 0
