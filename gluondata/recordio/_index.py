"""The .idx file of a RecordIO file: ``key<TAB>offset`` lines, held in numpy arrays.

A key may occur on several lines; as in MXNet, the last line wins. Keys and
offsets stay in numpy arrays (no Python object per record), so forked workers
share the pages, and lookups are binary searches.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np

from ._format import RecordIOError

__all__ = ["IndexView", "KeyLog", "RecordIndex", "format_line"]

_SAFE = 10**18  # numbers below this in magnitude are read exactly as int64
_INT64_MIN, _INT64_MAX = int(np.iinfo(np.int64).min), int(np.iinfo(np.int64).max)


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
            if not last.all():
                self._warn_repeated(order, ranked, last)

    def _warn_repeated(self, order: np.ndarray, ranked: np.ndarray, last: np.ndarray) -> None:
        """Warn of keys on several lines, naming the first such key and its first and last line."""
        first = int(np.flatnonzero(~last)[0])  # the first line of the first repeated key...
        end = first + int(np.flatnonzero(last[first:])[0])  # ...and its last line
        repeated = int(np.count_nonzero(~last[:-1] & last[1:]))
        key = ranked[first]
        key = key.item() if isinstance(key, np.generic) else key
        more = f"; {repeated} keys appear on more than one line" if repeated > 1 else ""
        warnings.warn(
            f"{self.name}: key {key!r} appears on line {int(order[first]) + 1} and again on line "
            f"{int(order[end]) + 1}; reading by key gives the last one, as MXNet does{more}",
            stacklevel=4,
        )

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
        pairs = _int_pairs(data) if key_type is int else None
        if pairs is not None:
            return cls(pairs[:, 0].copy(), pairs[:, 1].copy(), name)
        keys, offsets = [], []
        for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            fields = line.strip().split("\t")
            try:
                if len(fields) < 2:
                    raise ValueError("no tab")
                key, offset = key_type(fields[0]), int(fields[1])
                if not _INT64_MIN <= offset <= _INT64_MAX:
                    raise ValueError("the offset does not fit in 64 bits")
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
        if not len(offsets) and size:
            warnings.warn(
                f"{self.name} is empty but {rec_name} holds {size} bytes: no record can be read "
                "by key; rebuild the index with gluondata.recordio.build_index",
                stacklevel=4,
            )
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


def _int_pairs(data: bytes) -> np.ndarray | None:
    """Read ``key<TAB>offset`` lines of plain integers; None if a line is not one.

    A line must be ``-?[0-9]+\\t[0-9]+\\r?\\n``. The check is a few whole-buffer
    byte operations, not a regular expression (which took most of the parse
    time of a large .idx): with the digits (and each key's sign) deleted, every
    line must read ``"\\t\\n"``; numpy must then read exactly two numbers a
    line, none so large that its int64 parse may have saturated. ``data`` ends
    with a newline. On None, the line-by-line parser names the first bad line.
    """
    unix = data.replace(b"\r\n", b"\n") if b"\r" in data else data
    unsigned = unix.replace(b"\n-", b"\n").removeprefix(b"-") if b"-" in unix else unix
    separators = unsigned.translate(None, b"0123456789")
    lines = len(separators) // 2
    if separators != b"\t\n" * lines:
        return None
    try:
        with warnings.catch_warnings():  # older numpy warns, newer raises, on unreadable text
            warnings.simplefilter("ignore", DeprecationWarning)
            numbers = np.fromstring(unix, dtype=np.int64, sep=" ")
    except ValueError:
        return None
    if len(numbers) != 2 * lines or np.any((numbers >= _SAFE) | (numbers <= -_SAFE)):
        return None
    return numbers.reshape(-1, 2)


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


class KeyLog:
    """The keys and offsets a writer has put in its .idx, readable in O(1) at any time.

    The keys go into a numpy array whose capacity doubles when it is full (its
    dtype widens when a key needs it, e.g. a longer string); :attr:`keys` is a
    read-only view of the filled part, so ``writer.write_idx(len(writer.keys), ...)``
    stays linear over a file.
    """

    def __init__(self) -> None:
        self._keys = np.empty(0, dtype=np.int64)
        self._count = 0
        self._offsets: dict[Any, int] = {}

    def append(self, key: Any, offset: int) -> None:
        """Log ``key`` at ``offset`` (a repeated key's latest offset wins in :attr:`idx`)."""
        count, keys = self._count, self._keys
        if count == len(keys) or not _fits(key, keys.dtype):
            dtype = _key_dtype(key, keys.dtype if count else None)
            if dtype != keys.dtype or count == len(keys):
                grown = np.empty(max(16, 2 * count) if count == len(keys) else len(keys), dtype)
                grown[:count] = keys[:count]
                self._keys = keys = grown
        keys[count] = key
        self._count = count + 1
        self._offsets[key] = offset

    @property
    def keys(self) -> np.ndarray:
        """The keys in the order logged (a read-only view)."""
        view = self._keys[: self._count]
        view.flags.writeable = False
        return view

    @property
    def idx(self) -> Mapping[Any, int]:
        """``{key: offset}``, read-only (a live view, not a copy)."""
        return MappingProxyType(self._offsets)


def _fits(key: Any, dtype: np.dtype) -> bool:
    """Whether ``key`` can be stored in an array of ``dtype`` as it is (a quick check)."""
    if dtype.kind == "i":
        return type(key) is int and _INT64_MIN <= key <= _INT64_MAX
    if dtype.kind == "U":
        return type(key) is str and len(key) <= dtype.itemsize // 4
    return dtype.kind == "O"


def _key_dtype(key: Any, current: np.dtype | None) -> np.dtype:
    """The dtype an array of keys needs once ``key`` joins keys of dtype ``current``."""
    new = np.asarray(key).dtype if np.ndim(key) == 0 else np.dtype(object)
    if current is None:
        return new
    try:
        dtype = np.result_type(current, new)
    except TypeError:  # e.g. numbers and strings: keep each key as it is
        return np.dtype(object)
    if dtype.kind == "f" and current.kind in "iub" and new.kind in "iub":
        return np.dtype(object)  # int64 and uint64 keys: no lossy float64
    return dtype
