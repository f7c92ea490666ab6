"""The records an image iterator reads: positions in a .rec file, parts, label lists.

A :class:`RecordSource` knows where every record of a .rec starts (from its
.idx, or by walking the record headers) and reads any set of them, a run of
neighbours with one request, from any process or thread.
"""

from __future__ import annotations

import math
import os
import struct
import threading
from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np

from ..recordio._format import MAGIC, RecordIOError, Window, decode_record
from ..recordio._index import RecordIndex
from ..recordio._source import Source, forget_after_fork, open_source, read_whole

__all__ = ["LabelList", "RecordSource", "check_part", "part_of", "split_count"]

_HEAD = struct.Struct("<II")
_WALK_CHUNK = 4096


class RecordSource:
    """The records of a .rec file, numbered by position in the file.

    Parameters
    ----------
    path_imgrec : str
        The .rec file (a path or an fsspec URI).
    path_imgidx : str, optional
        Its .idx. As MXNet's ImageRecordIter does, only the offsets are used
        (sorted; the keys are kept in :attr:`keys`). Without it the record
        headers are walked once (the payloads are skipped).

    Attributes
    ----------
    offsets : numpy.ndarray of int64
        Where each record starts, in file order.
    keys : numpy.ndarray or None
        The .idx key of each record (None without an .idx).
    size : int
        The file's size in bytes.
    """

    def __init__(self, path_imgrec: str, path_imgidx: str | None = None) -> None:
        self.uri = os.fspath(path_imgrec)
        self.idx_path = None if not path_imgidx else os.fspath(path_imgidx)
        self._lock = threading.Lock()
        self._source: Source | None = None
        forget_after_fork(self)
        source = self._open()
        self.size = source.size
        if self.idx_path is not None:
            index = RecordIndex.parse(read_whole(self.idx_path), self.idx_path)
            index.bind(self.size, self.uri)
            order = np.argsort(index.offsets, kind="stable")
            offsets = index.offsets[order]
            first = np.ones(len(offsets), dtype=bool)
            first[1:] = offsets[1:] != offsets[:-1]
            self.offsets = offsets[first]
            self.keys: np.ndarray | None = index.keys[order][first]
        else:
            self.offsets = _walk(source)
            self.keys = None
        self.ends = np.append(self.offsets[1:], self.size).astype(np.int64)

    def __len__(self) -> int:
        return len(self.offsets)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_source"] = state["_lock"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
        forget_after_fork(self)

    def _after_fork(self) -> None:
        """In a forked child: let go of the parent's handle (the child opens its own)."""
        self._lock = threading.Lock()
        source, self._source = self._source, None
        if source is not None:
            source.close()

    def _open(self) -> Source:
        """This process's handle on the file, opened on first use."""
        source = self._source
        if source is None:
            with self._lock:
                if self._source is None:
                    self._source = open_source(self.uri)
                source = self._source
        return source

    def describe(self, position: int) -> str:
        """Name a record in an error message: file, position and byte offset."""
        return f"{self.uri}: record {position} (byte offset {int(self.offsets[position])})"

    def read(self, positions: Sequence[int]) -> list[bytes]:
        """Return the records at ``positions`` (in that order); neighbours are read at once."""
        positions = np.asarray(positions, dtype=np.int64)
        out: list[bytes] = [b""] * len(positions)
        if not len(positions):
            return out
        source = self._open()
        window = Window(source.pread, source.chunk)
        order = np.argsort(positions, kind="stable")
        ranked = positions[order]
        breaks = (np.flatnonzero(ranked[1:] > ranked[:-1] + 1) + 1).tolist()
        for first, last in zip([0, *breaks], [*breaks, len(ranked)], strict=True):
            begin = int(self.offsets[ranked[first]])
            end = int(self.ends[ranked[last - 1]])
            window.preload(begin, source.pread(begin, end - begin))
            for j in order[first:last].tolist():
                position = int(positions[j])
                payload, stop = decode_record(
                    window, int(self.offsets[position]), source.name, partial(_nth, position)
                )
                if stop != int(self.ends[position]):
                    raise RecordIOError(
                        f"{self.describe(position)}: the record ends at byte {stop}, not at "
                        f"{int(self.ends[position])} where the next one starts: the .idx does "
                        "not match the .rec"
                    )
                out[j] = payload
        return out


def _nth(position: int) -> str:
    return f"record {position}"


