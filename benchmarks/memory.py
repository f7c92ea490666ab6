"""Memory of a runner's process tree, sampled by a background thread (Linux ``/proc``).

Two figures, neither counting file-backed pages (a memory-mapped dataset's page cache):

- the main process: ``RssAnon`` of ``/proc/self/status`` (anonymous pages only, as the issue's
  target asks), as a peak above a baseline;
- all processes (main and every descendant, i.e. the loader's workers): the sum of
  ``Pss_Anon + Pss_Shmem`` from ``/proc/PID/smaps_rollup``. PSS splits a page shared by n
  processes into n parts, so a shared-memory ring mapped by the main process and the workers, or
  copy-on-write pages inherited by forked workers, count once.

Descendants are found through ``/proc/PID/task/TID/children`` (cheap, so a sample every 20 ms
costs well under a millisecond), or with psutil where the kernel lacks that file.
"""

from __future__ import annotations

import gc
import os
import threading
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


def process_memory(pid: int) -> int:
    """``Pss_Anon + Pss_Shmem`` of one process, in bytes (0 if it has exited)."""
    return _fields(f"/proc/{pid}/smaps_rollup", ("Pss_Anon", "Pss_Shmem"))


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


def workers_memory() -> int | None:
    """Memory of this process's descendants (the workers) now, or None if there are none."""
    pids = descendants(os.getpid())
    return sum(process_memory(p) for p in pids) if pids else None


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
    tree_peak : int
        Highest ``Pss_Anon + Pss_Shmem`` summed over the main process and its descendants.
    samples : int
        How many samples were taken.
    """

    def __init__(self, interval: float = INTERVAL_S) -> None:
        gc.collect()
        self.baseline = main_anon()
        self.main_peak = self.baseline
        self.tree_peak = 0
        self.samples = 0
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)

    def sample(self) -> None:
        """Take one sample and update the peaks."""
        pid = os.getpid()
        self.main_peak = max(self.main_peak, main_anon())
        tree = process_memory(pid) + sum(process_memory(p) for p in descendants(pid))
        self.tree_peak = max(self.tree_peak, tree)
        self.samples += 1

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
