"""The loop a worker process runs: receive tasks, write batches into slots, reply."""

from __future__ import annotations

import collections
import ctypes
import mmap
import os
import pickle
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from multiprocess import reduction

from ..._stages import PICKLED, STAGES, next_record, restart_sampling
from ...image import set_backend
from ...random import seed_globals
from .. import crash_watch
from ..alloc import Arena, arena, undone_on_error
from ..bad_samples import BadSample
from ..fetch import BatchJob, BatchTask, add_note, portable_error, run_batch
from ..worker_info import WorkerInfo, set_worker_info
from .codec import encode, measure

__all__ = ["worker_main"]

_PARENT_CHECK_SECONDS = 0.5
_HANDOVER = STAGES.index("handover")
# below this, pickling a batch through the pipe is cheaper than asking for a slot
_ASK_FOR_SLOT_BYTES = 1 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc mallopt parameters
# map slots with their pages already in place: a worker writes every byte anyway
_MAP_FLAGS = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)


def worker_main(
    worker_id: int,
    num_workers: int,
    conn: Any,
    job: BatchJob,
    worker_init_fn: Callable[[int], None] | None,
    parent_pid: int,
    progress: Any,
) -> None:
    """Serve batch tasks from ``conn`` until told to stop or the parent goes away.

    Messages in: ``("slot", id, size)`` followed by the slot's descriptor,
    ``("drop", id)``, ``("run", task_id, batch_tasks, slot_id)``,
    ``("grant", slot_id)`` (an answer to "need"), ``("verdicts", ...)`` (see
    :class:`~gluondata._loader.crash_watch.Verdicts`), or ``None``.
    ``progress`` is the shared cell where the worker records which task, batch
    and sample it is on. Messages out: ``("ready",)`` once started,
    ``("need", task_id, nbytes)`` when a task came without a
    slot and its batches turned out large, and ``("done", task_id, outcomes,
    needed_bytes, seconds, timings)`` with one ``(payload, error, bad_samples)`` outcome and
    one stage-time record per batch; all batches of a task share its slot.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent(parent_pid)
    _keep_heap_warm()
    set_worker_info(WorkerInfo(worker_id, num_workers, job.seed, job.dataset))
    seed_globals(job.seed, worker_id)
    set_backend(job.image_backend)
    crash_watch.install(progress)
    restart_sampling()  # (a forked worker inherits the parent thread's sampling count)
    init_error = None
    if worker_init_fn is not None:
        try:
            worker_init_fn(worker_id)
        except Exception as exc:
            init_error = portable_error(exc)
    _Server(conn, job, init_error).serve()


class _Server:
    """A worker's state: its pipe, the slots it has mapped, messages set aside."""

    def __init__(self, conn: Any, job: BatchJob, init_error: Exception | None) -> None:
        self.conn = conn
        self.job = job
        self.init_error = init_error
        self.slots: dict[int, mmap.mmap] = {}
        self.set_aside: collections.deque[Any] = collections.deque()

    def serve(self) -> None:
        self._send(("ready",))
        while (message := self._next()) is not None:
            if message[0] == "run":
                self._run(*message[1:])
            else:
                self._apply(message)

    def _next(self) -> Any:
        if self.set_aside:
            return self.set_aside.popleft()
        try:
            return pickle.loads(self.conn.recv_bytes())
        except (EOFError, OSError):
            return None

    def _apply(self, message: Any) -> None:
        kind = message[0]
        if kind == "slot":
            fd = reduction.recv_handle(self.conn)
            self.slots[message[1]] = mmap.mmap(fd, message[2], flags=_MAP_FLAGS)
            os.close(fd)
        elif kind == "drop":
            slot = self.slots.pop(message[1], None)
            if slot is not None:
                slot.close()
        elif kind == "verdicts":
            crash_watch.update(*message[1:])

    def _send(self, message: Any) -> None:
        self.conn.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))

    def _run(self, task_id: int, tasks: list[BatchTask], slot_id: int | None) -> None:
        start = time.perf_counter()
        self.timings: list[list[int]] = []
        crash_watch.running_task(task_id)
        if self.init_error is not None:
            outcomes, needed = [(None, self.init_error, ())] * len(tasks), 0
        elif slot_id in self.slots:
            outcomes, needed = self._compute_into(tasks, Arena(self.slots[slot_id]))
        else:
            outcomes, needed = self._compute_then_place(task_id, tasks)
        crash_watch.running_task(crash_watch.IDLE)
        seconds = time.perf_counter() - start
        self._send(("done", task_id, outcomes, needed, seconds, self.timings))

    def _compute_into(self, tasks: list[BatchTask], task_arena: Arena) -> tuple[list[Any], int]:
        """Compute each batch straight into the task's slot."""
        outcomes = []
        array_bytes = 0
        for task in tasks:
            bad: list[BadSample] = []
            record = next_record()
            try:  # (a failed batch's columns are free for the next)
                with arena(task_arena), undone_on_error():
                    batch = run_batch(self.job, task, bad, record)
            except Exception as exc:
                outcomes.append((None, portable_error(exc), tuple(bad)))
                continue
            overflow, start = task_arena.overflow, time.perf_counter_ns()
            try:
                payload, nbytes = encode(batch, task_arena)
            except Exception as exc:
                outcomes.append((None, _unsendable(exc, task), tuple(bad)))
                continue
            if record is not None:
                record[_HANDOVER] += time.perf_counter_ns() - start
                record[PICKLED] = int(task_arena.overflow > overflow)
                self.timings.append(record)
            outcomes.append((payload, None, tuple(bad)))
            array_bytes += nbytes
        return outcomes, max(array_bytes, task_arena.needed)

    def _compute_then_place(self, task_id: int, tasks: list[BatchTask]) -> tuple[list[Any], int]:
        """Compute batches of unknown size, then ask for a slot to put them in.

        Large batches are copied into the slot the main process grants;
        small ones (or all, if it has none to give) travel pickled.
        """
        batches: list[Any] = []
        needed = 0
        for task in tasks:
            bad: list[BadSample] = []
            record = next_record()
            if record is not None:
                self.timings.append(record)
            try:
                batch = run_batch(self.job, task, bad, record)
            except Exception as exc:
                batches.append((None, portable_error(exc), tuple(bad)))
                continue
            try:
                needed += measure(batch)
            except Exception as exc:
                batches.append((None, _unsendable(exc, task), tuple(bad)))
                continue
            batches.append((batch, None, tuple(bad)))
        start = time.perf_counter_ns()
        task_arena = None
        if needed >= _ASK_FOR_SLOT_BYTES:
            slot = self._ask_for_slot(task_id, needed)
            task_arena = None if slot is None else Arena(slot)
        outcomes = []
        for task, (batch, error, bad) in zip(tasks, batches, strict=True):
            if error is not None:
                outcomes.append((None, error, bad))
                continue
            try:
                outcomes.append((encode(batch, task_arena)[0], None, bad))
            except Exception as exc:
                outcomes.append((None, _unsendable(exc, task), bad))
        handover_share = (time.perf_counter_ns() - start) // len(tasks)
        pickled = int(task_arena is None or task_arena.overflow > 0)
        for record in self.timings:
            record[_HANDOVER] += handover_share
            record[PICKLED] = pickled
        return outcomes, needed

    def _ask_for_slot(self, task_id: int, nbytes: int) -> mmap.mmap | None:
        self._send(("need", task_id, nbytes))
        while (message := self._next()) is not None:
            if message[0] == "grant":
                return self.slots.get(message[1])
            if message[0] == "run":
                self.set_aside.append(message)
            else:
                self._apply(message)
        self.set_aside.append(None)
        return None


