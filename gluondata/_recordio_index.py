"""The .idx file of a RecordIO file: ``key<TAB>offset`` lines, held in numpy arrays.

A key may occur on several lines; as in MXNet, the last line wins. Keys and
offsets stay in numpy arrays (no Python object per record), so forked workers
share the pages, and lookups are binary searches.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ._recordio_format import RecordIOError

__all__ = ["IndexView", "RecordIndex", "format_line"]

_INT_LINES = re.compile(rb"(?:-?[0-9]{1,18}\t[0-9]{1,18}\r?\n)*")


def format_line(key: Any, offset: int) -> str:
    """Return the .idx line for ``key`` at ``offset``, as MXNet writes it."""
    text = str(key)
    if any(c in text for c in "\t\r\n") or text != text.strip():
        raise ValueError(f"an .idx key cannot hold tabs, line breaks or edge spaces: {text!r}")
    return f"{text}\t{offset}\n"


class RecordIndex:
    """The keys and offsets of a .idx file.

    Parameters
    ----------
    keys : numpy.ndarray
        One key per line, in file order.
    offsets : numpy.ndarray of int64
        The byte offset on each line.
    name : str
        The .idx file's name, for error messages.
    """

    def __init__(self, keys: np.ndarray, offsets: np.ndarray, name: str) -> None:
        self.keys = keys
        self.offsets = offsets
        self.name = name
        self.size = 0
        self._ends: np.ndarray | None = None
        self._dense = bool(keys.dtype.kind in "iu" and np.array_equal(keys, np.arange(len(keys))))
        if self._dense:
            self._sorted_keys = self._sorted_rows = None
        else:
            order = np.argsort(keys, kind="stable")
            ranked = keys[order]
            last = np.ones(len(ranked), dtype=bool)
            last[:-1] = ranked[1:] != ranked[:-1]
            self._sorted_keys, self._sorted_rows = ranked[last], order[last]

    @classmethod
    def parse(cls, data: bytes, name: str, key_type: Callable[[str], Any] = int) -> RecordIndex:
        """Parse the text of an .idx file.

        Raises
        ------
        RecordIOError
            For a line that is not ``key<TAB>offset``, naming the line.
        """
        if data and not data.endswith(b"\n"):
            data += b"\n"
        if key_type is int and _INT_LINES.fullmatch(data):
            with warnings.catch_warnings():  # fast: the lines are known to be int<TAB>int
                warnings.simplefilter("ignore", DeprecationWarning)
                numbers = np.fromstring(data, dtype=np.int64, sep=" ")
            if len(numbers) == 2 * data.count(b"\n"):
                pairs = numbers.reshape(-1, 2)
                return cls(pairs[:, 0].copy(), pairs[:, 1].copy(), name)
        keys, offsets = [], []
        for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            fields = line.strip().split("\t")
            try:
                if len(fields) < 2:
                    raise ValueError("no tab")
                key, offset = key_type(fields[0]), int(fields[1])
            except ValueError as err:
                raise RecordIOError(
                    f"{name}: line {number}: expected 'key<TAB>offset', found {line[:80]!r} ({err})"
                ) from None
            keys.append(key)
            offsets.append(offset)
        return cls(np.asarray(keys), np.asarray(offsets, dtype=np.int64), name)

    def bind(self, size: int, rec_name: str) -> None:
        """Check the offsets against a .rec of ``size`` bytes and note where each record ends.

        Raises
        ------
        RecordIOError
            An offset is negative, not a multiple of 4, or past the end of the .rec.
        """
        offsets = self.offsets
        bad = np.flatnonzero((offsets < 0) | (offsets % 4 != 0) | (offsets > size - 8))
        if len(bad):
            row = int(bad[0])
            raise RecordIOError(
                f"{self.describe(row)}: offset {int(offsets[row])} cannot be the start of a "
                f"record in {rec_name} ({size} bytes; a record starts at a multiple of 4 and "
                f"takes at least 8 bytes): the .idx does not match the .rec"
                + (f" ({len(bad)} such lines)" if len(bad) > 1 else "")
                + "; rebuild it with gluondata.recordio.build_index"
            )
        self.size = size
        if len(offsets) and not np.all(offsets[1:] > offsets[:-1]):
            starts = np.unique(offsets)
            self._ends = np.append(starts, size)[np.searchsorted(starts, offsets, side="right")]

    def __len__(self) -> int:
        return len(self.offsets)

    def describe(self, row: int) -> str:
        """Name line ``row`` (0-based) for an error message."""
        key = self.keys[row]
        key = key.item() if isinstance(key, np.generic) else key
        return f"{self.name}: line {row + 1} (key {key!r})"

    def row(self, key: Any) -> int:
        """Return the row (0-based line) holding ``key``'s offset; KeyError if absent."""
        if self._dense:
            if isinstance(key, (int, np.integer)) and 0 <= key < len(self.keys):
                return int(key)
            raise KeyError(key)
        sorted_keys = self._sorted_keys
        try:
            at = int(np.searchsorted(sorted_keys, key))
            found = at < len(sorted_keys) and sorted_keys[at] == key
        except (TypeError, ValueError):
            found = False
        if not found:
            raise KeyError(key)
        return int(self._sorted_rows[at])

    def rows(self, keys: Sequence[Any]) -> np.ndarray:
        """Return the row of each key (vectorised :meth:`row`)."""
        wanted = np.asarray(keys)
        if self._dense:
            if wanted.dtype.kind in "iu" and (
                len(wanted) == 0 or (wanted.min() >= 0 and wanted.max() < len(self.keys))
            ):
                return wanted.astype(np.intp)
            return np.array([self.row(k) for k in keys], dtype=np.intp)
        try:
            at = np.searchsorted(self._sorted_keys, wanted)
        except (TypeError, ValueError):  # keys of another type: let row() say which is missing
            return np.array([self.row(k) for k in keys], dtype=np.intp)
        ok = at < len(self._sorted_keys)
        ok[ok] = self._sorted_keys[at[ok]] == wanted[ok]
        if not ok.all():
            raise KeyError(wanted[np.flatnonzero(~ok)[0]])
        return self._sorted_rows[at]

    def span(self, row: int) -> tuple[int, int]:
        """Return the offset of row ``row`` and where its record ends at the latest."""
        offset = int(self.offsets[row])
        if self._ends is not None:
            return offset, int(self._ends[row])
        return offset, int(self.offsets[row + 1]) if row + 1 < len(self.offsets) else self.size

    def spans(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised :meth:`span`."""
        if self._ends is not None:
            return self.offsets[rows], self._ends[rows]
        following = rows + 1
        last = following >= len(self.offsets)
        following[last] = 0
        ends = self.offsets[following] if len(self.offsets) else np.zeros(0, np.int64)
        ends[last] = self.size
        return self.offsets[rows], ends

    def unique_keys(self) -> np.ndarray:
        """The distinct keys (in file order if they are 0..n-1, else sorted)."""
        return self.keys if self._dense else self._sorted_keys


class IndexView(Mapping):
    """A read-only ``{key: offset}`` view of a :class:`RecordIndex` (MXNet's ``idx`` dict)."""

    def __init__(self, index: RecordIndex) -> None:
        self._index = index

    def __getitem__(self, key: Any) -> int:
        return int(self._index.offsets[self._index.row(key)])

    def __iter__(self) -> Iterator[Any]:
        return iter(self._index.unique_keys().tolist())

    def __len__(self) -> int:
        return len(self._index.unique_keys())
