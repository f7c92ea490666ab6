"""ProcessExecutor: worker processes that write batches into a reused shared-memory ring.

The main process owns everything: which worker runs which task, which slot
each batch is written into, and the workers' health. It waits on the
workers' pipes and process sentinels together, so a worker that dies is
noticed at once; its unfinished tasks are given to a fresh worker (up to
``max_worker_restarts`` times per epoch), so the epoch still yields every
index exactly once. Each worker records the sample it is loading in a shared
cell (``crash_watch``): a sample that kills a worker twice becomes a bad
sample instead of a death sentence for the run. Past the budget, the epoch
fails with one error and the next epoch starts afresh.
"""

from __future__ import annotations

import collections
import contextlib
import gc
import itertools
import os
import pickle
import signal
import threading
import time
import warnings
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import multiprocess
from multiprocess import connection, reduction

from .. import crash_watch
from ..executors import BatchTimeout
from ..fetch import BatchJob, BatchTask, Outcome, TaskResult
from .codec import decode
from .main_guard import check_not_bootstrapping, describe_unguarded, unguarded_main_script
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


_SHOWN_BATCHES = 8


class WorkerDiedError(RuntimeError):
    """Worker processes died (signal or exit) more often in an epoch than the loader may restart.

    The epoch ends with this error (raised once); the next epoch starts fresh workers.

    Attributes
    ----------
    deaths : list of str
        Each death of the epoch: the worker, its pid, and its exit code or signal.
    undelivered : list of (int, int, list of int)
        ``(epoch, position, indices)`` of each batch that was under way and not delivered
        (batches of the epoch not yet started are not listed).
    """

    def __init__(
        self,
        message: str,
        deaths: list[str] | None = None,
        undelivered: list[tuple[int, int, list[int]]] | None = None,
    ) -> None:
        super().__init__(message)
        self.deaths = deaths or []
        self.undelivered = undelivered or []

    def __reduce__(self) -> Any:
        return type(self), (str(self), self.deaths, self.undelivered)


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
    progress: Any  # the shared cell (task, position, index) the worker writes; see crash_watch
    ready: bool = False  # it said it started (a death before that is a start-up failure)
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
        Workers that die are restarted this many times per epoch (a sample that
        killed a worker twice is then a bad sample, not loaded again); one death
        more ends the epoch with a
        :class:`WorkerDiedError`, and the next epoch starts with fresh workers and
        a fresh budget.
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
        self._start_method = self._context.get_start_method()
        self._ring = SlotRing(_budget(shm_budget), on_return=self._slot_returned)
        self._max_restarts = max_worker_restarts
        # per epoch: the budget, the deaths, and the error that ended the epoch
        self._epoch: int | None = None
        self._restarts = 0
        self._deaths: list[str] = []
        self._failure: WorkerDiedError | None = None
        # what worker deaths are pinned on, over the loader's life
        self._verdicts = crash_watch.Verdicts()
        self._deaths_at_index: collections.Counter[tuple[int, int]] = collections.Counter()
        self._deaths_in_batch: collections.Counter[crash_watch.BatchKey] = collections.Counter()
        self._workers: dict[int, _Worker] = {}
        self._tasks: dict[int, _Task] = {}
        self._held: collections.deque[int] = collections.deque()
        self._task_ids = itertools.count()
        self._lock = threading.RLock()
        self._busy = False  # inside a call that holds the lock (see _slot_returned)
        self._closed = False
        self._owner_pid = os.getpid()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock:
            outer, self._busy = self._busy, True
            try:
                yield
            finally:
                self._busy = outer

    def _slot_returned(self) -> None:
        """The loop let a batch go: give its slot to a task that waits for one, now.

        Runs where the batch's last array became garbage (a finalizer), most
        often as the loop takes its next batch, so a worker starts its next
        task while the loop works. Inside a call of this executor (this thread
        or another), that call dispatches instead when it next can.
        """
        if os.getpid() != self._owner_pid or not self._lock.acquire(blocking=False):
            return
        try:
            if not self._busy and not self._closed and self._held:
                self._busy = True
                try:
                    self._dispatch_held()
                finally:
                    self._busy = False
        finally:
            self._lock.release()

    # -- workers -----------------------------------------------------------------

    def _start_worker(self, worker_id: int) -> None:
        check_not_bootstrapping(self._start_method)
        ours, theirs = self._context.Pipe(duplex=True)
        progress = self._context.RawArray("q", 3)
        process = self._context.Process(
            target=worker_main,
            args=(
                worker_id,
                self._num_workers,
                theirs,
                self._job,
                self._worker_init_fn,
                os.getpid(),
                progress,
            ),
            name=f"gluondata-worker-{worker_id}",
            daemon=True,
        )
        with _frozen_heap(self._start_method == "fork"):
            process.start()
        theirs.close()
        self._workers[worker_id] = _Worker(process, ours, progress)
        if self._verdicts.any():
            _post(ours, self._verdicts.as_message())

    def _ensure_workers(self) -> None:
        if self._closed:
            raise RuntimeError("this DataLoader's workers were shut down by close()")
        for worker_id in range(self._num_workers):
            if worker_id not in self._workers:
                self._start_worker(worker_id)

    def _least_busy_worker(self) -> int:
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
        with self._locked():
            if tasks and tasks[0].epoch != self._epoch:  # a fresh restart budget
                self._epoch, self._restarts, self._deaths = tasks[0].epoch, 0, []
                self._failure = None
            task_id = next(self._task_ids)
            self._tasks[task_id] = _Task(tasks, None)
            if self._failure is not None:  # this epoch is over
                self._tasks[task_id].result = _failed(tasks, self._failure)
                return _PendingTasks(self, task_id)
            self._ensure_workers()
            self._held.append(task_id)
            self._dispatch_held()
            return _PendingTasks(self, task_id)

    def _dispatch_held(self, awaited: Collection[int] = ()) -> None:
        """Send held tasks; until a batch's size is known, only one at a time.

        The first batch travels pickled (no slot fits it yet); holding the
        others back until it returns lets them go straight into slots.
        ``awaited``: the tasks the loop is waiting for now (see
        :meth:`_waits_for_a_slot`).
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
            task_id = self._held[0]
            task = self._tasks[task_id]
            if task.cancelled:
                self._held.popleft()
                del self._tasks[task_id]
                continue
            if self._waits_for_a_slot(len(task.batches)) and not any(
                held in awaited for held in self._held
            ):
                return
            self._held.popleft()
            task.slot_id = self._ring.acquire(len(task.batches))
            self._send(self._least_busy_worker(), task_id)

    def _waits_for_a_slot(self, batches: int) -> bool:
        """Whether a task should wait for a slot to come back rather than make the ring grow.

        In a steady stream the ring needs a slot per task running or queued at
        a worker and one for the batch the loop holds: the slot of the batch
        the loop lets go of as it takes the next goes to a waiting task as soon
        as that batch is garbage (:meth:`_slot_returned`). Slots beyond that
        would only be memory kept for bursts (workers done together while the
        loop is busy or descheduled): past that size, a task waits for the loop
        to let a batch go, unless the loop keeps batches (more than the one it
        holds and the one it is being handed are in use) or waits for this
        very task, or one queued before it (an iterator dropped without being
        closed holds its slots until it is garbage); then the ring grows, up to
        its budget.
        """
        steady = len(self._workers) * self._ring.queue_depth() + 1
        if len(self._ring.blocks) < steady or self._ring.has_free(batches):
            return False
        undelivered = sum(task.slot_id is not None for task in self._tasks.values())
        kept_by_loop = self._ring.in_use() - undelivered
        return kept_by_loop <= 2

    def first_done(self, pending: Sequence[_PendingTasks], timeout: float | None) -> int:
        """Receive from the workers until one of ``pending`` is done; return its position."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._locked():
            while True:
                for position, item in enumerate(pending):
                    if self._tasks[item.task_id].result is not None:
                        return position
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise BatchTimeout
                # e.g. after a cancelled task or a lost worker
                self._dispatch_held([item.task_id for item in pending])
                self._receive(remaining)

    def wait_for(self, task_id: int, timeout: float | None) -> TaskResult:
        """Receive from the workers until task ``task_id`` is done; return its batches."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._locked():
            while True:
                task = self._tasks[task_id]
                if task.result is not None:
                    del self._tasks[task_id]
                    return task.result
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise BatchTimeout
                self._dispatch_held((task_id,))  # e.g. after a cancelled task or a lost worker
                self._receive(remaining)

    def _receive(self, timeout: float | None) -> None:
        by_handle: dict[Any, tuple[str, int, _Worker]] = {}
        for worker_id, worker in self._workers.items():
            by_handle[worker.conn] = ("message", worker_id, worker)
            by_handle[worker.process.sentinel] = ("exit", worker_id, worker)
        for handle in connection.wait(list(by_handle), timeout):
            kind, worker_id, worker = by_handle[handle]
            if self._workers.get(worker_id) is not worker:  # replaced meanwhile
                continue
            if kind == "message":
                self._read_message(worker_id, worker)
            else:
                self._lose_worker(worker_id, _describe_exit(worker.process))

    def _read_message(self, worker_id: int, worker: _Worker) -> bool:
        """Handle one message from a worker; False if its pipe is closed (it is dying)."""
        try:
            message = pickle.loads(worker.conn.recv_bytes())
        except (EOFError, OSError):
            return False
        if message[0] == "ready":
            worker.ready = True
        elif message[0] == "need":
            self._grant(worker_id, *message[1:])
        else:
            self._finish(worker_id, *message[1:])
        return True

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
            with contextlib.suppress(OSError):  # a dead worker: see _post
                reduction.send_handle(worker.conn, block.fd, worker.process.pid)
            worker.known_slots.add(slot_id)

    def _finish(
        self,
        worker_id: int,
        task_id: int,
        outcomes: list[Any],
        needed: int = 0,
        seconds: float = 0.0,
        timings: Sequence[list[int]] = (),
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
        task.result = TaskResult(results, seconds, timings)
        self._dispatch_held()

    def _lose_worker(self, worker_id: int, reason: str, count_restart: bool = True) -> None:
        """Replace a dead (or killed) worker and give its tasks to the living.

        ``count_restart=False`` for a worker the loader killed itself (a timeout).
        """
        worker = self._workers[worker_id]
        while worker.conn.poll(0) and self._read_message(worker_id, worker):
            pass  # results it sent before it died are good
        del self._workers[worker_id]
        worker.conn.close()
        worker.process.join(timeout=_JOIN_SECONDS)
        orphans = sorted(worker.tasks)
        if count_restart:
            self._deaths.append(f"worker {worker_id} (pid {worker.process.pid}) {reason}")
            if not worker.ready and self._start_method != "fork":
                script = unguarded_main_script()
                if script is not None:
                    message = describe_unguarded(script, self._start_method)
                    self._fail_epoch(WorkerDiedError(message, self._deaths))
                    return
            self._pin_death(worker.progress, reason)
            self._restarts += 1
            if self._restarts > self._max_restarts:
                self._fail_epoch(self._past_budget())
                return
        self._start_worker(worker_id)
        for task_id in orphans:
            if self._tasks[task_id].cancelled:
                self._finish(worker_id, task_id, [])
            else:
                self._send(worker_id, task_id)

    def _pin_death(self, progress: Any, reason: str) -> None:
        """Learn from where a worker died.

        A second death on the same dataset index (or in the same batch outside
        any sample) in an epoch makes it lethal: it is not loaded again by this
        loader. A death inside ``__getitems__`` makes the batch load one sample
        at a time, so that a second death can be pinned on its sample.
        """
        task_id, position, index = progress[:]
        task = self._tasks.get(task_id)
        if task_id == crash_watch.IDLE or task is None or task.cancelled:
            return
        epoch = task.batches[0].epoch
        verdicts = self._verdicts
        if index == crash_watch.BATCHED_FETCH:
            verdicts.careful_batches.add((epoch, position))
        elif index >= 0:
            self._deaths_at_index[epoch, index] += 1
            if self._deaths_at_index[epoch, index] != 2:
                return
            verdicts.lethal_indices[index] = f"the worker {reason}"
        else:
            self._deaths_in_batch[epoch, position] += 1
            if self._deaths_in_batch[epoch, position] != 2:
                return
            verdicts.lethal_batches[epoch, position] = f"the worker {reason}"
        self._broadcast_verdicts()  # (only when a verdict changed)

    def _broadcast_verdicts(self) -> None:
        message = self._verdicts.as_message()
        for worker in self._workers.values():
            _post(worker.conn, message)

    def _past_budget(self) -> WorkerDiedError:
        undelivered = [
            (batch.epoch, batch.position, list(map(int, batch.indices)))
            for _, task in sorted(self._tasks.items())
            if not task.cancelled
            for batch in task.batches
        ]
        shown = "; ".join(
            f"batch {position} {indices}" for _, position, indices in undelivered[:_SHOWN_BATCHES]
        )
        more = (
            f"; and {len(undelivered) - _SHOWN_BATCHES} more"
            if len(undelivered) > _SHOWN_BATCHES
            else ""
        )
        return WorkerDiedError(
            f"{len(self._deaths)} worker deaths in epoch {self._epoch}, more than "
            f"max_worker_restarts={self._max_restarts} allows: {'; '.join(self._deaths)}. "
            f"Not delivered: {shown or 'none under way'}{more} (dataset indices; the rest of "
            "the epoch was not started). The next epoch starts fresh workers.",
            list(self._deaths),
            undelivered,
        )

    def _fail_epoch(self, error: WorkerDiedError) -> None:
        """End the epoch: every batch not yet collected fails with ``error``; workers stop."""
        self._failure = error
        self._held.clear()
        for task_id, task in list(self._tasks.items()):
            if task.slot_id is not None and task.result is None:
                self._ring.release(task.slot_id)
            if task.cancelled:
                del self._tasks[task_id]
            else:
                task.result = _failed(task.batches, error)
        workers, self._workers = list(self._workers.values()), {}
        for worker in workers:
            worker.process.kill()
        for worker in workers:
            worker.process.join(timeout=_JOIN_SECONDS)
            worker.conn.close()

    def cancel(self, task_id: int) -> None:
        """Forget a task's batches (its slots come back when the worker is done)."""
        with self._locked():
            task = self._tasks.get(task_id)
            if task is None:
                return
            if task.result is not None:
                del self._tasks[task_id]
            else:
                task.cancelled = True

    @property
    def restarts(self) -> int:
        """Workers restarted in the current epoch."""
        return self._restarts

    @property
    def shared_memory(self) -> tuple[int, int]:
        """Bytes of shared memory the ring's slots hold, and its budget."""
        return self._ring.total_bytes, self._ring.budget

    def describe_worker(self, pending: _PendingTasks) -> str:
        task = self._tasks.get(pending.task_id)
        worker = None if task is None else self._workers.get(task.worker)
        if worker is None:
            return "a worker process"
        return f"worker {task.worker} (pid {worker.process.pid})"

    def replace_worker(self, pending: _PendingTasks) -> None:
        """Kill the worker stuck on ``pending`` and start another in its place."""
        with self._locked():
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
        with self._locked():
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


@contextlib.contextmanager
def _frozen_heap(forking: bool) -> Iterator[None]:
    """Fork with every object the garbage collector knows frozen (``gc.freeze``).

    A forked worker then never collects the main process's objects: a full
    collection there would write to each one's header and copy every page
    that holds one (each worker grew by megabytes at its first full collection).
    The main process unfreezes them as soon as the worker is started. A program
    that froze objects itself manages its collector: it is left as it is.
    """
    if not forking or gc.get_freeze_count() > 0:
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _post(conn: Any, message: Any) -> None:
    """Send a message with the C pickler (tasks and replies hold only plain data).

    A worker that died cannot be written to; that is not an error here: its
    exit is seen on its sentinel, and its tasks go to its replacement then.
    """
    with contextlib.suppress(OSError):
        conn.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))


def _failed(batches: Sequence[BatchTask], error: BaseException) -> TaskResult:
    return TaskResult([Outcome(None, error) for _ in batches], 0.0)


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
