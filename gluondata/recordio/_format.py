"""RecordIO framing (dmlc-core ``recordio.h``): encode one record, decode one from a byte source.

Every piece of a record is ``[magic u32][lrec u32][payload][zero padding to 4 bytes]``,
little-endian, with ``lrec = cflag << 29 | length``. The writer splits a payload at every
4-byte-aligned occurrence of the magic word (dropping those 4 bytes): cflag 1 marks the first
piece, 2 a middle one, 3 the last; a record that was not split has cflag 0.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import NamedTuple

__all__ = [
    "MAGIC",
    "MAGIC_BYTES",
    "MAX_RECORD",
    "Bound",
    "RecordIOError",
    "Window",
    "decode_record",
    "encode_record",
    "starts_record",
]

MAGIC = 0xCED7230A
MAGIC_BYTES = struct.pack("<I", MAGIC)
MAX_RECORD = 1 << 29
_LENGTH_MASK = MAX_RECORD - 1
_HEAD = struct.Struct("<II")


class RecordIOError(ValueError, OSError):
    """A RecordIO file (or its .idx) is not what it should be.

    The message names the file, the byte offset (or the .idx line) and what
    was expected there. It is both a ``ValueError`` and an ``OSError``
    (``IOError``), so either ``except`` clause catches it.
    """


def _padded(length: int) -> int:
    return (length + 3) & ~3


def _lrec(cflag: int, length: int) -> bytes:
    return _HEAD.pack(MAGIC, cflag << 29 | length)


def encode_record(payload: bytes | bytearray | memoryview) -> list[bytes | memoryview]:
    """Return the byte strings that frame ``payload`` exactly as dmlc's ``WriteRecord`` does.

    Parameters
    ----------
    payload : bytes-like
        The record, shorter than 2**29 bytes.

    Returns
    -------
    list of bytes-like
        Headers, payload pieces and padding, to be written in order.
    """
    raw = payload if isinstance(payload, bytes) else bytes(memoryview(payload).cast("B"))
    length = len(raw)
    if length >= MAX_RECORD:
        raise ValueError(f"RecordIO records must be shorter than 2**29 bytes, got {length}")
    data = memoryview(raw)
    parts: list[bytes | memoryview] = []
    start = 0
    found = raw.find(MAGIC_BYTES)
    while found != -1:
        if found % 4 == 0:
            parts += [_lrec(1 if start == 0 else 2, found - start), data[start:found]]
            start = found + 4
            found = raw.find(MAGIC_BYTES, start)
        else:
            found = raw.find(MAGIC_BYTES, found + 1)
    parts += [_lrec(3 if start else 0, length - start), data[start:]]
    if length % 4:
        parts.append(bytes(4 - length % 4))
    return parts


class Window:
    """A cached stretch of a file, refilled by ``pread(offset, size)`` when a read leaves it.

    Parameters
    ----------
    pread : callable
        ``pread(offset, size)`` returns up to ``size`` bytes at ``offset``
        (fewer only at the end of the file).
    chunk : int
        The least number of bytes fetched by a refill (the read-ahead).
    """

    __slots__ = ("chunk", "data", "ends_file", "pread", "start")

    def __init__(self, pread: Callable[[int, int], bytes], chunk: int) -> None:
        self.pread = pread
        self.chunk = chunk
        self.start = 0
        self.data = b""
        self.ends_file = False

    def preload(self, offset: int, data: bytes) -> None:
        """Use ``data`` as the bytes of the file from ``offset`` on."""
        self.start, self.data, self.ends_file = offset, data, False

    def ensure(self, offset: int, size: int) -> int:
        """Make the window cover ``[offset, offset + size)`` if the file has it.

        Returns
        -------
        int
            The position of ``offset`` in ``self.data``; fewer than ``size``
            bytes follow it only at the end of the file.
        """
        at = offset - self.start
        if at < 0 or at + size > len(self.data):
            if self.ends_file and 0 <= at <= len(self.data):
                return at  # the window already reaches the end of the file
            want = max(size, self.chunk)
            self.start, self.data = offset, self.pread(offset, want)
            self.ends_file = len(self.data) < want
            at = 0
        return at


class Bound(NamedTuple):
    """Where a record must end at the latest, for :func:`decode_record`.

    Attributes
    ----------
    offset : int
        The byte offset the record must end by.
    next_record : bool
        True if the .idx puts the next record there, False if the file ends there.
    """

    offset: int
    next_record: bool


def decode_record(
    window: Window,
    offset: int,
    name: str,
    where: Callable[[], str] | None = None,
    bound: Bound | None = None,
) -> tuple[bytes, int]:
    """Read the record that starts at ``offset``.

    Parameters
    ----------
    window : Window
        The file's bytes.
    offset : int
        Where the record's first header is.
    name : str
        The file's name, for error messages.
    where : callable, optional
        Returns how the offset was reached (``"x.idx: line 4 (key 3)"``), for errors.
    bound : Bound, optional
        Where the record must end at the latest. A header whose length runs
        past it fails at once, before its payload is read (so a damaged length
        field never makes the reader fetch up to 512 MiB).

    Returns
    -------
    (bytes, int)
        The payload and the offset just past the record; ``(b"", -1)`` when
        ``offset`` is the end of the file.

    Raises
    ------
    RecordIOError
        A header is not the magic word, is cut short, has a continuation flag
        out of order, or a length that runs past ``bound`` or the file's end.
    """
    pieces: list[bytes] = []
    pos = offset
    while True:
        at = window.ensure(pos, 8)
        data = window.data
        available = len(data) - at
        if available < 8:
            if available == 0 and pos == offset:
                return b"", -1
            if pos == offset:
                expected = f"an 8-byte record header, but the file ends after {available} byte(s)"
            else:
                expected = "the next piece of a split record, but the file ends"
            _fail(name, pos, where, f"expected {expected} (truncated file?)")
        magic, lrec = _HEAD.unpack_from(data, at)
        cflag, length = lrec >> 29, lrec & _LENGTH_MASK
        problem = _header_problem(magic, cflag, pos == offset, where is not None)
        if problem:
            _fail(name, pos, where, problem)
        padded = _padded(length)
        stop = pos + 8 + padded
        if bound is not None and stop > bound.offset:
            if bound.next_record:
                _fail(
                    name,
                    pos,
                    where,
                    "length field damaged, or the .idx does not match the .rec: the header "
                    f"gives {length} bytes, so the record runs to byte {stop}, past byte "
                    f"{bound.offset} where the .idx puts the next record",
                )
            _fail(name, pos + 8, where, _cut_short(padded, bound.offset - pos - 8))
        if at + 8 + padded > len(data):
            at = window.ensure(pos, 8 + padded)
            data = window.data
            if at + 8 + padded > len(data):
                _fail(name, pos + 8, where, _cut_short(padded, len(data) - at - 8))
        piece = data[at + 8 : at + 8 + length]
        pos = stop
        if cflag in (0, 3):
            if not pieces:
                return piece, pos
            pieces.append(piece)
            return MAGIC_BYTES.join(pieces), pos
        pieces.append(piece)


def starts_record(window: Window, offset: int) -> bool:
    """Whether a record (its first piece: continue flag 0 or 1) starts at ``offset``."""
    at = window.ensure(offset, 8)
    if len(window.data) - at < 8:
        return False
    magic, lrec = _HEAD.unpack_from(window.data, at)
    return magic == MAGIC and lrec >> 29 in (0, 1)


def _header_problem(magic: int, cflag: int, first: bool, indexed: bool) -> str:
    """What is wrong with a piece's header ("" if nothing): the magic word, or a continue
    flag out of place (``first``: the record's first piece; ``indexed``: reached by an index)."""
    mismatch = " (the .idx does not match the .rec?)" if indexed and first else ""
    if magic != MAGIC:
        return f"expected the RecordIO magic word 0x{MAGIC:08x}, found 0x{magic:08x}{mismatch}"
    if first and cflag not in (0, 1):
        return (
            "expected the start of a record (continue flag 0 or 1), found "
            f"continue flag {cflag}{mismatch}"
        )
    if not first and cflag not in (2, 3):
        return (
            "expected the next piece of a split record (continue flag 2 or 3), "
            f"found continue flag {cflag}"
        )
    return ""


def _cut_short(padded: int, left: int) -> str:
    return (
        f"expected {padded} bytes of payload and padding, but the file ends after {left} "
        "(truncated file, or a damaged length field?)"
    )


def _fail(name: str, offset: int, where: Callable[[], str] | None, problem: str) -> None:
    context = f" ({where()})" if where else ""
    raise RecordIOError(f"{name}: at byte offset {offset}{context}: {problem}")