def _keep_heap_warm() -> None:
    """Let glibc keep freed sample buffers instead of returning them to the system.

    A worker allocates and frees the same large sample buffers for every
    batch; by default glibc gives them back and faults fresh pages in next
    time, which made copying samples three to four times slower. The
    worker's memory stays flat at its peak instead.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)
    libc.mallopt(_M_TRIM_THRESHOLD, 256 << 20)


def _exit_with_parent(parent_pid: int) -> None:
    """Exit this worker soon after the main process is gone (even ``kill -9``).

    The worker's parent is the main process under fork and spawn, and the fork
    server under forkserver (which exits when the main process does): either
    way the worker is re-parented when it goes, and a main process that is gone
    before the watch starts is caught by its pid.
    """
    started_under = os.getppid()

    def watch() -> None:
        while os.getppid() == started_under and _alive(parent_pid):
            time.sleep(_PARENT_CHECK_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="gluondata-parent-watch", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but not ours to signal
        pass
    return True


def _unsendable(exc: Exception, task: BatchTask) -> Exception:
    """The error of a batch that cannot be pickled to the main process, naming it and why."""
    add_note(
        exc,
        f"gluondata: {task.describe()} was computed but cannot cross to the main process: "
        "every value in a sample must be picklable (not a generator, lock or open file); "
        "the worker goes on with the next batch",
    )
    return portable_error(exc)
