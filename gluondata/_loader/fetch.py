"""The work of one batch, the same in every executor: fetch samples, batchify."""

from __future__ import annotations

import os
import pickle
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from time import perf_counter_ns
from typing import Any, NamedTuple

import numpy as np

from .._stages import STAGES, next_record, thread_clock
from ..image._backend import DEFAULT_BACKEND
from ..random import SampleKey, new_streams, seeded_globals, set_sample_key, set_streams
from . import crash_watch
from .alloc import undone_on_error
from .bad_samples import MAX_ATTEMPTS, BadSample, describe_error, substitute_index
from .columns import ColumnWriter

__all__ = [
    "BatchJob",
    "BatchTask",
    "Outcome",
    "TaskResult",
    "add_note",
    "portable_error",
    "run_batch",
    "run_tasks",
]

_SHOWN_INDICES = 8


class BatchTask(NamedTuple):
    """One batch to compute: its position in the epoch and its dataset indices."""

    epoch: int
    position: int
    indices: Sequence[int]

    def describe(self) -> str:
        """Name the batch for error messages."""
        shown = ", ".join(str(int(i)) for i in self.indices[:_SHOWN_INDICES])
        more = f", ... ({len(self.indices)} in all)" if len(self.indices) > _SHOWN_INDICES else ""
        return f"batch {self.position} of epoch {self.epoch} (indices [{shown}{more}])"


@dataclass(frozen=True)
class BatchJob:
    """What every batch of a loader shares: the dataset, batchify, seeding, bad-sample policy."""

    dataset: Any
    batchify_fn: Callable[[Sequence[Any]], Any]
    seed: int
    seed_globals: bool
    on_bad_sample: str = "raise"
    image_backend: str = DEFAULT_BACKEND  # the main process's, which worker processes start with


class Outcome(NamedTuple):
    """A computed batch (and the bad samples replaced in it), or the exception that stopped it."""

    batch: Any
    error: BaseException | None
    bad: tuple[BadSample, ...] = ()


class TaskResult(NamedTuple):
    """The outcomes of a group of batches, the seconds they took together, and their stage times.

    ``timings`` holds the stage records (:mod:`gluondata._stages`) of the
    batches that were timed.
    """

    outcomes: list[Outcome]
    seconds: float
    timings: Sequence[list[int]] = ()


def run_tasks(
    job: BatchJob, tasks: Sequence[BatchTask], abandoned: Callable[[], bool] | None = None
) -> TaskResult:
    """Compute several batches in this process; each batch's error is kept apart.

    ``abandoned()``, checked between batches, stops the work early when the
    loop no longer wants these batches (the outcomes are then incomplete).
    """
    start = time.perf_counter()
    outcomes = []
    timings = []
    for task in tasks:
        if abandoned is not None and abandoned():
            break
        bad: list[BadSample] = []
        record = next_record()
        if record is not None:
            timings.append(record)
        try:
            outcomes.append(Outcome(run_batch(job, task, bad, record), None, tuple(bad)))
        except Exception as exc:
            outcomes.append(Outcome(None, exc, tuple(bad)))
    return TaskResult(outcomes, time.perf_counter() - start, timings)


def portable_error(exc: Exception) -> Exception:
    """Return ``exc`` ready to be pickled to another process.

    A traceback does not pickle, so its text becomes a note (not for the
    loader's own verdict on a lethal sample, whose traceback says nothing); an
    exception that would not survive pickling is replaced by a RuntimeError naming it.
    """
    if isinstance(exc, crash_watch.SampleCrashedWorkerError):
        return exc
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        exc = RuntimeError(f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}")
    add_note(exc, f"gluondata: traceback in worker process {os.getpid()}:\n{text}")
    return exc


def run_batch(
    job: BatchJob,
    task: BatchTask,
    bad: list[BadSample] | None = None,
    record: list[int] | None = None,
) -> Any:
    """Compute one batch; an exception leaves with a note naming the index and batch.

    Parameters
    ----------
    job : BatchJob
        The loader's shared settings.
    task : BatchTask
        The batch.
    bad : list of BadSample, optional
        Where the samples that failed and were replaced (``on_bad_sample='replace'``)
        are appended, also when the batch then fails.
    record : list of int, optional
        Where the time of each stage of the batch is added (see :mod:`gluondata._stages`);
        None leaves the batch untimed.
    """
    crash_watch.loading_batch(task)
    if job.seed_globals:
        with seeded_globals(job.seed, task.epoch, task.position):
            return _run_batch(job, task, bad, record)
    return _run_batch(job, task, bad, record)


def _run_batch(
    job: BatchJob, task: BatchTask, bad: list[BadSample] | None, record: list[int] | None
) -> Any:
    if record is not None:
        clock = thread_clock()
        outer_record, outer_claimed = clock.ns, clock.claimed  # (a batch inside a batch)
        clock.ns, clock.claimed = record, 0
        start = perf_counter_ns()
    try:
        previous_streams = set_streams({})  # every sample's random stream starts afresh
        try:
            samples = _fetch(job, task, [] if bad is None else bad)
        finally:
            set_streams(previous_streams)
        crash_watch.done_loading()
        if record is not None:
            fetched = perf_counter_ns()
            record[_GETITEM] += fetched - start - clock.claimed
            clock.claimed = 0
        try:
            batch = job.batchify_fn(samples)
        except Exception as exc:
            add_note(exc, f"gluondata: raised by batchify_fn on {task.describe()}")
            raise
        if record is not None:
            done = perf_counter_ns()
            record[_BATCHIFY] += done - fetched - clock.claimed
            clock.timed_batch(done - start)
        return batch
    finally:
        if record is not None:
            clock.ns, clock.claimed = outer_record, outer_claimed


