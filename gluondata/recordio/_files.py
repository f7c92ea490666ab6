"""MXRecordIO and MXIndexedRecordIO: sequential and keyed access to a .rec file."""

from __future__ import annotations

import errno
import os
import threading
import warnings
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np

from ._format import Bound, RecordIOError, Window, decode_record, starts_record
from ._index import IndexView, KeyLog, RecordIndex, format_line
from ._keys import KeyList
from ._source import Source, forget_after_fork, local_path, open_source, read_whole
from ._writer import RecordWriter

__all__ = ["MXIndexedRecordIO", "MXRecordIO"]


class MXRecordIO:
    """Read or write a RecordIO file one record after the other.

    Parameters
    ----------
    uri : str or path-like
        The .rec file: a path, or for reading any URI fsspec understands.
    flag : {'r', 'w'}
        Read, or write (truncating the file).

    Notes
    -----
    A reader reads the file in large chunks (no system call per record) with
    ``pread``, so it has no file position shared with anyone. Pickling it (or
    forking) gives a copy that opens its own handle when first used; the
    original stays open. A writer cannot be pickled, and a forked child cannot
    write to its parent's writer.
    """

    def __init__(self, uri: str | os.PathLike, flag: str) -> None:
        if flag not in ("r", "w"):
            raise ValueError(f"Invalid flag {flag}")
        self.uri = os.fspath(uri)
        self.flag = flag
        self.writable = flag == "w"
        self.is_open = False
        self._source: Source | None = None
        self._writer: RecordWriter | None = None
        self._window: Window | None = None
        self._pos = 0
        self._pid = os.getpid()
        self._lock = threading.Lock()
        forget_after_fork(self)
        self.open()

    # -- opening and closing -------------------------------------------------------------

    def open(self) -> None:
        """Open the file (``reset()`` and the constructor call this)."""
        path = local_path(self.uri)
        if path is not None and os.path.isdir(path):
            raise IsADirectoryError(
                errno.EISDIR, f"{self.uri} is a directory, not a RecordIO (.rec) file", path
            )
        if self.writable:
            path = local_path(self.uri)
            if path is None:
                raise ValueError(f"{self.uri}: RecordIO files can be written to local paths only")
            self._writer = self._open_writer(path)
            self._pid = os.getpid()
        else:
            self._source = open_source(self.uri)
            self._window = None
        self._pos = 0
        self.is_open = True

    def _open_writer(self, path: str) -> RecordWriter:
        return RecordWriter(path)

    def close(self) -> None:
        """Close the file (flushing a writer); closing twice is harmless."""
        if not self.is_open:
            return
        self.is_open = False
        writer, self._writer = self._writer, None
        source, self._source = self._source, None
        self._window = None
        if writer is not None and self._pid == os.getpid():
            writer.close()
        if source is not None:
            source.close()

    def reset(self) -> None:
        """Go back to the start of the file (a writer starts the file anew)."""
        self.close()
        self.open()

    def __enter__(self) -> MXRecordIO:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "is_open", False):
            self.close()

    def _after_fork(self) -> None:
        """In a forked child: let go of the parent's handle (a reader reopens when used)."""
        self._lock = threading.Lock()
        self._window = None
        source, self._source = self._source, None
        if source is not None:
            source.close()
        if self._writer is not None:
            self._writer.abandon()

    def __getstate__(self) -> dict[str, Any]:
        if self.writable:
            raise TypeError(
                f"cannot pickle {type(self).__name__}({self.uri!r}, 'w'): a writer belongs "
                "to the process that opened it"
            )
        state = self.__dict__.copy()
        for handle in ("_source", "_window", "_lock"):
            state[handle] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
        forget_after_fork(self)

    def __repr__(self) -> str:
        status = "open" if self.is_open else "closed"
        return f"{type(self).__name__}({self.uri!r}, {self.flag!r}) [{status}]"

    # -- reading -------------------------------------------------------------------------

    def _reader(self) -> Source:
        """The source to read from, opened in this process if need be."""
        if self.writable:
            raise ValueError(f"{self.uri} is open for writing, not reading")
        source = self._source
        if source is None:
            with self._lock:
                if self._source is None and self.is_open:
                    self._source = open_source(self.uri)
                source = self._source
            if source is None:
                raise ValueError(f"I/O operation on closed RecordIO file {self.uri}")
        return source

    def read(self) -> bytes | None:
        """Return the next record, or None at the end of the file.

        Raises
        ------
        RecordIOError
            The file is damaged at the current position.
        """
        source = self._reader()
        window = self._window
        if window is None:
            window = self._window = Window(source.pread, source.chunk)
        payload, end = decode_record(
            window, self._pos, source.name, bound=Bound(source.size, next_record=False)
        )
        if end < 0:
            return None
        self._pos = end
        return payload

    def tell(self) -> int:
        """The byte offset of the next record to be read or written."""
        if self._writer is not None:
            return self._writer.tell()
        return self._pos

    # -- writing -------------------------------------------------------------------------

    def _check_writer(self) -> RecordWriter:
        if not self.writable:
            raise ValueError(f"{self.uri} is open for reading, not writing")
        if self._writer is None:
            raise ValueError(f"I/O operation on closed RecordIO file {self.uri}")
        if self._pid != os.getpid():
            raise RuntimeError(
                f"{self.uri} was opened for writing in process {self._pid}; process "
                f"{os.getpid()} cannot write to it (open a new MXRecordIO in this process)"
            )
        return self._writer

    def write(self, buf: bytes) -> None:
        """Append a record.

        Parameters
        ----------
        buf : bytes
            The record (any bytes-like object; shorter than 2**29 bytes).
        """
        if isinstance(buf, str):
            raise TypeError("write() needs bytes, not str: encode the string first")
        self._check_writer().write(buf)


