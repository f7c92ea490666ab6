"""The loop a worker process runs: receive tasks, write batches into slots, reply."""

from __future__ import annotations

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

from .._alloc import Arena, arena
from .._fetch import BatchJob, BatchTask, portable_error, run_batch
from ..random import seed_globals
from .codec import encode
from .info import WorkerInfo, set_worker_info

__all__ = ["worker_main"]

_PARENT_CHECK_SECONDS = 0.5
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
) -> None:
    """Serve batch tasks from ``conn`` until told to stop or the parent goes away.

    Messages in: ``("slot", id, size)`` followed by the slot's descriptor,
    ``("drop", id)``, ``("run", task_id, batch_tasks, slot_id)``, or ``None``.
    Messages out: ``("done", task_id, outcomes, needed_bytes, seconds)``,
    with one ``(payload, error)`` outcome per batch; all batches of a task
    share its slot.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent(parent_pid)
    _keep_heap_warm()
    set_worker_info(WorkerInfo(worker_id, num_workers, job.seed, job.dataset))
    seed_globals(job.seed, worker_id)
    init_error = None
    if worker_init_fn is not None:
        try:
            worker_init_fn(worker_id)
        except Exception as exc:
            init_error = portable_error(exc)
    slots: dict[int, mmap.mmap] = {}
    while True:
        try:
            message = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            return
        if message is None:
            return
        kind = message[0]
        if kind == "slot":
            fd = reduction.recv_handle(conn)
            slots[message[1]] = mmap.mmap(fd, message[2], flags=_MAP_FLAGS)
            os.close(fd)
        elif kind == "drop":
            slot = slots.pop(message[1], None)
            if slot is not None:
                slot.close()
        elif kind == "run":
            _, task_id, tasks, slot_id = message
            start = time.perf_counter()
            outcomes, needed = _compute(job, tasks, slots.get(slot_id), init_error)
            reply = ("done", task_id, outcomes, needed, time.perf_counter() - start)
            conn.send_bytes(pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL))


def _compute(
    job: BatchJob,
    tasks: list[BatchTask],
    slot: mmap.mmap | None,
    init_error: Exception | None,
) -> tuple[list[tuple[bytes | None, Exception | None]], int]:
    """Compute the batches of one task into ``slot``; return outcomes and the bytes needed."""
    if init_error is not None:
        return [(None, init_error)] * len(tasks), 0
    task_arena = None if slot is None else Arena(slot)
    outcomes: list[tuple[bytes | None, Exception | None]] = []
    array_bytes = 0
    for task in tasks:
        try:
            with arena(task_arena):
                batch = run_batch(job, task)
            payload, nbytes = encode(batch, task_arena)
        except Exception as exc:
            outcomes.append((None, portable_error(exc)))
            continue
        outcomes.append((payload, None))
        array_bytes += nbytes
    needed = array_bytes if task_arena is None else max(array_bytes, task_arena.needed)
    return outcomes, needed


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
    """Exit this worker soon after the main process is gone (even ``kill -9``)."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(_PARENT_CHECK_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="gluondata-parent-watch", daemon=True).start()
