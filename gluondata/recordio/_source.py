"""Where RecordIO bytes come from: a local file read with ``pread``, or an fsspec URI.

A source answers ``pread(offset, size)`` from any thread, with no shared file
position. Objects that hold a source register with :func:`forget_after_fork`,
so a forked child drops the inherited handle and opens its own.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from types import ModuleType
from typing import Protocol
from urllib.parse import unquote, urlsplit

__all__ = [
    "LOCAL_CHUNK",
    "REMOTE_CHUNK",
    "Source",
    "forget_after_fork",
    "local_path",
    "open_source",
    "read_whole",
]

LOCAL_CHUNK = 1 << 20
REMOTE_CHUNK = 8 << 20


class Source(Protocol):
    """Random access to the bytes of one file."""

    name: str
    size: int
    chunk: int

    def pread(self, offset: int, size: int) -> bytes:
        """Return up to ``size`` bytes at ``offset`` (fewer only at the end of the file)."""

    def close(self) -> None:
        """Release the handle."""


def local_path(uri: str | os.PathLike) -> str | None:
    """Return the local path ``uri`` names, or None for a remote URI."""
    uri = os.fspath(uri)
    if "://" not in uri:
        return uri
    parts = urlsplit(uri)
    if parts.scheme == "file":
        return unquote(parts.path)
    return None


class _LocalSource:
    """A local file read with ``os.pread`` (releases the GIL; no shared offset).

    Where ``os.pread`` does not exist (Windows), a lock serialises seek + read.
    """

    chunk = LOCAL_CHUNK

    def __init__(self, path: str) -> None:
        self.name = path
        self._fd = os.open(
            path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
        )
        self.size = os.fstat(self._fd).st_size
        self._lock = None if hasattr(os, "pread") else threading.Lock()

    def _pread(self, size: int, offset: int) -> bytes:
        if self._lock is None:
            return os.pread(self._fd, size, offset)
        with self._lock:
            os.lseek(self._fd, offset, os.SEEK_SET)
            return os.read(self._fd, size)

    def pread(self, offset: int, size: int) -> bytes:
        size = min(size, self.size - offset)
        if size <= 0:
            return b""
        data = self._pread(size, offset)
        if len(data) < size:
            data += self._read_rest(offset + len(data), size - len(data))
        return data

    def _read_rest(self, offset: int, size: int) -> bytes:
        """Keep reading after a short read until ``size`` bytes or the end of the file."""
        parts = []
        while size > 0:
            part = self._pread(size, offset)
            if not part:
                break
            parts.append(part)
            offset, size = offset + len(part), size - len(part)
        return b"".join(parts)

    def close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)


class _RemoteSource:
    """A file behind an fsspec URI, read with ranged requests (``cat_file``)."""

    chunk = REMOTE_CHUNK

    def __init__(self, uri: str) -> None:
        fs, path = _fsspec().core.url_to_fs(uri)
        self.name = uri
        self._fs, self._path = fs, path
        self.size = int(fs.size(path))

    def pread(self, offset: int, size: int) -> bytes:
        end = min(offset + size, self.size)
        if offset >= end:
            return b""
        return bytes(self._fs.cat_file(self._path, start=offset, end=end))

    def close(self) -> None:
        self._fs = None


def _fsspec() -> ModuleType:
    try:
        import fsspec
    except ImportError as err:
        raise ImportError(
            "reading a remote URI needs fsspec (and its backend, e.g. s3fs): "
            "pip install 'gluondata[remote]'"
        ) from err
    return fsspec


def open_source(uri: str | os.PathLike) -> Source:
    """Open ``uri`` (a path, ``file://``, or any URI fsspec understands) for reading."""
    path = local_path(uri)
    if path is not None:
        return _LocalSource(path)
    return _RemoteSource(os.fspath(uri))


def read_whole(uri: str | os.PathLike) -> bytes:
    """Return the whole content of a (small) local or remote file."""
    path = local_path(uri)
    if path is not None:
        with open(path, "rb") as f:
            return f.read()
    with _fsspec().open(os.fspath(uri), "rb") as f:
        return f.read()


_holders: weakref.WeakSet = weakref.WeakSet()


def forget_after_fork(holder: object) -> None:
    """Call ``holder._after_fork()`` in every child forked from now on."""
    _holders.add(holder)


def _after_fork_in_child() -> None:
    for holder in list(_holders):
        after: Callable[[], None] = holder._after_fork
        after()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
