"""A tiny pure-Python reader of MXNet .rec/.idx files: the same code in every contender's venv."""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

import numpy as np

MAGIC = 0xCED7230A
_MAGIC_BYTES = struct.pack("<I", MAGIC)
_LENGTH_MASK = (1 << 29) - 1
_HEADER = struct.Struct("<IfQQ")  # IRHeader: flag, label, id, id2


def unpack(record: bytes) -> tuple[float | np.ndarray, bytes]:
    """Split a record into its label (float, or float32 array when packed with several) and
    payload."""
    flag, label, _, _ = _HEADER.unpack_from(record)
    start = _HEADER.size + 4 * flag
    if flag:
        return np.frombuffer(record, np.float32, flag, _HEADER.size), record[start:]
    return label, record[start:]


class RecordReader:
    """Records of a .rec file by position in its .idx: one ``pread`` per record.

    A record's extent is bounded by the next offset in the file (or the end of the file), so it
    is read in one system call and its pieces (a payload containing the magic word at aligned
    offsets is split by the writer) are joined in memory. ``pread`` has no shared file
    position, and a forked or unpickled copy opens its own descriptor.
    """

    def __init__(self, rec: str | Path) -> None:
        self.path = str(rec)
        with open(Path(rec).with_suffix(".idx")) as f:
            offsets = np.array([int(line.split("\t")[1]) for line in f if line.strip()], np.int64)
        bounds = np.append(np.unique(offsets), os.path.getsize(rec))
        self._start = offsets
        self._end = bounds[np.searchsorted(bounds, offsets, side="right")]
        self._fd: int | None = None
        self._pid = 0

    def __len__(self) -> int:
        return len(self._start)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_fd": None, "_pid": 0}

    def read(self, i: int) -> bytes:
        """The bytes of record ``i`` (an ``IRHeader`` and its payload, for im2rec's files)."""
        if self._pid != os.getpid():
            self._fd, self._pid = os.open(self.path, os.O_RDONLY), os.getpid()
        start = int(self._start[i])
        buf = os.pread(self._fd, int(self._end[i]) - start, start)
        parts, pos = [], 0
        while True:
            magic, lrec = struct.unpack_from("<II", buf, pos)
            if magic != MAGIC:
                raise ValueError(f"{self.path}: no record at byte {start + pos}")
            length = lrec & _LENGTH_MASK
            parts.append(buf[pos + 8 : pos + 8 + length])
            pos += 8 + (length + 3) // 4 * 4
            if lrec >> 29 in (0, 3):  # a whole record, or its last piece
                return _MAGIC_BYTES.join(parts)
