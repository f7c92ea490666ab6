"""Buffered writing of a .rec file and its .idx, the .idx never ahead of the .rec.

Records and .idx lines are buffered in memory; a flush writes the .rec's
buffer before the .idx's. So whenever the process stops — an exception, Ctrl-C,
``kill -9`` — every line on disk in the .idx names a record that is
completely on disk in the .rec.
"""

from __future__ import annotations

from typing import BinaryIO

from ._format import encode_record

__all__ = ["RecordWriter"]

_FLUSH_AT = 1 << 20


class RecordWriter:
    """Write records to ``path`` (truncated) and, optionally, .idx lines to ``idx_path``.

    Parameters
    ----------
    path : str
        The .rec file.
    idx_path : str, optional
        The .idx file (truncated too).
    """

    def __init__(self, path: str, idx_path: str | None = None) -> None:
        self._rec = open(path, "wb", buffering=0)  # noqa: SIM115 (closed by close())
        self._idx = None
        if idx_path is not None:
            try:
                self._idx = open(idx_path, "wb", buffering=0)  # noqa: SIM115
            except BaseException:
                self._rec.close()
                raise
        self._rec_buffer = bytearray()
        self._idx_buffer = bytearray()
        self._written = 0

    def tell(self) -> int:
        """The offset the next record will start at."""
        return self._written + len(self._rec_buffer)

    def write(self, payload: bytes) -> int:
        """Append one record; return its offset."""
        offset = self.tell()
        for part in encode_record(payload):
            self._rec_buffer += part
        if len(self._rec_buffer) >= _FLUSH_AT:
            self.flush()
        return offset

    def write_line(self, line: str) -> None:
        """Append a line to the .idx (written after the records before it)."""
        self._idx_buffer += line.encode("utf-8")

    def flush(self) -> None:
        """Write the buffered records, then the buffered .idx lines."""
        self._written += _drain(self._rec, self._rec_buffer)
        if self._idx is not None:
            _drain(self._idx, self._idx_buffer)

    def close(self) -> None:
        """Flush and close both files."""
        try:
            self.flush()
        finally:
            self._rec.close()
            if self._idx is not None:
                self._idx.close()

    def abandon(self) -> None:
        """Drop the buffers without writing them (in a forked child, which must not write)."""
        self._rec_buffer = bytearray()
        self._idx_buffer = bytearray()


def _drain(file: BinaryIO, buffer: bytearray) -> int:
    """Write ``buffer`` to an unbuffered file, emptying it as it goes; return the bytes written."""
    total = 0
    while buffer:
        count = file.write(buffer)
        del buffer[:count]
        total += count
    return total
