"""Where a loader's time goes: what an epoch records, and ``DataLoader.stats()``'s report.

Every batch brings back its stage times from wherever it was computed
(:mod:`gluondata._stages`); the loop's side records how long each ``next()``
waited. From these, :class:`LoaderStats` tells whether the training loop is
waiting for data (``input-bound``), the loader is waiting for the loop
(``compute-bound``), or neither, and what would help.
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from time import perf_counter_ns
from typing import Any

import numpy as np

from .._stages import (
    CHEAP_NS,
    PICKLED,
    SAMPLE_EVERY,
    STAGES,
    WEIGHT,
    new_record,
    restart_sampling,
)
from .fetch import TaskResult

__all__ = ["EpochRecorder", "LoaderStats", "StageSummary", "judge", "usable_cpus"]

INPUT_BOUND_WAIT = 0.2  # the loop waits this fraction of its time or more: input-bound
COMPUTE_BOUND_WAIT = 0.05  # at most this: compute-bound
_NS = 1e-9
# Timing one of the loop's own batches (num_workers=0) costs about this much: its timing code
# runs cold, after the untimed batches pushed it out of the caches. Batches under CHEAP_NS are
# timed rarely enough that this stays under TIMING_SHARE of their time (one in SAMPLE_EVERY at
# least, one in MAX_SAMPLE_EVERY at most).
TIMING_COST_NS = 10_000
TIMING_SHARE = 0.002
MAX_SAMPLE_EVERY = 256
_CHEAP_BATCH_MS = 0.2  # below this, a worker's hand-over costs more than the batch


def usable_cpus() -> int:
    """CPUs this process may use: its affinity mask, within a cgroup (v2 or v1) CPU quota."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    quota = _cgroup_quota()
    if quota is not None:
        count = min(count, max(1, int(quota + 0.5)))
    return count


def _cgroup_quota() -> float | None:
    """The cgroup's CPU quota in CPUs (``cpu.max`` or ``cfs_quota/cfs_period``), if limited."""
    try:
        with open("/sys/fs/cgroup/cpu.max") as f:
            quota, period = f.read().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        with open("/sys/fs/cgroup/cpu/cpu.cfs_quota_us") as f:
            quota_us = int(f.read())
        with open("/sys/fs/cgroup/cpu/cpu.cfs_period_us") as f:
            period_us = int(f.read())
    except (OSError, ValueError):
        return None
    return None if quota_us <= 0 or period_us <= 0 else quota_us / period_us


