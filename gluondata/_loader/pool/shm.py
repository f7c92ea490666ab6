"""Shared memory without names: memfd (or an unlinked temp file) passed as a file descriptor.

Nothing here has a name in ``/dev/shm`` or on disk, so nothing can outlive
the processes that map it: the memory is freed when the last process holding
a descriptor or mapping exits, even after ``kill -9``.

A memfd lives outside ``/dev/shm`` and has no size limit of its own, so it
cannot run out of space (SIGBUS) the way a full ``/dev/shm`` does; its pages
are allocated when a worker maps it with ``MAP_POPULATE``. The temp-file
fallback reserves its blocks with ``posix_fallocate``, so a full disk is an
error when the block is made, never a SIGBUS later.
"""

from __future__ import annotations

import mmap
import os
import tempfile
import warnings

__all__ = ["SharedBlock", "available_memory"]

_warned_fallback = False


class SharedBlock:
    """A block of shared memory, mapped in this process, shareable by descriptor.

    Parameters
    ----------
    size : int
        Bytes.
    """

    def __init__(self, size: int) -> None:
        self.size = max(int(size), mmap.PAGESIZE)
        self.fd = _reserved_descriptor(self.size)
        self.mapping = mmap.mmap(self.fd, self.size)

    def close_descriptor(self) -> None:
        """Close the descriptor once every worker holds its own; the mapping stays."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _reserved_descriptor(size: int) -> int:
    """Return a descriptor of ``size`` bytes of shared memory (memfd, else a temp file)."""
    global _warned_fallback
    if hasattr(os, "memfd_create"):
        fd = -1
        try:
            fd = os.memfd_create("gluondata-slot", os.MFD_CLOEXEC)
            os.ftruncate(fd, size)
            return fd
        except OSError as err:
            if fd >= 0:
                os.close(fd)
            if not _warned_fallback:
                _warned_fallback = True
                warnings.warn(
                    f"gluondata: could not reserve {size / 2**20:.0f} MiB of shared memory "
                    f"({err.strerror}); using files in {tempfile.gettempdir()} instead "
                    "(slower). Lower DataLoader(shm_budget=...) or prefetch, or free memory.",
                    RuntimeWarning,
                    stacklevel=4,
                )
    with tempfile.TemporaryFile(prefix="gluondata-slot-") as backing:
        fd = os.dup(backing.fileno())
    os.ftruncate(fd, size)
    if hasattr(os, "posix_fallocate"):
        os.posix_fallocate(fd, 0, size)
    return fd


def available_memory() -> int | None:
    """Bytes of memory available to new allocations (Linux ``MemAvailable``), if known."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None
