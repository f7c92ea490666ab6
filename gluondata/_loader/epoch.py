"""One epoch of a DataLoader: the iterator that submits its batches and yields them in order."""

from __future__ import annotations

import collections
import itertools
import threading
from collections.abc import Iterator, Sequence
from time import perf_counter_ns
from typing import Any, NamedTuple

import numpy as np

from .bad_samples import BadSample, BadSampleBudget
from .checkpoint import EpochProgress
from .executors import BatchTimeout, Executor, InlineExecutor, PendingTasks
from .fetch import BatchTask, Outcome, run_batch
from .pool import WorkerDiedError
from .stats import EpochRecorder

__all__ = ["EpochIterator", "MaskedBatch"]


class MaskedBatch(NamedTuple):
    """A batch and its validity mask (``DataLoader(with_mask=True)``).

    ``mask[i]`` is False when sample ``i`` of the batch is padding that a
    sharded loader added so that every rank yields the same number of
    batches: leave it out of metrics and losses.
    """

    batch: Any
    mask: np.ndarray


class EpochIterator:
    """One epoch: keeps up to ``in_flight`` tasks submitted, yields batches in order.

    With workers, cheap batches are sent in groups (one task computes several
    consecutive batches) so that a task takes about the executor's
    ``task_seconds``: the cost of handing a task to a worker then does not
    dominate. The group size follows the measured time per batch.
    """

    def __init__(
        self,
        loader: Any,
        executor: Executor | InlineExecutor,
        batches: Iterator[tuple[int, Sequence[int]]],
        epoch: int,
        in_flight: int,
        timeout: float,
        in_order: bool,
        budget: BadSampleBudget | None,
        recorder: EpochRecorder | None = None,
        progress: EpochProgress | None = None,
        masks: dict[int, np.ndarray] | None = None,
    ) -> None:
        self._loader = loader  # its workers live as long as this iterator
        self._budget = budget
        self._recorder = recorder
        self._epoch_progress = progress
        self.next_lock = threading.Lock()  # one iterator may be shared by threads
        self._executor = executor
        self._in_order = in_order
        self._batches = batches
        self._epoch = epoch
        self._in_flight = in_flight
        self._timeout = timeout
        self._pending: collections.deque[tuple[list[BatchTask], PendingTasks]] = collections.deque()
        self._ready: collections.deque[tuple[BatchTask, Outcome]] = collections.deque()
        self._group_size = 1
        self._exhausted = False
        self._masks = masks  # by position (with_mask; other samplers' batches are all valid)
        # in the caller, each batch is computed as it is asked for: no task, no queue
        self._inline = isinstance(executor, InlineExecutor)

    def __iter__(self) -> EpochIterator:
        return self

    def _submit_more(self) -> None:
        while not self._exhausted and len(self._pending) < self._in_flight:
            tasks = [
                BatchTask(self._epoch, position, indices)
                for position, indices in itertools.islice(self._batches, self._group_size)
            ]
            if not tasks:
                self._exhausted = True
                return
            self._pending.append((tasks, self._executor.submit(tasks)))

    def _collect(self) -> None:
        position = 0
        try:
            if not self._in_order:
                pending_tasks = [pending for _, pending in self._pending]
                position = self._executor.first_done(pending_tasks, self._timeout)
            tasks, pending = self._pending[position]
            result = pending.result(timeout=self._timeout)
        except BatchTimeout:
            tasks, pending = self._pending[position]
            worker = self._executor.describe_worker(pending)
            self._executor.replace_worker(pending)
            self.close()
            what = tasks[0].describe() if len(tasks) == 1 else _describe_group(tasks)
            raise TimeoutError(
                f"{worker} took more than {self._timeout:g} s for {what}: a slow or stuck "
                "__getitem__/transform? raise DataLoader(timeout=...) if it is only slow"
            ) from None
        del self._pending[position]
        if self._recorder is not None:
            self._recorder.task_done(result)
        self._ready.extend(zip(tasks, result.outcomes, strict=True))
        seconds_per_batch = max(result.seconds / len(tasks), 1e-9)
        wanted = int(self._executor.task_seconds / seconds_per_batch)
        self._group_size = max(1, min(_MAX_GROUP, wanted))

    def __next__(self) -> Any:
        with self.next_lock:
            return self._next_inline() if self._inline else self._next_pooled()

    def _next_pooled(self) -> Any:
        recorder = self._recorder
        began = perf_counter_ns()
        if not self._ready:
            self._submit_more()
            if not self._pending:
                if recorder is not None:
                    recorder.epoch_ended(began)
                raise StopIteration
            self._collect()
            self._submit_more()
        task, outcome = self._ready.popleft()
        if recorder is not None:
            recorder.batch_arrived(began, len(task.indices), len(outcome.bad))
        return self._deliver(task, *outcome)

    def _next_inline(self) -> Any:
        """Compute the next batch here and now (an InlineExecutor: no worker, no queue)."""
        recorder = self._recorder
        timed = recorder is not None and recorder.untimed_batches >= recorder.skip
        began = perf_counter_ns() if timed else 0
        item = None if self._exhausted else next(self._batches, None)
        if item is None:
            self._exhausted = True
            if recorder is not None:
                recorder.epoch_ended(began or perf_counter_ns())
            raise StopIteration
        task = BatchTask(self._epoch, *item)
        record = recorder.timing_record() if timed else None
        bad: list[BadSample] = []
        try:
            batch, error = run_batch(self._executor.job, task, bad, record), None
        except Exception as exc:
            batch, error = None, exc
        if timed:
            recorder.computed_here(began, len(task.indices), record)
        elif recorder is not None:  # a cheap batch, sampled out: counted, not timed
            recorder.untimed_batches += 1
            recorder.untimed_samples += len(task.indices)
        if bad and recorder is not None:
            recorder.bad += len(bad)
        return self._deliver(task, batch, error, tuple(bad))

    def _deliver(
        self, task: BatchTask, batch: Any, error: BaseException | None, bad: tuple[BadSample, ...]
    ) -> Any:
        """Hand the outcome of ``task`` to the caller: its batch, or its error."""
        if self._epoch_progress is not None:
            self._epoch_progress.receive(task.position)
        mask = None if self._masks is None else self._masks.pop(task.position, None)
        if bad and self._budget is not None:
            self._budget.note(bad)
        if error is not None:
            if isinstance(error, WorkerDiedError):  # the epoch is over
                self.close()
            raise error
        if self._masks is None:
            return batch
        if mask is None:
            mask = np.ones(len(task.indices), dtype=bool)
        return MaskedBatch(batch, mask)

    def close(self) -> None:
        """Drop the batches not yet returned."""
        if self._recorder is not None:
            self._recorder.stopped()
        self._exhausted = True
        self._ready.clear()
        while self._pending:
            self._pending.popleft()[1].cancel()

    def __del__(self) -> None:
        self.close()


_MAX_GROUP = 16


def _describe_group(tasks: Sequence[BatchTask]) -> str:
    shown = "; ".join(task.describe() for task in tasks[:3])
    more = f"; and {len(tasks) - 3} more" if len(tasks) > 3 else ""
    return f"one of the batches sent together: {shown}{more}"