class EpochRecorder:
    """What one epoch records as it runs; a few operations per batch, so always on.

    Parameters
    ----------
    epoch : int
        The epoch number.
    total_batches : int or None
        Batches expected (for the progress bar).
    executor : Executor
        Where the batches run (a process pool also reports restarts and shared memory).
    progress : bool
        Show a tqdm bar of batches with samples/s.
    """

    def __init__(
        self, epoch: int, total_batches: int | None, executor: Any, progress: bool = False
    ) -> None:
        self.epoch = epoch
        self.started_ns: int | None = None
        self.ended_ns: int | None = None
        self.waited_ns = 0
        # per batch: when it arrived (perf_counter_ns) and its samples; arrays, so that
        # recording allocates no object the garbage collector must visit
        self.arrival_ns = array("q")
        self.arrival_samples = array("q")
        # With num_workers=0 the loop computes each batch itself: its wait is that work. Batches
        # under CHEAP_NS are then timed one in SAMPLE_EVERY or more rarely (see TIMING_SHARE):
        # for each timed one, when the loop asked for it and how many batches it stands for
        # (itself and the untimed ones before it, whose samples its arrival also counts).
        self.asked_ns = array("q")
        self.asked_weights = array("q")
        self.untimed_batches = 0  # untimed batches since the last timed one
        self.skip = 0  # how many the loop leaves untimed after the last timed one
        self.untimed_samples = 0
        self.timings: list[Sequence[int]] = []  # one stage record per computed batch
        self.busy_ns = 0  # time spent computing batches, summed over the workers
        self.bad = 0
        self.restarts = 0
        self.shm_peak: int | None = None
        self.shm_budget: int | None = None
        self._pool = executor if hasattr(executor, "shared_memory") else None
        if executor.runs_in_caller:  # batches are timed in this thread: sample this epoch afresh
            restart_sampling()
        self._bar: Any = None
        self._shown_samples = 0
        if progress:
            from tqdm import tqdm

            self._bar = tqdm(total=total_batches, desc=f"epoch {epoch}", unit="batch")

    def batch_arrived(self, began: int, samples: int, bad: int) -> None:
        """The loop, which asked at ``began`` (perf_counter_ns), got a batch of ``samples``."""
        now = perf_counter_ns()
        if self.started_ns is None:
            self.started_ns = began
        self.waited_ns += now - began
        self.arrival_ns.append(now)
        self.arrival_samples.append(samples)
        if bad:
            self.bad += bad
        if self._bar is not None:
            self._show(samples, now)

    def _show(self, samples: int, now: int) -> None:
        """Move the progress bar on by one batch of ``samples``."""
        self._shown_samples += samples
        self._bar.update(1)
        if len(self.arrival_ns) % 16 == 0:
            start = self.started_ns if self.started_ns is not None else self.asked_ns[0]
            rate = self._shown_samples / max((now - start) * _NS, 1e-9)
            self._bar.set_postfix_str(f"{rate:,.0f} samples/s", refresh=False)

    def timing_record(self) -> list[int]:
        """The stage record of a batch the loop computes and times itself (``num_workers=0``)."""
        return new_record(1 + self.untimed_batches)

    def computed_here(self, began: int, samples: int, record: list[int]) -> None:
        """The loop, which asked at ``began``, computed and timed a batch of ``samples`` itself
        (``num_workers=0``), with stage times ``record``. A cheap one leaves the next
        ``SAMPLE_EVERY - 1`` untimed, or more (``skip``; see ``TIMING_SHARE``): the loop only
        adds them to ``untimed_batches`` and ``untimed_samples``."""
        now = perf_counter_ns()
        self.asked_ns.append(began)
        self.asked_weights.append(1 + self.untimed_batches)
        self.arrival_ns.append(now)
        self.arrival_samples.append(samples + self.untimed_samples)
        self.timings.append(record)
        self.untimed_batches = self.untimed_samples = 0
        if self._bar is not None:
            self._show(samples, now)
        elif now - began < CHEAP_NS:
            every = int(TIMING_COST_NS / (TIMING_SHARE * max(now - began, 1)))
            self.skip = min(max(every, SAMPLE_EVERY), MAX_SAMPLE_EVERY) - 1
        else:
            self.skip = 0

    def epoch_ended(self, began: int) -> None:
        """The loop asked past the last batch at ``began`` (that wait counts too)."""
        if self.ended_ns is None:
            self.ended_ns = now = perf_counter_ns()
            if self.started_ns is None:
                self.started_ns = began
            self.waited_ns += now - began
            self._close_bar()

    def stopped(self) -> None:
        """The loop stopped before the end: the epoch's time ends at its last batch."""
        if self.ended_ns is None:
            self.ended_ns = self._last_arrival()
            self._close_bar()

    def _last_arrival(self) -> int | None:
        """When the last batch arrived; estimated when the loop left the last ones untimed."""
        if not self.arrival_ns:
            return self.started_ns
        last = self.arrival_ns[-1]
        if self.untimed_batches:  # at the pace of the batches so far
            first = self.asked_ns[0]
            last += self.untimed_batches * (last - first) // max(sum(self.asked_weights), 1)
        return last

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def task_done(self, result: TaskResult) -> None:
        """A task's batches came back."""
        self.busy_ns += int(result.seconds * 1e9)
        self.timings.extend(result.timings)
        if self._pool is not None:
            self.restarts = self._pool.restarts
            held, self.shm_budget = self._pool.shared_memory
            self.shm_peak = max(self.shm_peak or 0, held)


