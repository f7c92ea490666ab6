"""Executors: where a loader's batches run (the caller, threads, or processes).

An executor takes groups of batch tasks and returns pending results; the
DataLoader keeps them in sampler order and applies prefetch and timeout.
Everything else (sampling, seeding, errors) is shared and lives outside
executors.
"""

from __future__ import annotations

import concurrent.futures
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Protocol

from .fetch import BatchJob, BatchTask, TaskResult, run_tasks
from .worker_info import WorkerInfo, set_worker_info

__all__ = ["BatchTimeout", "Executor", "InlineExecutor", "PendingTasks", "ThreadExecutor"]


class BatchTimeout(Exception):
    """``PendingTasks.result`` waited ``timeout`` seconds and the tasks are not done."""


class PendingTasks(Protocol):
    """Batches on their way: ``result`` waits for their :class:`TaskResult`.

    ``result`` raises :class:`BatchTimeout` when ``timeout`` passes first.
    """

    def result(self, timeout: float | None = None) -> TaskResult: ...

    def cancel(self) -> bool: ...


class Executor(Protocol):
    """Runs batch tasks for one loader.

    ``task_seconds`` is how long a task should take at least for handing it
    over to be cheap by comparison (the loader groups cheap batches to reach it).
    """

    runs_in_caller: bool
    task_seconds: float

    def submit(self, tasks: Sequence[BatchTask]) -> PendingTasks: ...

    def first_done(self, pending: Sequence[PendingTasks], timeout: float | None) -> int:
        """Wait until one of ``pending`` is done; return its position (BatchTimeout if none)."""
        ...

    def describe_worker(self, pending: PendingTasks) -> str: ...

    def replace_worker(self, pending: PendingTasks) -> None: ...

    def close(self) -> None: ...


class InlineExecutor:
    """No workers: the epoch's iterator computes each batch in the calling thread when the loop
    asks for it (with ``run_batch`` on :attr:`job`: no task, pending result or queue)."""

    runs_in_caller = True

    def __init__(self, job: BatchJob) -> None:
        self.job = job

    def close(self) -> None:
        """Nothing to release."""


class _ThreadFuture(concurrent.futures.Future):
    """A future that remembers which worker thread runs it."""

    worker_id: int | None = None
    thread: int | None = None
    abandoned = False

    def cancel(self) -> bool:
        """Cancel, or, once running, ask the thread to stop between batches."""
        self.abandoned = True
        return super().cancel()

    def is_abandoned(self) -> bool:
        """Whether the loop gave up on these batches."""
        return self.abandoned

    def result(self, timeout: float | None = None) -> TaskResult:
        try:
            return super().result(timeout)
        except concurrent.futures.TimeoutError:
            if self.done():
                raise
            raise BatchTimeout from None


class ThreadExecutor:
    """Run batches on ``num_workers`` daemon threads.

    Daemon threads never block interpreter exit, and a thread stuck in a
    batch is replaced (it exits when its batch finally returns).

    Parameters
    ----------
    job : BatchJob
        The loader's shared settings.
    num_workers : int
        Number of threads.
    worker_init_fn : callable, optional
        Called as ``worker_init_fn(worker_id)`` in each thread before its first batch.
    """

    runs_in_caller = False
    task_seconds = 0.0005

    def __init__(
        self,
        job: BatchJob,
        num_workers: int,
        worker_init_fn: Callable[[int], None] | None = None,
    ) -> None:
        self._job = job
        self._num_workers = num_workers
        self._worker_init_fn = worker_init_fn
        self._tasks: queue.SimpleQueue[tuple[_ThreadFuture, Sequence[BatchTask]] | None] = (
            queue.SimpleQueue()
        )
        self._lock = threading.Lock()
        self._retired: set[int] = set()
        self._live_threads = 0
        self._closed = False
        for worker_id in range(num_workers):
            self._start(worker_id)

    def _start(self, worker_id: int) -> None:
        with self._lock:
            self._live_threads += 1
        thread = threading.Thread(
            target=self._work, args=(worker_id,), name=f"gluondata-worker-{worker_id}", daemon=True
        )
        thread.start()

    def _work(self, worker_id: int) -> None:
        set_worker_info(WorkerInfo(worker_id, self._num_workers, self._job.seed, self._job.dataset))
        init_error: BaseException | None = None
        if self._worker_init_fn is not None:
            try:
                self._worker_init_fn(worker_id)
            except Exception as exc:
                init_error = exc
        while (item := self._tasks.get()) is not None:
            future, tasks = item
            if not future.set_running_or_notify_cancel():
                continue
            future.worker_id = worker_id
            future.thread = threading.get_ident()
            try:
                if init_error is not None:
                    raise init_error
                future.set_result(run_tasks(self._job, tasks, future.is_abandoned))
            except BaseException as exc:
                future.set_exception(exc)
            finally:
                del future, item
            with self._lock:
                if threading.get_ident() in self._retired:
                    self._retired.discard(threading.get_ident())
                    self._live_threads -= 1
                    return

    def submit(self, tasks: Sequence[BatchTask]) -> PendingTasks:
        if self._closed:
            raise RuntimeError("this DataLoader's worker threads were shut down by close()")
        future = _ThreadFuture()
        self._tasks.put((future, tasks))
        return future

    def first_done(self, pending: Sequence[PendingTasks], timeout: float | None) -> int:
        done, _ = concurrent.futures.wait(
            pending, timeout, return_when=concurrent.futures.FIRST_COMPLETED
        )
        for position, future in enumerate(pending):
            if future in done:
                return position
        raise BatchTimeout

    def describe_worker(self, pending: PendingTasks) -> str:
        worker_id = getattr(pending, "worker_id", None)
        return "a worker thread" if worker_id is None else f"worker thread {worker_id}"

    def replace_worker(self, pending: PendingTasks) -> None:
        """Start a thread to stand in for the one stuck in ``pending``.

        The stuck thread exits when its batch finally returns. If ``pending``
        never started (the threads are all stuck elsewhere), a thread is added.
        """
        worker_id, thread = getattr(pending, "worker_id", None), getattr(pending, "thread", None)
        with self._lock:
            if thread is not None:
                self._retired.add(thread)
            if worker_id is None:
                worker_id = self._live_threads
        self._start(worker_id)

    def close(self) -> None:
        """Stop the threads once they finish what they are running."""
        if self._closed:
            return
        self._closed = True
        while True:
            try:
                item = self._tasks.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                item[0].cancel()
        with self._lock:
            live_threads = self._live_threads
        for _ in range(live_threads):
            self._tasks.put(None)
