""".lst image lists: ``index<TAB>label(s)<TAB>path`` lines, read by one parser for every reader.

``im2rec`` (which skips and reports bad lines), ``ImageListDataset`` and
``ImageIter`` (which refuse a bad line) all read lists with :func:`read_lst`,
so a line means the same thing to each of them. The rules:

- a line is stripped, then split at tabs, and each field is stripped;
- blank lines are ignored;
- the first field is the index (an integer), the last the path (relative to
  the image root), and the ones between the labels (numbers; one or more);
- anything else (fewer than 3 fields, an index or label that is not a
  number) is a bad line, named by its number and content.

The result is held in numpy arrays (and a :class:`~gluondata.strings.StringArray`
for the paths), which forked workers read without copying.
"""

from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np

from ..strings import StringArray

__all__ = ["BadLine", "ListFile", "read_lst"]

_INDEX_RANGE = (np.iinfo(np.int64).min, np.iinfo(np.int64).max)


class BadLine(NamedTuple):
    """A line of a .lst file that is not ``index<TAB>label(s)<TAB>path``.

    Attributes
    ----------
    number : int
        The line number (from 1).
    line : str
        The line, stripped.
    message : str
        ``"<file>: line <number>: expected ... (<reason>), found '<line>'"``.
    """

    number: int
    line: str
    message: str


class ListFile(NamedTuple):
    """The good lines of a .lst file, in file order, and its bad lines.

    Attributes
    ----------
    index : numpy.ndarray of int64
        The first field of each good line.
    labels : numpy.ndarray of float64
        Every good line's labels, one after the other; line ``i``'s are
        ``labels[label_offsets[i]:label_offsets[i + 1]]`` (see :meth:`label`).
    label_offsets : numpy.ndarray of int64
        ``len(index) + 1`` offsets into ``labels``.
    paths : StringArray
        The last field of each good line.
    bad : list of BadLine
        The bad lines (always empty when read with ``strict=True``).
    """

    index: np.ndarray
    labels: np.ndarray
    label_offsets: np.ndarray
    paths: StringArray
    bad: list[BadLine]

    def label(self, i: int) -> np.ndarray:
        """Good line ``i``'s labels (a read-only float64 view)."""
        return self.labels[self.label_offsets[i] : self.label_offsets[i + 1]]


def read_lst(path: str | os.PathLike, strict: bool = True) -> ListFile:
    """Read a .lst file (``index<TAB>label(s)<TAB>path`` lines).

    Parameters
    ----------
    path : str or path-like
        The file (UTF-8; bytes that are not UTF-8 round-trip as
        ``os.fsdecode`` would read them).
    strict : bool, default True
        Raise at the first bad line; with False, skip bad lines and return
        them in :attr:`ListFile.bad`.

    Returns
    -------
    ListFile

    Raises
    ------
    ValueError
        With ``strict``, for the first bad line, naming the file, the line
        number, the reason and the line.
    OSError
        The file cannot be read.
    """
    name = os.fspath(path)
    index: list[int] = []
    counts: list[int] = []
    labels: list[float] = []
    paths: list[str] = []
    bad: list[BadLine] = []
    with open(name, encoding="utf-8", errors="surrogateescape") as f:
        for number, text in enumerate(f, 1):
            line = text.strip()
            if not line:
                continue
            fields = line.split("\t")  # int() and float() ignore the spaces around a field
            try:
                if len(fields) < 3:
                    raise ValueError(f"{len(fields)} tab-separated field(s)")
                key = int(fields[0])
                if not _INDEX_RANGE[0] <= key <= _INDEX_RANGE[1]:
                    raise ValueError(f"index {key} does not fit in 64 bits")
                values = list(map(float, fields[1:-1]))
            except ValueError as err:
                problem = BadLine(
                    number,
                    line,
                    f"{name}: line {number}: expected 'index<TAB>label(s)<TAB>path' ({err}), "
                    f"found {line[:80]!r}",
                )
                if strict:
                    raise ValueError(problem.message) from None
                bad.append(problem)
                continue
            index.append(key)
            counts.append(len(values))
            labels.extend(values)
            paths.append(fields[-1].strip())
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    arrays = np.array(index, dtype=np.int64), np.array(labels, dtype=np.float64), offsets
    for array in arrays:
        array.flags.writeable = False
    return ListFile(*arrays, StringArray(paths), bad)
