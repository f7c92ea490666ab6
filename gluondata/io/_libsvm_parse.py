"""Parse LibSVM text into CSR arrays, one part of the bytes at a time, as dmlc-core does.

A line is ``label[:weight] [qid:n] index:value ...`` with ``#`` starting a
comment; blank and comment-only lines hold no row. Weights and qids are read
and ignored. Indices are zero-based unless ``indexing_mode`` says otherwise
(1: one-based; negative: one-based when no index of the part is 0).
"""

from __future__ import annotations

import math
import os
import warnings
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
    parsed = _parse_fast(lines) or _parse_slow(lines, what)
    labels, values, indices, counts, where = parsed
    rows = np.repeat(np.arange(len(counts)), counts)
    order = np.lexsort((indices, rows))  # sorted indices within each row
    indices, values = indices[order], values[order]
    one_based = indexing_mode > 0 or (indexing_mode < 0 and len(indices) and indices.min() > 0)
    if one_based:
        indices = indices - 1
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    bad = np.flatnonzero((indices < 0) | (indices >= width))
    if len(bad):
        row = int(np.searchsorted(indptr, bad[0], side="right")) - 1
        path, number = where[row]
        raise ValueError(
            f"{what} {path!r}: line {number}: feature index {indices[bad[0]] + one_based} is "
            f"outside [{int(one_based)}, {width + int(one_based)}) (the shape has {width} "
            f"columns, indices {'one' if one_based else 'zero'}-based)"
        )
    return Rows(labels.astype(np.float32), values.astype(np.float32), indices, indptr)


Parsed = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[tuple[str, int]]]


def _parse_fast(lines: list[tuple[str, int, bytes]]) -> Parsed | None:
    """Parse all numbers in one C call; None if anything looks wrong (the slow path says what)."""
    labels, bodies, counts, where = [], [], [], []
    for path, number, raw in lines:
        tokens = raw.split(b"#", 1)[0].split()
        if not tokens:
            continue
        pairs = tokens[1:]
        if pairs and pairs[0].startswith(b"qid:"):
            pairs = pairs[1:]
        labels.append(tokens[0].split(b":", 1)[0])
        bodies.append(b" ".join(pairs))
        counts.append(len(pairs))
        where.append((path, number))
    body = b" ".join(bodies)
    total = sum(counts)
    if body.count(b":") != total:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # older numpy warns where the text stops parsing
        try:
            numbers = np.fromstring(body.replace(b":", b" ").decode("latin-1"), sep=" ")
            label_array = np.array(labels, dtype=bytes).astype(np.float64)
        except ValueError:  # newer numpy raises instead
            return None
    if len(numbers) != 2 * total:
        return None
    index_values = numbers[0::2]
    indices = index_values.astype(np.int64)
    if not np.array_equal(indices, index_values):
        return None
    return label_array, numbers[1::2], indices, np.asarray(counts, np.int64), where


def _parse_slow(lines: list[tuple[str, int, bytes]], what: str) -> Parsed:
    """Parse line by line, raising a ValueError that names the first bad line."""
    labels: list[float] = []
    values: list[float] = []
    indices: list[int] = []
    counts: list[int] = []
    where: list[tuple[str, int]] = []
    for path, number, raw in lines:
        text = raw.split(b"#", 1)[0].decode("utf-8", errors="replace").split()
        if not text:
            continue
        try:
            label = float(text[0].split(":", 1)[0])
            row = [t for t in text[1:] if not t.startswith("qid:")]
            pairs = [t.split(":") for t in row]
            if any(len(p) != 2 for p in pairs):
                bad = next(t for t, p in zip(row, pairs, strict=True) if len(p) != 2)
                raise ValueError(f"expected index:value, found {bad!r}")
            indices.extend(int(i) for i, _ in pairs)
            values.extend(float(v) for _, v in pairs)
        except ValueError as err:
            hint = " (several labels: give them in label_libsvm)" if "," in text[0] else ""
            raise ValueError(f"{what} {path!r}: line {number}: {err}{hint}") from None
        labels.append(label)
        counts.append(len(pairs))
        where.append((path, number))
    return (
        np.asarray(labels, np.float64),
        np.asarray(values, np.float64),
        np.asarray(indices, np.int64),
        np.asarray(counts, np.int64),
        where,
    )
