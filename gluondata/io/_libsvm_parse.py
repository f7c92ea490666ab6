"""Parse LibSVM text into CSR arrays, one part of the bytes at a time, as dmlc-core does.

A line is ``label[:weight] [qid:n] index:value ...`` with ``#`` starting a
comment; blank and comment-only lines hold no row. Weights and qids are read
and ignored. Indices are zero-based unless ``indexing_mode`` says otherwise
(1: one-based; negative: one-based when no index of the part is 0).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from urllib.parse import parse_qsl

import numpy as np

__all__ = ["Rows", "file_list", "part_lines", "read_rows", "split_uri"]


@dataclass
class Rows:
    """CSR rows: ``values``/``indices`` of row ``i`` are ``[indptr[i]:indptr[i+1]]``."""

    labels: np.ndarray  # float32, one per row
    values: np.ndarray  # float32
    indices: np.ndarray  # int64
    indptr: np.ndarray  # int64

    def __len__(self) -> int:
        return len(self.labels)


def split_uri(uri: str) -> tuple[str, dict[str, str]]:
    """``"path?indexing_mode=1"`` -> ``("path", {"indexing_mode": "1"})`` (dmlc's URI arguments)."""
    path, _, query = os.fspath(uri).partition("?")
    return path, dict(parse_qsl(query))


def file_list(path: str, what: str) -> list[str]:
    """The file, or the files of the folder in name order."""
    if os.path.isdir(path):
        names = sorted(os.listdir(path))
        return [os.path.join(path, n) for n in names if os.path.isfile(os.path.join(path, n))]
    if os.path.isfile(path):
        return [path]
    raise FileNotFoundError(f"{what}: no such file or folder: {path!r}")


def part_lines(paths: list[str], part_index: int, num_parts: int) -> list[tuple[str, int, bytes]]:
    """``(file, line number, line)`` of the lines in part ``part_index``.

    As dmlc's ``InputSplit``: the files are one stream of bytes cut into
    ``num_parts`` spans of ``ceil(total / num_parts)`` bytes, and a line
    belongs to the span in which it starts, a line starting exactly on a cut
    going to the part before it.
    """
    sizes = [os.path.getsize(p) for p in paths]
    step = max(1, math.ceil(sum(sizes) / num_parts))
    lines, offset = [], 0
    for path, size in zip(paths, sizes, strict=True):
        with open(path, "rb") as f:
            data = f.read()
        start = 0
        for number, line in enumerate(data.splitlines(keepends=True), 1):
            where = offset + start
            part = 0 if where == 0 else min(num_parts - 1, math.ceil(where / step) - 1)
            if part == part_index:
                lines.append((path, number, line))
            elif part > part_index:
                break
            start += len(line)
        offset += size
    return lines


def read_rows(
    lines: list[tuple[str, int, bytes]], width: int, what: str, indexing_mode: int = 0
) -> Rows:
    """Parse lines into :class:`Rows` of ``width`` columns; a bad line raises, naming it."""
    labels: list[float] = []
    values: list[float] = []
    indices: list[int] = []
    indptr = [0]
    where: list[tuple[str, int]] = []
    for path, number, raw in lines:
        text = raw.split(b"#", 1)[0].decode("utf-8", errors="replace").split()
        if not text:
            continue
        try:
            labels.append(float(text[0].split(":", 1)[0]))
            row = [t for t in text[1:] if not t.startswith("qid:")]
            pairs = [t.split(":") for t in row]
            if any(len(p) != 2 for p in pairs):
                bad = next(t for t, p in zip(row, pairs, strict=True) if len(p) != 2)
                raise ValueError(f"expected index:value, found {bad!r}")
            row_indices = [int(i) for i, _ in pairs]
            row_values = [float(v) for _, v in pairs]
        except ValueError as err:
            hint = " (several labels: give them in label_libsvm)" if "," in text[0] else ""
            raise ValueError(f"{what} {path!r}: line {number}: {err}{hint}") from None
        order = np.argsort(row_indices, kind="stable")
        indices.extend(row_indices[i] for i in order)
        values.extend(row_values[i] for i in order)
        indptr.append(len(indices))
        where.append((path, number))
    index_array = np.asarray(indices, dtype=np.int64)
    one_based = indexing_mode > 0 or (
        indexing_mode < 0 and len(index_array) and index_array.min() > 0
    )
    if one_based:
        index_array -= 1
    bad = np.flatnonzero((index_array < 0) | (index_array >= width))
    if len(bad):
        row = int(np.searchsorted(indptr, bad[0], side="right")) - 1
        path, number = where[row]
        raise ValueError(
            f"{what} {path!r}: line {number}: feature index {indices[bad[0]]} is outside "
            f"[{int(one_based)}, {width + int(one_based)}) (the shape has {width} columns, "
            f"indices {'one' if one_based else 'zero'}-based)"
        )
    return Rows(
        np.asarray(labels, dtype=np.float32),
        np.asarray(values, dtype=np.float32),
        index_array,
        np.asarray(indptr, dtype=np.int64),
    )
