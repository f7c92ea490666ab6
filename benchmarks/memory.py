"""Memory of a runner's process tree as it really is, sampled by a background thread.

Per process (main and every descendant, i.e. the loader's worker processes), psutil's
``memory_full_info()`` (from Linux's ``/proc/PID/smaps_rollup``):

- USS: the pages only this process maps (what killing it would free);
- PSS: every resident page it maps, a page shared by n processes counted 1/n in each, so a
  shared-memory ring or copy-on-write pages inherited by forked workers count once over the tree.
  It includes file-backed pages it has touched (the interpreter's libraries, a memory-mapped
  dataset's pages that the process read).

Added over the tree, PSS is the machine memory the run holds. Its peak is broken down into the
main process (without shared memory), the worker processes (without shared memory) and shared
memory (``Pss_Shmem``: gluondata's ring, PyTorch's shared tensors). Besides, the main process's
``RssAnon`` peak above a baseline (anonymous pages only) shows what batches cost it.

Descendants are found through ``/proc/PID/task/TID/children`` (cheap, so a sample every 20 ms
costs well under a millisecond per process), or with psutil where the kernel lacks that file.
"""

from __future__ import annotations

import gc
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import psutil

INTERVAL_S = 0.02
_KB = 1024
# the kernel lists each thread's children (CONFIG_PROC_CHILDREN); psutil is the fallback
_PROC_CHILDREN = Path(f"/proc/self/task/{os.getpid()}/children").exists()


def _fields(path: str, names: tuple[str, ...]) -> int:
    """Sum the ``Name:  N kB`` lines of a ``/proc`` file named in ``names``; bytes, 0 if gone."""
    total = 0
    try:
        with open(path) as f:
            for line in f:
                name, _, rest = line.partition(":")
                if name in names:
                    total += int(rest.split()[0]) * _KB
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return 0
    return total


def main_anon() -> int:
    """Anonymous resident bytes of this process (``RssAnon``)."""
    return _fields("/proc/self/status", ("RssAnon",))


@dataclass(frozen=True)
class Usage:
    """One process's memory, bytes: ``uss``, ``pss`` and the ``shmem`` part of its PSS."""

    uss: int = 0
    pss: int = 0
    shmem: int = 0


def process_usage(pid: int) -> Usage:
    """USS, PSS (psutil) and ``Pss_Shmem`` of one process; zeros if it has exited."""
    try:
        info = psutil.Process(pid).memory_full_info()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return Usage()
    return Usage(info.uss, info.pss, _fields(f"/proc/{pid}/smaps_rollup", ("Pss_Shmem",)))


def descendants(pid: int) -> list[int]:
    """Process ids of every descendant of ``pid`` (children, their children, ...)."""
    if not _PROC_CHILDREN:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    found: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            files = [t / "children" for t in Path(f"/proc/{parent}/task").iterdir()]
        except (FileNotFoundError, ProcessLookupError):
            continue
        for file in files:
            try:
                kids = [int(k) for k in file.read_text().split()]
            except (FileNotFoundError, ProcessLookupError):
                continue
            found += kids
            todo += kids
    return found


@dataclass(frozen=True)
class TreeUsage:
    """The tree's memory at one moment, bytes.

    ``pss`` and ``uss`` are sums over all processes; ``main``, ``workers`` and ``shared`` split
    ``pss`` into the main process's and the workers' PSS without shared memory, and all
    processes' shared memory.
    """

    pss: int
    uss: int
    main: int
    workers: int
    shared: int
    processes: int


def tree_usage(pid: int | None = None) -> TreeUsage:
    """Memory of process ``pid`` (default: this one) and all its descendants now."""
    pid = os.getpid() if pid is None else pid
    main = process_usage(pid)
    kids = [process_usage(p) for p in descendants(pid)]
    shared = main.shmem + sum(k.shmem for k in kids)
    return TreeUsage(
        pss=main.pss + sum(k.pss for k in kids),
        uss=main.uss + sum(k.uss for k in kids),
        main=main.pss - main.shmem,
        workers=sum(k.pss - k.shmem for k in kids),
        shared=shared,
        processes=1 + len(kids),
    )


class MemorySampler:
    """Peak memory of this process and of its whole tree while the ``with`` block runs.

    The baseline of the main process is taken when the sampler is made (after a garbage
    collection), so make it right after the warm-up epoch.

    Attributes
    ----------
    baseline : int
        The main process's ``RssAnon`` at construction, bytes.
    main_peak : int
        Highest ``RssAnon`` of the main process seen, bytes.
    peak : TreeUsage or None
        The sample with the highest PSS over the tree.
    uss_peak : int
        Highest USS summed over the tree, bytes.
    samples : int
        How many samples were taken.
    """

    def __init__(self, interval: float = INTERVAL_S) -> None:
        gc.collect()
        self.baseline = main_anon()
        self.main_peak = self.baseline
        self.peak: TreeUsage | None = None
        self.uss_peak = 0
        self.samples = 0
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)

    @property
    def tree_peak(self) -> int:
        """Highest PSS summed over the tree, bytes."""
        return self.peak.pss if self.peak else 0

    def sample(self) -> TreeUsage:
        """Take one sample, update the peaks and return it."""
        self.main_peak = max(self.main_peak, main_anon())
        now = tree_usage()
        if self.peak is None or now.pss > self.peak.pss:
            self.peak = now
        self.uss_peak = max(self.uss_peak, now.uss)
        self.samples += 1
        return now

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.sample()

    def __enter__(self) -> MemorySampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()