class MXIndexedRecordIO(MXRecordIO):
    """A RecordIO file with an .idx file, for reading records by key.

    Parameters
    ----------
    idx_path : str or path-like
        The .idx file: one ``key<TAB>offset`` line per record.
    uri : str or path-like
        The .rec file.
    flag : {'r', 'w'}
        Read, or write both files (truncating them).
    key_type : callable, default int
        Turns the key text of an .idx line into a key (``int`` or ``str``).

    Attributes
    ----------
    keys : numpy.ndarray
        The keys, one per .idx line in file order (a repeated key appears
        each time; reads use its last line, as in MXNet).
    idx : Mapping
        ``{key: offset}``, read-only.

    Raises
    ------
    FileNotFoundError
        No .idx file (:func:`build_index` makes one from the .rec).
    RecordIOError
        An .idx line is not ``key<TAB>offset``, or an offset cannot be a
        record's start in the .rec (past its end, say).
    """

    def __init__(
        self,
        idx_path: str | os.PathLike,
        uri: str | os.PathLike,
        flag: str,
        key_type: Any = int,
    ) -> None:
        self.idx_path = os.fspath(idx_path)
        self.key_type = key_type
        self._index: RecordIndex | None = None
        self._written = KeyLog()
        super().__init__(uri, flag)

    def open(self) -> None:
        """Open the .rec and the .idx (the .idx is read once, and kept over ``reset()``)."""
        super().open()
        if self.writable:
            self._written = KeyLog()
        elif self._index is None:
            self._index = self._load_index()

    def _open_writer(self, path: str) -> RecordWriter:
        idx_path = local_path(self.idx_path)
        if idx_path is None:
            raise ValueError(f"{self.idx_path}: .idx files can be written to local paths only")
        return RecordWriter(path, idx_path)

    def _load_index(self) -> RecordIndex:
        try:
            data = read_whole(self.idx_path)
        except FileNotFoundError as err:
            raise FileNotFoundError(
                err.errno,
                f"no index file {self.idx_path} for {self.uri}: make one with "
                f"gluondata.recordio.build_index({self.uri!r}) or "
                f"`gluondata inspect {self.uri} --build-index`",
                self.idx_path,
            ) from None
        if self._last_line_whole(data):
            index = RecordIndex.parse(data, self.idx_path, self.key_type)
        else:
            last_line = data.count(b"\n") + 1
            warnings.warn(
                f"{self.idx_path}: line {last_line} has no newline and names no "
                "record after the line before: a writer was stopped while writing it, so it is "
                "ignored (gluondata.recordio.build_index rebuilds the .idx from the .rec)",
                stacklevel=3,
            )
            index = RecordIndex.parse(data[: data.rindex(b"\n") + 1], self.idx_path, self.key_type)
        index.bind(self._reader().size, self.uri)
        return index

    def _last_line_whole(self, data: bytes) -> bool:
        """False if the .idx's last line has no newline and was cut short by a stopped writer.

        A writer's lines end with a newline and their offsets grow; a line cut short has no
        tab, or an offset (the first digits of one) that is not after the line before's or
        points at no record.
        """
        if not data or data.endswith(b"\n") or b"\n" not in data:
            return True
        head, _, last = data.rpartition(b"\n")
        try:
            offset = int(RecordIndex.parse(last, self.idx_path, self.key_type).offsets[0])
        except RecordIOError:
            return False
        before = RecordIndex.parse(head.rpartition(b"\n")[2], self.idx_path, self.key_type)
        source = self._reader()
        return (
            (len(before.offsets) == 0 or offset > int(before.offsets[0]))
            and offset % 4 == 0
            and 0 <= offset <= source.size - 8
            and starts_record(Window(source.pread, source.chunk), offset)
        )

    @property
    def keys(self) -> KeyList:
        """The keys, one per .idx line, in file order: plain Python objects of ``key_type``.

        A read-only sequence (a writer's grows as it writes), made in O(1);
        ``np.asarray(keys)`` is the numpy array behind it.
        """
        return KeyList(self.key_array())

    def key_array(self) -> np.ndarray:
        """The keys as a read-only numpy array (gluondata's; O(1), no Python objects)."""
        if self._index is not None and not self.writable:
            return self._index.keys
        return self._written.keys

    @property
    def idx(self) -> Mapping[Any, int]:
        """``{key: byte offset}`` (read-only; a writer's is a live view, O(1))."""
        if self._index is not None and not self.writable:
            return IndexView(self._index)
        return self._written.idx

    def _the_index(self) -> RecordIndex:
        if self.writable or self._index is None:
            raise ValueError(f"{self.uri} is open for writing, not reading")
        return self._index

    def seek(self, idx: Any) -> None:
        """Make the next :meth:`read` return the record of key ``idx``."""
        index = self._the_index()
        self._pos = int(index.offsets[index.row(idx)])

    def read_idx(self, idx: Any) -> bytes:
        """Return the record of key ``idx`` (safe from any thread).

        A record up to the read-ahead chunk (1 MiB locally) takes one read of
        exactly its bytes; a larger one, a second read. A damaged length field
        fails at once, before anything past the next indexed record is read.

        Raises
        ------
        KeyError
            No such key.
        RecordIOError
            The .idx offset does not lead to a good record.
        """
        index = self._the_index()
        row = index.row(idx)
        offset, end = index.span(row)
        source = self._reader()
        window = Window(source.pread, source.chunk)
        window.preload(offset, source.pread(offset, min(end - offset, source.chunk)))
        payload, self._pos = _decode_indexed(window, source, index, row, (offset, end))
        return payload

    def read_idx_many(self, keys: Sequence[Any]) -> list[bytes]:
        """Return the records of several keys, in the order given.

        Records that lie next to each other in the file are fetched together,
        in reads (requests, for a remote file) of up to a chunk each.
        """
        index = self._the_index()
        rows = index.rows(keys)
        if len(rows) == 0:
            return []
        offsets, ends = index.spans(rows)
        order = np.argsort(offsets, kind="stable")
        starts, stops = offsets[order], np.maximum.accumulate(ends[order])
        gaps = (np.flatnonzero(starts[1:] > stops[:-1]) + 1).tolist()  # where a new run begins
        source = self._reader()
        window = Window(source.pread, source.chunk)
        out: list[bytes] = [b""] * len(rows)
        for first, last in zip([0, *gaps], [*gaps, len(order)], strict=True):
            begin, finish = int(starts[first]), int(stops[last - 1])
            window.preload(begin, source.pread(begin, min(finish - begin, source.chunk)))
            for j in order[first:last].tolist():
                span = (int(offsets[j]), int(ends[j]))
                out[j], _ = _decode_indexed(window, source, index, int(rows[j]), span)
        return out

    def write_idx(self, idx: Any, buf: bytes) -> None:
        """Append a record and an .idx line ``key<TAB>offset`` for it.

        Parameters
        ----------
        idx : key
            Turned into the key with ``key_type``.
        buf : bytes
            The record.
        """
        key = self.key_type(idx)
        offset = self.tell()
        line = format_line(key, offset)
        self.write(buf)
        self._writer.write_line(line)
        self._written.append(key, offset)


def _decode_indexed(
    window: Window, source: Source, index: RecordIndex, row: int, span: tuple[int, int]
) -> tuple[bytes, int]:
    """Decode the record on .idx row ``row``; it must end by the next indexed offset."""
    offset, bound = span
    limit = Bound(bound, next_record=bound < index.size)
    payload, end = decode_record(window, offset, source.name, partial(index.describe, row), limit)
    if end < 0:
        raise RecordIOError(
            f"{index.describe(row)}: byte offset {offset} is the end of {source.name}: "
            "the .idx does not match the .rec"
        )
    if end < bound and not starts_record(window, end):
        raise RecordIOError(
            f"{source.name}: the record at byte offset {offset} ({index.describe(row)}) ends at "
            f"byte {end}, where no record starts (the next one the .idx knows is at {bound}): "
            "the record's header is damaged, or the .idx does not match the .rec"
        )
    return payload, end