def _walk(source: Source) -> np.ndarray:
    """Find every record's start by reading only the headers (payloads are skipped)."""
    window = Window(source.pread, _WALK_CHUNK)
    offsets = []
    position = 0
    while position < source.size:
        offsets.append(position)
        first = True
        while True:
            at = window.ensure(position, 8)
            if len(window.data) - at < 8:
                raise RecordIOError(
                    f"{source.name}: at byte offset {position}: expected an 8-byte record "
                    "header, but the file ends (truncated file?)"
                )
            magic, lrec = _HEAD.unpack_from(window.data, at)
            cflag = lrec >> 29
            if magic != MAGIC or (cflag in (0, 1)) != first:
                raise RecordIOError(
                    f"{source.name}: at byte offset {position}: expected "
                    + ("a record header" if first else "the next piece of a split record")
                    + f", found magic 0x{magic:08x} and continue flag {cflag}"
                )
            position += 8 + (((lrec & ((1 << 29) - 1)) + 3) & ~3)
            first = False
            if cflag in (0, 3):
                break
        if position > source.size:
            raise RecordIOError(
                f"{source.name}: the record at byte offset {offsets[-1]} runs past the end of "
                "the file (truncated file?)"
            )
    return np.asarray(offsets, dtype=np.int64)


def part_of(source: RecordSource, num_parts: int, part_index: int, by_bytes: bool) -> np.ndarray:
    """The record positions of part ``part_index`` of ``num_parts`` of ``source``.

    By records, see :func:`split_count`. By bytes (MXNet's ImageRecordIter
    without .idx): the file is cut every ``ceil(size / num_parts)`` bytes
    (rounded up to 4) and each record goes to the part where it starts.
    """
    if not by_bytes:
        return split_count(len(source), num_parts, part_index)
    check_part(num_parts, part_index)
    step = -(-math.ceil(source.size / num_parts) // 4) * 4
    begin, end = np.searchsorted(source.offsets, [part_index * step, (part_index + 1) * step])
    return np.arange(begin, end)


def split_count(count: int, num_parts: int, part_index: int) -> np.ndarray:
    """Part ``part_index`` of ``range(count)`` cut in ``num_parts`` disjoint parts covering it.

    Each part has ``ceil(count / num_parts)`` consecutive items (the last ones fewer).
    """
    check_part(num_parts, part_index)
    step = math.ceil(count / num_parts)
    return np.arange(min(part_index * step, count), min((part_index + 1) * step, count))


def check_part(num_parts: int, part_index: int) -> None:
    """Refuse a part that does not exist (``num_parts < 1``, ``part_index`` out of range)."""
    if num_parts < 1:
        raise ValueError(f"num_parts must be at least 1, got {num_parts}")
    if not 0 <= part_index < num_parts:
        raise ValueError(f"part_index must be in 0..{num_parts - 1}, got {part_index}")


class LabelList:
    """Labels by image index from a .lst file (``index<TAB>label...<TAB>path`` lines).

    As MXNet's ImageRecordIter reads it: the first ``label_width`` numbers
    after the index are the labels; the rest of the line (the path) is ignored.

    Parameters
    ----------
    path : str
        The .lst file.
    label_width : int
        Labels per image.
    """

    def __init__(self, path: str, label_width: int) -> None:
        self.path = os.fspath(path)
        ids, labels = [], []
        with open(self.path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                fields = line.split()
                if not fields:
                    continue
                try:
                    ids.append(int(fields[0]))
                    labels.append([float(v) for v in fields[1 : 1 + label_width]])
                except ValueError:
                    labels.append([])
                if len(labels[-1]) != label_width:
                    raise ValueError(
                        f"{self.path}: line {number}: expected an index and {label_width} "
                        f"label(s) (label_width), found {line.strip()[:80]!r}"
                    )
        order = np.argsort(np.asarray(ids, dtype=np.int64), kind="stable")
        self.ids = np.asarray(ids, dtype=np.int64)[order]
        self.labels = np.asarray(labels, dtype=np.float32).reshape(-1, label_width)[order]

    def __getitem__(self, image_id: int) -> np.ndarray:
        at = int(np.searchsorted(self.ids, image_id))
        if at == len(self.ids) or self.ids[at] != image_id:
            raise KeyError(f"{self.path} has no line for image index {image_id}")
        return self.labels[at]