@dataclass(frozen=True)
class StageSummary:
    """One stage over an epoch: total seconds (summed over workers) and per-batch milliseconds."""

    total_seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float


@dataclass(frozen=True)
class LoaderStats:
    """Where the time of a loader's latest epoch went (``DataLoader.stats()``).

    ``str(stats)`` is a readable table; :meth:`as_dict` gives plain data.
    The stages (summed over the workers) are ``getitem`` (the dataset's own
    work: reading, and transforms other than ``Compose``), ``decode`` (image
    decode; on the fused path with its crop and resize), ``transform``
    (``Compose`` pipelines), ``batchify`` and ``handover`` (into shared
    memory or pickled, in a worker process). Batches that take under a
    millisecond are timed one in 16 (the totals are scaled up to all batches;
    the percentiles are those of the timed ones); with ``num_workers=0`` so
    is the loop's wait for them, which is their computation, and batches
    under 0.1 ms are timed more rarely still (down to one in 256), so that
    timing stays under 0.2% of their time.
    """

    epoch: int
    batches: int
    samples: int
    wall_seconds: float
    waited_seconds: float
    elsewhere_seconds: float
    stages: dict[str, StageSummary]
    executor: str
    num_workers: int
    prefetch: int
    usable_cpus: int
    worker_utilisation: float
    shm_peak_bytes: int | None
    shm_budget_bytes: int | None
    pickled_batches: int
    bad_samples: int
    worker_restarts: int
    verdict: str
    advice: str
    autotune: str | None = None
    arrivals: list[tuple[float, int]] = field(default_factory=list, repr=False)

    @property
    def samples_per_second(self) -> float:
        """Samples the loop got per second of the epoch's wall time."""
        return self.samples / self.wall_seconds if self.wall_seconds > 0 else 0.0

    @property
    def waiting_fraction(self) -> float:
        """The fraction of the wall time the loop spent waiting for batches."""
        return self.waited_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready), without the per-batch arrival times."""
        data = asdict(self)
        del data["arrivals"]
        data["samples_per_second"] = self.samples_per_second
        data["waiting_fraction"] = self.waiting_fraction
        return data

    def __str__(self) -> str:
        workers = (
            "in the calling thread"
            if self.executor == "caller"
            else f"{self.num_workers} {self.executor}, prefetch {self.prefetch}"
        )
        lines = [
            f"epoch {self.epoch}: {self.batches} batches, {self.samples} samples in "
            f"{self.wall_seconds:.3f} s ({self.samples_per_second:,.0f} samples/s), {workers}",
            f"the loop waited for batches {self.waited_seconds:.3f} s "
            f"({100 * self.waiting_fraction:.0f}%), worked {self.elsewhere_seconds:.3f} s",
            "",
            f"{'stage':<10} {'total s':>9} {'share':>6} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8}",
        ]
        total = sum(s.total_seconds for s in self.stages.values()) or 1.0
        for name, s in self.stages.items():
            lines.append(
                f"{name:<10} {s.total_seconds:>9.3f} {100 * s.total_seconds / total:>5.0f}% "
                f"{s.p50_ms:>8.2f} {s.p90_ms:>8.2f} {s.p99_ms:>8.2f}"
            )
        lines.append("")
        lines.append(
            f"worker utilisation {100 * self.worker_utilisation:.0f}% "
            f"({self.usable_cpus} usable CPUs)"
        )
        if self.shm_budget_bytes is not None:
            lines.append(
                f"shared memory {(self.shm_peak_bytes or 0) / 2**20:.1f} MiB held at most, "
                f"budget {self.shm_budget_bytes / 2**20:.0f} MiB"
            )
        lines.append(
            f"pickled batches {self.pickled_batches}, bad samples {self.bad_samples}, "
            f"worker restarts {self.worker_restarts}"
        )
        if self.autotune:
            lines.append(f"auto: {self.autotune}")
        lines.append(f"verdict: {self.verdict}: {self.advice}")
        return "\n".join(lines)


def summarize(
    recorder: EpochRecorder,
    *,
    executor: str,
    num_workers: int,
    prefetch: int,
    dataset: Any,
    autotune: str | None = None,
) -> LoaderStats:
    """The report of an epoch as recorded so far."""
    start = recorder.started_ns
    computed_here_ns = 0  # with num_workers=0: the loop's work on batches, which was its wait
    if recorder.asked_ns:
        asked = np.frombuffer(recorder.asked_ns, dtype=np.int64)
        arrived = np.frombuffer(recorder.arrival_ns, dtype=np.int64)[: len(asked)]
        stands_for = np.frombuffer(recorder.asked_weights, dtype=np.int64)
        computed_here_ns = int(((arrived - asked) * stands_for).sum())
        start = int(asked[0]) if start is None else min(start, int(asked[0]))
    if start is None:
        wall_ns = 0
    else:
        end = perf_counter_ns() if recorder.ended_ns is None else recorder.ended_ns
        wall_ns = max(end - start, 0)
    timings = np.asarray(recorder.timings, dtype=np.int64).reshape(-1, WEIGHT + 1)
    weights = timings[:, WEIGHT]
    batches = (
        len(recorder.arrival_ns)
        - len(recorder.asked_ns)
        + sum(recorder.asked_weights)
        + recorder.untimed_batches
    )
    stages = {}
    for position, name in enumerate(STAGES):
        column = timings[:, position]
        if column.size:
            p50, p90, p99 = np.percentile(column, [50, 90, 99]) / 1e6
        else:
            p50 = p90 = p99 = 0.0
        total = float((column * weights).sum() * _NS)
        stages[name] = StageSummary(total, float(p50), float(p90), float(p99))
    cpus = usable_cpus()
    wall = wall_ns * _NS
    parallel = max(num_workers, 1)
    busy = (recorder.busy_ns + computed_here_ns) * _NS
    utilisation = min(busy / (wall * parallel), 1.0) if wall > 0 else 0.0
    pickled = int((timings[:, PICKLED] * weights).sum())
    # (timed batches stand for untimed ones: the estimate may pass the wall time a little)
    waited = min((recorder.waited_ns + computed_here_ns) * _NS, wall)
    verdict, advice = judge(
        waiting_fraction=waited / wall if wall > 0 else 0.0,
        executor=executor,
        num_workers=num_workers,
        cpus=cpus,
        utilisation=utilisation,
        stage_seconds={name: s.total_seconds for name, s in stages.items()},
        pickled_fraction=pickled / max(int(weights.sum()), 1),
        dataset=dataset,
        batches=batches,
        batch_ms=sum(s.total_seconds for s in stages.values()) * 1e3 / max(int(weights.sum()), 1),
        autotuned=autotune is not None,
    )
    return LoaderStats(
        epoch=recorder.epoch,
        batches=batches,
        samples=sum(recorder.arrival_samples) + recorder.untimed_samples,
        wall_seconds=wall,
        waited_seconds=waited,
        elsewhere_seconds=max(wall - waited, 0.0),
        stages=stages,
        executor=executor,
        num_workers=num_workers,
        prefetch=prefetch,
        usable_cpus=cpus,
        worker_utilisation=utilisation,
        shm_peak_bytes=recorder.shm_peak,
        shm_budget_bytes=recorder.shm_budget,
        pickled_batches=pickled,
        bad_samples=recorder.bad,
        worker_restarts=recorder.restarts,
        verdict=verdict,
        advice=advice,
        autotune=autotune,
        arrivals=[
            ((ns - (start or ns)) * _NS, n)
            for ns, n in zip(recorder.arrival_ns, recorder.arrival_samples, strict=True)
        ],
    )


def judge(
    *,
    waiting_fraction: float,
    executor: str,
    num_workers: int,
    cpus: int,
    utilisation: float,
    stage_seconds: dict[str, float],
    pickled_fraction: float,
    dataset: Any,
    batches: int,
    batch_ms: float = 0.0,
    autotuned: bool = False,
) -> tuple[str, str]:
    """The one-word verdict and one line of advice."""
    if batches == 0:
        return "balanced", "no batch has arrived yet: ask again during or after an epoch"
    if waiting_fraction >= INPUT_BOUND_WAIT:
        return "input-bound", _input_advice(
            waiting_fraction,
            executor,
            num_workers,
            cpus,
            utilisation,
            stage_seconds,
            pickled_fraction,
            dataset,
            batch_ms,
            autotuned,
        )
    if waiting_fraction <= COMPUTE_BOUND_WAIT:
        needed = max(1, round(num_workers * utilisation + 0.5))
        if executor != "caller" and needed < num_workers:
            return "compute-bound", (
                f"the training loop is the bottleneck; about {needed} worker(s) would keep up "
                f"and leave {num_workers - needed} CPU(s) to the loop"
            )
        return "compute-bound", "the training loop is the bottleneck; the loader keeps up"
    if executor == "caller":
        return "balanced", (
            f"the loop waits {100 * waiting_fraction:.0f}% of its time: num_workers=1 or more "
            "(or 'auto') would load the next batch while the loop works"
        )
    return "balanced", (
        f"the loop waits {100 * waiting_fraction:.0f}% of its time: a larger prefetch or one more "
        "worker would hide the rest"
    )


def _input_advice(
    waiting_fraction: float,
    executor: str,
    num_workers: int,
    cpus: int,
    utilisation: float,
    stage_seconds: dict[str, float],
    pickled_fraction: float,
    dataset: Any,
    batch_ms: float,
    autotuned: bool,
) -> str:
    waiting = f"the loop waits {100 * waiting_fraction:.0f}% of its time for batches"
    if executor == "processes" and pickled_fraction > 0.1:
        return (
            f"{waiting}, and {100 * pickled_fraction:.0f}% of batches travelled pickled: "
            "give a bigger shared-memory budget (DataLoader(shm_budget=...))"
        )
    if executor == "caller" and batch_ms < _CHEAP_BATCH_MS:
        return (
            f"{waiting}, but a batch takes only {batch_ms:.2f} ms: handing it to a worker "
            "would cost more; keep num_workers=0 and make the loop's work or the batch larger"
        )
    if executor == "caller" and autotuned:
        return (
            f"{waiting}; num_workers='auto' measured workers no faster here: make the "
            "batches cheaper (see the stages above)"
        )
    if executor == "caller" and cpus > 1:
        return f"{waiting}: use worker processes, num_workers='auto' (up to {cpus} CPUs)"
    if executor != "caller" and num_workers < cpus and utilisation > 0.6:
        return f"{waiting} and the workers are busy: more workers (num_workers={num_workers + 1})"
    if executor == "processes" and utilisation < 0.5:
        return (
            f"{waiting} while the workers idle: handing batches over costs more than making "
            "them; use threads instead of processes (thread_pool=True) or num_workers=0"
        )
    dominant = max(stage_seconds, key=stage_seconds.__getitem__)
    if dominant == "decode":
        return (
            f"{waiting}, mostly decoding images: give the encoded image to a Compose that "
            "starts with a crop or resize (the fused decode path: "
            "ImageFolderDataset(...).transform_first(Compose(...))), keep the OpenCV backend "
            "(the default; Pillow's resize is slower), or add CPUs"
        )
    if dominant == "getitem" and hasattr(dataset, "cache"):
        return f"{waiting}, mostly reading samples: cache() the dataset if it fits in memory"
    if dominant == "getitem":
        return f"{waiting}, mostly reading samples: keep the data in memory if it fits"
    return f"{waiting}, mostly in {dominant}: make it cheaper, or add CPUs"


def arrival_rates(
    arrivals: Sequence[tuple[float, int]], window: float
) -> list[tuple[float, float]]:
    """Samples per second in consecutive windows of ``window`` seconds: (window end, rate)."""
    rates = []
    edge, count = window, 0
    for seconds, samples in arrivals:
        while seconds > edge:
            rates.append((edge, count / window))
            edge, count = edge + window, 0
        count += samples
    if count:
        rates.append((edge, count / window))
    return rates
