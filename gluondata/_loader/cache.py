"""The store behind ``Dataset.cache``: computed samples, pickled, in one shared file.

One store is one file descriptor: a memfd (nameless shared memory) for an
in-memory cache, or a regular file for a cache on disk. Every process and
thread that uses the dataset reads and writes the same store, so a sample
computed by any worker is there for all of them, held once.

Layout (little-endian)::

    header   magic, sample count, fingerprint (16 bytes), data bytes used
    table    per sample: (offset, size) of its pickle; size 0 = not cached yet
    data     the pickles, appended

Writes go through ``os.pwrite`` (a full disk or an exhausted budget is an
error we catch, never a SIGBUS); reads through a read-only ``mmap``. A sample's
table entry is written after its data, so a reader never sees an entry whose
data is missing. Appending takes a lock: a ``threading.Lock`` between the
threads of a process and a POSIX record lock (``lockf``) on the file
between processes.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import pickle
import struct
import tempfile
import threading
import warnings
import weakref
from typing import Any

__all__ = ["CacheStore"]

_MAGIC = b"GDCACHE1"
_HEADER = struct.Struct("<8sq16sq")  # magic, samples, fingerprint, data bytes used
_ENTRY = struct.Struct("<qq")  # offset, size
_TABLE_START = 64
_USED_AT = 32  # byte offset of "data bytes used" in the header


_PICKLED = ("length", "fingerprint", "max_bytes", "path", "data_start")


class CacheStore:
    """Pickled samples in one shared, append-only store.

    Parameters
    ----------
    length : int
        Samples in the dataset.
    fingerprint : bytes
        16 bytes identifying the dataset; a file made for another is rebuilt.
    max_bytes : int
        Most bytes of pickled samples to keep; past it samples are not stored.
    path : str, optional
        The cache file (made, reused, or rebuilt if stale); None keeps the
        store in shared memory.
    """

    def __init__(
        self, length: int, fingerprint: bytes, max_bytes: int, path: str | None = None
    ) -> None:
        self.length = int(length)
        self.fingerprint = fingerprint
        self.max_bytes = int(max_bytes)
        self.path = path
        self.data_start = _TABLE_START + _ENTRY.size * self.length
        if path is None:
            self.fd = _anonymous_descriptor()
            self._write_header()
        else:
            self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            problem = self._check_file()
            if problem is not None:
                if os.fstat(self.fd).st_size:
                    warnings.warn(
                        f"gluondata: rebuilding the dataset cache {path}: {problem}",
                        RuntimeWarning,
                        stacklevel=4,
                    )
                os.ftruncate(self.fd, 0)
                self._write_header()
        self._open_runtime()

    def _open_runtime(self) -> None:
        self._map = mmap.mmap(self.fd, self.data_start, prot=mmap.PROT_READ)
        self._lock = threading.Lock()
        self._full_warned = False
        _open_stores.add(self)

    def _write_header(self) -> None:
        header = _HEADER.pack(_MAGIC, self.length, self.fingerprint, 0)
        os.pwrite(self.fd, header.ljust(_TABLE_START, b"\0"), 0)
        os.ftruncate(self.fd, self.data_start)  # the table: zeros, every sample missing

    def _check_file(self) -> str | None:
        """Why the file cannot be served as this dataset's cache (None: it can)."""
        size = os.fstat(self.fd).st_size
        if size < self.data_start:
            return "it is empty or truncated" if size else "new"
        magic, length, fingerprint, used = _HEADER.unpack(os.pread(self.fd, _HEADER.size, 0))
        if magic != _MAGIC:
            return "it is not a gluondata cache file"
        if length != self.length:
            return f"it holds {length} samples, the dataset has {self.length}"
        if fingerprint != self.fingerprint:
            return "it was made for another dataset (fingerprint differs)"
        if size < self.data_start + used:
            return f"it is truncated ({size} bytes, {self.data_start + used} expected)"
        table = os.pread(self.fd, self.data_start - _TABLE_START, _TABLE_START)
        for offset, nbytes in _ENTRY.iter_unpack(table):
            if nbytes and not self.data_start <= offset <= offset + nbytes <= size:
                return "its index points past the end of the file"
        return None

    @property
    def used(self) -> int:
        """Bytes of pickled samples stored."""
        return _read_int(self.fd, _USED_AT)

    def get(self, index: int) -> tuple[bool, Any]:
        """``(True, sample)`` if sample ``index`` is cached, else ``(False, None)``."""
        offset, nbytes = _ENTRY.unpack_from(self._map, _TABLE_START + _ENTRY.size * index)
        if nbytes == 0:
            return False, None
        end = offset + nbytes
        if end > len(self._map):
            self._map = mmap.mmap(self.fd, os.fstat(self.fd).st_size, prot=mmap.PROT_READ)
        with memoryview(self._map)[offset:end] as data:
            return True, pickle.loads(data)

    def put(self, index: int, sample: Any) -> bool:
        """Store sample ``index`` unless present or past the budget; whether it is stored."""
        data = pickle.dumps(sample, protocol=pickle.HIGHEST_PROTOCOL)
        entry = _TABLE_START + _ENTRY.size * index
        with self._lock:
            fcntl.lockf(self.fd, fcntl.LOCK_EX)
            try:
                if _ENTRY.unpack(os.pread(self.fd, _ENTRY.size, entry))[1]:
                    return True  # another worker stored it first
                used = _read_int(self.fd, _USED_AT)
                if used + len(data) > self.max_bytes:
                    self._warn_full()
                    return False
                offset = self.data_start + used
                try:
                    _write_all(self.fd, data, offset)
                except OSError as err:
                    os.ftruncate(self.fd, offset)
                    self._warn_full(err)
                    return False
                os.pwrite(self.fd, struct.pack("<q", used + len(data)), _USED_AT)
                os.pwrite(self.fd, _ENTRY.pack(offset, len(data)), entry)
                return True
            finally:
                fcntl.lockf(self.fd, fcntl.LOCK_UN)

    def _warn_full(self, err: OSError | None = None) -> None:
        if self._full_warned:
            return
        self._full_warned = True
        why = f"could not write: {err}" if err else f"its budget of {self.max_bytes} bytes is spent"
        warnings.warn(
            f"gluondata: the dataset cache is full ({why}); samples not cached yet are "
            "computed again each time they are read. Raise cache(max_bytes=...) to keep them.",
            RuntimeWarning,
            stacklevel=4,
        )

    def __getstate__(self) -> dict[str, Any]:
        # a process started by spawn reopens the file, or this process's memfd through /proc
        state = {key: getattr(self, key) for key in _PICKLED}
        state["source"] = self.path or f"/proc/{os.getpid()}/fd/{self.fd}"
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for key in _PICKLED:
            setattr(self, key, state[key])
        self.fd = os.open(state["source"], os.O_RDWR)
        self._open_runtime()

    def __del__(self) -> None:
        fd = getattr(self, "fd", -1)
        if fd >= 0:
            self.fd = -1
            os.close(fd)


_open_stores: weakref.WeakSet[CacheStore] = weakref.WeakSet()


def _new_locks_in_child() -> None:
    """A forked child gets fresh thread locks (a parent's thread may have held one at the fork)."""
    for store in list(_open_stores):
        store._lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_locks_in_child)


def _anonymous_descriptor() -> int:
    """A descriptor of an empty nameless file in memory (memfd, else an unlinked temp file)."""
    if hasattr(os, "memfd_create"):
        try:
            return os.memfd_create("gluondata-cache", os.MFD_CLOEXEC)
        except OSError:
            pass
    with tempfile.TemporaryFile(prefix="gluondata-cache-") as backing:
        return os.dup(backing.fileno())


def _read_int(fd: int, offset: int) -> int:
    return struct.unpack("<q", os.pread(fd, 8, offset))[0]


def _write_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written