_GETITEM, _BATCHIFY = STAGES.index("getitem"), STAGES.index("batchify")


def _fetch(job: BatchJob, task: BatchTask, bad: list[BadSample]) -> Any:
    getitems = getattr(job.dataset, "__getitems__", None)
    if getitems is None or crash_watch.one_by_one((task.epoch, task.position)):
        return _fetch_each(job, task, bad)
    previous_key = set_sample_key(SampleKey(job.seed, task.epoch, None))
    try:
        crash_watch.loading_batched()
        with undone_on_error():  # the columns of a failed try are not the batch's
            return _fetch_batched(job, task, getitems)
    except Exception as exc:
        add_note(exc, f"gluondata: raised by __getitems__ on {task.describe()}")
        if job.on_bad_sample == "raise":
            raise
        batch_error = exc
    finally:
        set_sample_key(previous_key)
    with new_streams():  # the draws of the failed call must not shift the samples'
        samples = _fetch_each(job, task, bad)
    if not bad:  # no sample fails on its own: the batched fetch itself is broken
        raise batch_error
    return samples


def _fetch_batched(job: BatchJob, task: BatchTask, getitems: Callable[[Any], Any]) -> Any:
    """The batch's samples from the dataset's batched fetch.

    gluondata's own batched datasets also have ``_getitems_into(indices, sink)``,
    which appends each sample to ``sink`` as it is made: a batchify function
    that ``takes_columns`` then gets them written into the batch's columns one
    by one (:class:`ColumnWriter`), never all on the heap at once (64 decoded
    images are 37 MiB, which a worker's heap would keep).
    """
    into = getattr(job.dataset, "_getitems_into", None)
    if into is None or not getattr(job.batchify_fn, "takes_columns", False):
        return getitems(task.indices)
    return into(task.indices, ColumnWriter(len(task.indices))).result()


def _fetch_each(job: BatchJob, task: BatchTask, bad: list[BadSample]) -> Sequence[Any]:
    """The batch's samples one by one, replacing those that fail under the replace policy.

    A batchify function that ``takes_columns`` (the built-in stacking ones) gets
    them as columns written as each sample came (:class:`ColumnWriter`).
    """
    dataset, seed, epoch = job.dataset, job.seed, task.epoch
    indices = task.indices.tolist() if isinstance(task.indices, np.ndarray) else task.indices
    random_key = getattr(dataset, "random_key", None)
    samples: ColumnWriter | list[Any] = []
    if getattr(job.batchify_fn, "takes_columns", False):
        samples = ColumnWriter(len(indices))
    previous_key = set_sample_key(None)
    try:
        for index in indices:
            key = index if random_key is None else random_key(index)
            set_sample_key(SampleKey(seed, epoch, key))
            try:
                crash_watch.loading_sample(index)
                samples.append(dataset[index])
            except Exception as exc:
                add_note(
                    exc, f"gluondata: raised while loading dataset index {index}, {task.describe()}"
                )
                if job.on_bad_sample == "raise":
                    raise
                samples.append(_substitute(job, task, index, exc, bad))
    finally:
        set_sample_key(previous_key)
    return samples.result() if isinstance(samples, ColumnWriter) else samples


def _substitute(
    job: BatchJob, task: BatchTask, index: int, error: Exception, bad: list[BadSample]
) -> Any:
    """A sample in place of ``index``, which failed with ``error``; each failure goes to ``bad``.

    A substitute is computed as in its own place (its own fresh random
    streams), without touching the streams of the batch's other samples. If
    none loads, ``index``'s own error is raised.
    """
    dataset, length = job.dataset, len(job.dataset)
    random_key = getattr(dataset, "random_key", None)
    last, failed = error, index
    for attempt in range(MAX_ATTEMPTS if length > 1 else 0):
        substitute = substitute_index(job.seed, task.epoch, index, attempt, length)
        bad.append(BadSample(task.epoch, failed, describe_error(last), substitute))
        key = substitute if random_key is None else random_key(substitute)
        set_sample_key(SampleKey(job.seed, task.epoch, key))
        try:
            crash_watch.loading_sample(substitute)
            with new_streams():
                return dataset[substitute]
        except Exception as exc:
            last, failed = exc, substitute
    if length > 1:
        tried = (
            f"so did the {MAX_ATTEMPTS} samples tried in its place "
            f"(the last, index {failed}: {describe_error(last)})"
        )
    else:
        tried = "the dataset has no other sample to put in its place"
    add_note(error, f"gluondata: dataset index {index} failed to load, and {tried}")
    raise error


def add_note(exc: BaseException, note: str) -> None:
    """Attach ``note`` to ``exc`` (shown under its traceback from Python 3.11)."""
    if hasattr(exc, "add_note"):
        exc.add_note(note)
    else:
        exc.__notes__ = [*getattr(exc, "__notes__", []), note]
