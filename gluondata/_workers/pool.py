"""A process executor on ``multiprocess.Pool``: batches come back pickled.

Each worker receives the loader's job once, when it starts, and runs batch
tasks with :func:`gluondata._fetch.run_batch`. ``multiprocess`` pickles with
dill, so lambdas and closures work as transforms and batchify functions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import multiprocess

from .._executors import BatchTimeout
from .._fetch import BatchJob, BatchTask, TaskResult, run_tasks

__all__ = ["ProcessExecutor"]

_job: BatchJob | None = None


def _initialize(job: BatchJob, counter: Any, worker_init_fn: Callable[[int], None] | None) -> None:
    global _job
    _job = job
    with counter.get_lock():
        worker_id = counter.value
        counter.value += 1
    if worker_init_fn is not None:
        worker_init_fn(worker_id)


def _run(tasks: Sequence[BatchTask]) -> TaskResult:
    assert _job is not None, "worker started without a job"
    return run_tasks(_job, tasks, remote=True)


class _PoolTasks:
    """Batches submitted to the pool."""

    def __init__(self, async_result: Any) -> None:
        self._async_result = async_result

    def result(self, timeout: float | None = None) -> TaskResult:
        self._async_result.wait(timeout)
        if not self._async_result.ready():
            raise BatchTimeout
        return self._async_result.get()

    def cancel(self) -> bool:
        return False


class ProcessExecutor:
    """Run batches in ``num_workers`` processes.

    Parameters
    ----------
    job : BatchJob
        The loader's shared settings, sent to each worker once.
    num_workers : int
        Number of processes.
    worker_init_fn : callable, optional
        Called as ``worker_init_fn(worker_id)`` in each process as it starts.
    """

    runs_in_caller = False

    def __init__(
        self,
        job: BatchJob,
        num_workers: int,
        worker_init_fn: Callable[[int], None] | None = None,
    ) -> None:
        self._job = job
        self._num_workers = num_workers
        self._worker_init_fn = worker_init_fn
        self._pool: Any = None

    def _ensure_pool(self) -> Any:
        if self._pool is None:
            counter = multiprocess.Value("i", 0)
            self._pool = multiprocess.Pool(
                self._num_workers,
                initializer=_initialize,
                initargs=(self._job, counter, self._worker_init_fn),
            )
        return self._pool

    def submit(self, tasks: Sequence[BatchTask]) -> _PoolTasks:
        return _PoolTasks(self._ensure_pool().apply_async(_run, (tasks,)))

    def describe_worker(self, pending: Any) -> str:
        return "a worker process"

    def replace_worker(self, pending: Any) -> None:
        """Terminate the pool (its stuck worker with it); the next batch starts a new one."""
        self.close()

    def close(self) -> None:
        """Terminate the worker processes."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.terminate()
