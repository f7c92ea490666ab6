"""ProcessExecutor: worker processes that write batches into a reused shared-memory ring.

The main process owns everything: which worker runs which task, which slot
each batch is written into, and the workers' health. It waits on the
workers' pipes and process sentinels together, so a worker that dies is
noticed at once; its unfinished tasks are given to a fresh worker (up to
``max_worker_restarts`` times), so the epoch still yields every index
exactly once.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import os
import pickle
import signal
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import multiprocess
from multiprocess import connection, reduction

from ..executors import BatchTimeout
from ..fetch import BatchJob, BatchTask, Outcome, TaskResult
from .codec import decode
from .ring import SlotRing
from .shm import available_memory
from .worker import worker_main

__all__ = ["ProcessExecutor", "WorkerDiedError"]

_JOIN_SECONDS = 1.0


def _forget_parents_children() -> None:
    """In a child made by ``os.fork()``: the parent's processes are not this one's children.

    Without this, ``multiprocess`` would SIGTERM and join the parent's daemonic
    workers when the child exits (its atexit hook walks the inherited list).
    """
    multiprocess.process._children.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_parents_children)
_DEFAULT_BUDGET_FRACTION = 4
_MAX_DEFAULT_BUDGET = 4 << 30


class WorkerDiedError(RuntimeError):
    """A worker process died (signal or exit) more often than the loader may restart one."""


@dataclass
class _Task:
    """A group of batches sent to a worker, and what became of it."""

    batches: Sequence[BatchTask]
    slot_id: int | None
    worker: int = -1
    result: TaskResult | None = None
    cancelled: bool = False


@dataclass
class _Worker:
    process: Any
    conn: Any
    known_slots: set[int] = field(default_factory=set)
    tasks: set[int] = field(default_factory=set)


class _PendingTasks:
    """A task submitted to the pool; ``result`` drives the pool until it is done."""

    def __init__(self, executor: ProcessExecutor, task_id: int) -> None:
        self._executor = executor
        self.task_id = task_id

    def result(self, timeout: float | None = None) -> TaskResult:
        return self._executor.wait_for(self.task_id, timeout)

    def cancel(self) -> bool:
        self._executor.cancel(self.task_id)
        return True


class ProcessExecutor:
    """Run batches in worker processes; batches come back through shared memory.

    Parameters
    ----------
    job : BatchJob
        The loader's shared settings, given to each worker once, at its start.
    num_workers : int
        Number of processes.
    worker_init_fn : callable, optional
        Called as ``worker_init_fn(worker_id)`` in each process as it starts.
    start_method : {None, 'fork', 'spawn', 'forkserver'}
        How processes start (None: the platform's default).
    shm_budget : int, optional
        Most bytes of shared memory for batches; default a quarter of the
        available memory, at most 4 GiB.
    max_worker_restarts : int, default 3
        Workers that die are restarted this many times per epoch; after that,
        the batches a dead worker held fail with :class:`WorkerDiedError`, and
        the next epoch starts with fresh workers and a fresh budget.
    """

    runs_in_caller = False
    # waking a sleeping worker and back can take a millisecond or two (seen on VMs)
    task_seconds = 0.004

    def __init__(
        self,
        job: BatchJob,
        num_workers: int,
        worker_init_fn: Callable[[int], None] | None = None,
        start_method: str | None = None,
        shm_budget: int | None = None,
        max_worker_restarts: int = 3,
    ) -> None:
        self._job = job
        self._num_workers = num_workers
        self._worker_init_fn = worker_init_fn
        self._context = multiprocess.get_context(start_method)
        self._ring = SlotRing(_budget(shm_budget))
        self._max_restarts = max_worker_restarts
        self._restarts = 0  # in the current epoch: the budget is per epoch
        self._epoch: int | None = None
        self._workers: dict[int, _Worker] = {}
        self._tasks: dict[int, _Task] = {}
        self._held: collections.deque[int] = collections.deque()
        self._task_ids = itertools.count()
        self._lock = threading.RLock()
        self._closed = False
        self._owner_pid = os.getpid()

    # -- workers -----------------------------------------------------------------

    def _start_worker(self, worker_id: int) -> None:
        ours, theirs = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=worker_main,
            args=(
                worker_id,
                self._num_workers,
                theirs,
                self._job,
                self._worker_init_fn,
                os.getpid(),
            ),
            name=f"gluondata-worker-{worker_id}",
            daemon=True,
        )
        process.start()
        theirs.close()
        self._workers[worker_id] = _Worker(process, ours)

    def _ensure_workers(self) -> None:
        if self._closed:
            raise RuntimeError("this DataLoader's workers were shut down by close()")
        if self._restarts <= self._max_restarts:  # (past it, lost workers stay lost this epoch)
            for worker_id in range(self._num_workers):
                if worker_id not in self._workers:
                    self._start_worker(worker_id)

    def _least_busy_worker(self) -> int:
        if not self._workers:
            raise WorkerDiedError(
                f"every worker died ({self._restarts} deaths, max_worker_restarts="
                f"{self._max_restarts}); close() the loader to start new workers"
            )
        return min(self._workers, key=lambda w: len(self._workers[w].tasks))

    def _send(self, worker_id: int, task_id: int) -> None:
        worker, task = self._workers[worker_id], self._tasks[task_id]
        for slot_id in self._ring.take_dropped():
            for other in self._workers.values():
                if slot_id in other.known_slots:
                    other.known_slots.discard(slot_id)
                    _post(other.conn, ("drop", slot_id))
        if task.slot_id is not None:
            self._announce_slot(worker, task.slot_id)
        _post(worker.conn, ("run", task_id, task.batches, task.slot_id))
        worker.tasks.add(task_id)
        task.worker = worker_id

    # -- the executor protocol ---------------------------------------------------

    def submit(self, tasks: Sequence[BatchTask]) -> _PendingTasks:
        with self._lock:
            if tasks and tasks[0].epoch != self._epoch:  # a fresh restart budget
                self._epoch, self._restarts = tasks[0].epoch, 0
            self._ensure_workers()
            task_id = next(self._task_ids)
            self._tasks[task_id] = _Task(tasks, None)
            self._held.append(task_id)
            self._dispatch_held()
            return _PendingTasks(self, task_id)

    def _dispatch_held(self) -> None:
        """Send held tasks; until a batch's size is known, only one at a time.

        The first batch travels pickled (no slot fits it yet); holding the
        others back until it returns lets them go straight into slots.
        """
        while self._held:
            if self._ring.batch_bytes == 0 and any(
                task.worker >= 0 and task.result is None for task in self._tasks.values()
            ):
                return
            if self._workers and all(  # a slot only for a task about to run (ring.py)
                len(w.tasks) >= self._ring.queue_depth() for w in self._workers.values()
            ):
                return
            task_id = self._held.popleft()
            task = self._tasks[task_id]
            if task.cancelled:
                del self._tasks[task_id]
                continue
            task.slot_id = self._ring.acquire(len(task.batches))
            self._send(self._least_busy_worker(), task_id)

    def first_done(self, pending: Sequence[_PendingTasks], timeout: float | None) -> int:
        """Receive from the workers until one of ``pending`` is done; return its position."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while True:
                for position, item in enumerate(pending):
                    if self._tasks[item.task_id].result is not None:
                        return position
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise BatchTimeout
                self._dispatch_held()  # e.g. after a cancelled task or a lost worker
                self._receive(remaining)

    def wait_for(self, task_id: int, timeout: float | None) -> TaskResult:
        """Receive from the workers until task ``task_id`` is done; return its batches."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while True:
                task = self._tasks[task_id]
                if task.result is not None:
                    del self._tasks[task_id]
                    return task.result
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise BatchTimeout
                self._dispatch_held()  # e.g. after a cancelled task or a lost worker
                self._receive(remaining)

    def _receive(self, timeout: float | None) -> None:
        by_handle: dict[Any, tuple[str, int]] = {}
        for worker_id, worker in self._workers.items():
            by_handle[worker.conn] = ("message", worker_id)
            by_handle[worker.process.sentinel] = ("exit", worker_id)
        for handle in connection.wait(list(by_handle), timeout):
            kind, worker_id = by_handle[handle]
            if worker_id not in self._workers:
                continue
            if kind == "message":
                try:
                    message = pickle.loads(handle.recv_bytes())
                except (EOFError, OSError):
                    continue
                if message[0] == "need":
                    self._grant(worker_id, *message[1:])
                else:
                    self._finish(worker_id, *message[1:])
            else:
                self._lose_worker(worker_id, _describe_exit(self._workers[worker_id].process))

    def _grant(self, worker_id: int, task_id: int, nbytes: int) -> None:
        """Answer a worker whose task came without a slot: give it one, if there is room."""
        task = self._tasks[task_id]
        self._ring.note_needed(nbytes, len(task.batches))
        task.slot_id = self._ring.acquire(len(task.batches))
        if task.slot_id is not None:
            self._announce_slot(self._workers[worker_id], task.slot_id)
        _post(self._workers[worker_id].conn, ("grant", task.slot_id))
        self._dispatch_held()

    def _announce_slot(self, worker: _Worker, slot_id: int) -> None:
        if slot_id not in worker.known_slots:
            block = self._ring.blocks[slot_id]
            _post(worker.conn, ("slot", slot_id, block.size))
            reduction.send_handle(worker.conn, block.fd, worker.process.pid)
            worker.known_slots.add(slot_id)

    def _finish(
        self,
        worker_id: int,
        task_id: int,
        outcomes: list[Any],
        needed: int = 0,
        seconds: float = 0.0,
    ) -> None:
        self._workers[worker_id].tasks.discard(task_id)
        task = self._tasks.get(task_id)
        if task is None:
            return
        self._ring.note_needed(needed, len(task.batches))
        if task.cancelled:
            del self._tasks[task_id]
            if task.slot_id is not None:
                self._ring.release(task.slot_id)
            return
        lease = _LazyLease(self._ring, task.slot_id)
        results = [
            Outcome(None, error, bad)
            if error is not None
            else Outcome(decode(payload, lease), None, bad)
            for payload, error, bad in outcomes
        ]
        if task.slot_id is not None and not lease.used:
            self._ring.release(task.slot_id)
        task.result = TaskResult(results, seconds)
        self._dispatch_held()

    def _lose_worker(self, worker_id: int, reason: str, count_restart: bool = True) -> None:
        """Replace a dead (or killed) worker and give its tasks to the living."""
        worker = self._workers.pop(worker_id)
        worker.conn.close()
        worker.process.join(timeout=_JOIN_SECONDS)
        orphans = sorted(worker.tasks)
        if count_restart:
            self._restarts += 1
        if self._restarts > self._max_restarts:
            for task_id in orphans:
                task = self._tasks[task_id]
                if task.cancelled:
                    self._finish(worker_id, task_id, [])
                    continue
                indices = [list(map(int, b.indices)) for b in task.batches]
                error = WorkerDiedError(
                    f"worker {worker_id} (pid {worker.process.pid}) {reason}, and the loader "
                    f"already restarted workers {self._max_restarts} times "
                    f"(max_worker_restarts); lost dataset indices {indices}"
                )
                task.result = TaskResult([Outcome(None, error) for _ in task.batches], 0.0)
            return
        self._start_worker(worker_id)
        for task_id in orphans:
            if self._tasks[task_id].cancelled:
                self._finish(worker_id, task_id, [])
            else:
                self._send(worker_id, task_id)

    def cancel(self, task_id: int) -> None:
        """Forget a task's batches (its slots come back when the worker is done)."""
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None:
                return
            if task.result is not None:
                del self._tasks[task_id]
            else:
                task.cancelled = True

    def describe_worker(self, pending: _PendingTasks) -> str:
        task = self._tasks.get(pending.task_id)
        worker = None if task is None else self._workers.get(task.worker)
        if worker is None:
            return "a worker process"
        return f"worker {task.worker} (pid {worker.process.pid})"

    def replace_worker(self, pending: _PendingTasks) -> None:
        """Kill the worker stuck on ``pending`` and start another in its place."""
        with self._lock:
            task = self._tasks.get(pending.task_id)
            if task is None or task.worker not in self._workers:
                return
            task.cancelled = True
            worker = self._workers[task.worker]
            worker.process.kill()
            self._lose_worker(task.worker, "timed out", count_restart=False)

    def close(self) -> None:
        """Stop the workers (at once if they do not stop by themselves within a second).

        In a process forked from the one that made the pool (a ``subprocess`` or
        ``multiprocessing`` child, a checkpoint writer), this only forgets the
        pool: the workers are the parent's, and the parent keeps using them.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if os.getpid() != self._owner_pid:
                self._workers, self._tasks = {}, {}
                return
            workers, self._workers = list(self._workers.values()), {}
            for worker in workers:
                with contextlib.suppress(Exception):
                    _post(worker.conn, None)
            deadline = time.monotonic() + _JOIN_SECONDS
            for worker in workers:
                worker.process.join(timeout=max(0.0, deadline - time.monotonic()))
                if worker.process.is_alive():
                    worker.process.kill()
                    worker.process.join(timeout=_JOIN_SECONDS)
                worker.conn.close()
            self._tasks.clear()
            self._ring.close()


def _post(conn: Any, message: Any) -> None:
    """Send a message with the C pickler (tasks and replies hold only plain data)."""
    conn.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))


class _LazyLease:
    """The slot's memory for the views of one task's batches, leased on first use."""

    def __init__(self, ring: SlotRing, slot_id: int | None) -> None:
        self._ring = ring
        self._slot_id = slot_id
        self._owner: Any = None

    @property
    def used(self) -> bool:
        """Whether any array views the slot."""
        return self._owner is not None

    def __call__(self) -> Any:
        if self._owner is None:
            if self._slot_id is None:
                raise AssertionError("a batch sent without a slot referenced one")
            self._owner = self._ring.lease(self._slot_id)
        return self._owner


def _describe_exit(process: Any) -> str:
    process.join(timeout=_JOIN_SECONDS)
    code = process.exitcode
    if code is None:
        return "stopped answering"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name}"
    return f"exited with code {code}"


def _budget(asked: int | None) -> int:
    """The ring's byte budget: what was asked, within the memory that is available."""
    available = available_memory()
    if asked is None:
        if available is None:
            return _MAX_DEFAULT_BUDGET // _DEFAULT_BUDGET_FRACTION
        return min(available // _DEFAULT_BUDGET_FRACTION, _MAX_DEFAULT_BUDGET)
    if available is not None and asked > available // 2:
        warnings.warn(
            f"gluondata: shm_budget={asked / 2**20:.0f} MiB is more than half of the "
            f"{available / 2**20:.0f} MiB available; using {available // 2 / 2**20:.0f} MiB. "
            "Lower shm_budget or prefetch to silence this.",
            RuntimeWarning,
            stacklevel=5,
        )
        return available // 2
    return int(asked)
