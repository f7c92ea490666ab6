"""StringArray: many strings in two numpy arrays, safe to share with forked workers.

A Python list of a million file names is a million objects; every worker
process that reads them touches their reference counts, which copies the
pages they live on (copy-on-write), so each worker's memory grows towards a
full copy over an epoch. A :class:`StringArray` keeps the same strings in
two flat numpy arrays, which reads never write to.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator, Sequence
from typing import overload

import numpy as np

__all__ = ["StringArray"]


class StringArray(Sequence[str]):
    """An immutable sequence of strings stored as UTF-8 bytes plus offsets.

    File names that are not valid UTF-8 (``os.fsdecode`` gives them lone
    surrogates) round-trip unchanged.

    Parameters
    ----------
    strings : iterable of str
        The strings to store.

    Examples
    --------
    >>> names = StringArray(["a.jpg", "b.jpg"])
    >>> names[1], len(names)
    ('b.jpg', 2)
    """

    def __init__(self, strings: Iterable[str]) -> None:
        encoded = [s.encode("utf-8", "surrogateescape") for s in strings]
        self._offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(b) for b in encoded], out=self._offsets[1:])
        self._data = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        self._offsets.flags.writeable = False

    def __len__(self) -> int:
        return len(self._offsets) - 1

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> StringArray: ...

    def __getitem__(self, index: int | slice) -> str | StringArray:
        if isinstance(index, slice):
            return StringArray(self[i] for i in range(*index.indices(len(self))))
        i = operator.index(index)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"index {index} is out of range for {len(self)} strings")
        return (
            self._data[self._offsets[i] : self._offsets[i + 1]]
            .tobytes()
            .decode("utf-8", "surrogateescape")
        )

    def __iter__(self) -> Iterator[str]:
        for i in range(len(self)):
            yield self[i]

    @property
    def nbytes(self) -> int:
        """Bytes of memory the strings take."""
        return self._data.nbytes + self._offsets.nbytes

    def __repr__(self) -> str:
        shown = ", ".join(repr(s) for s in self[:3]) if len(self) else ""
        more = ", ..." if len(self) > 3 else ""
        return f"StringArray([{shown}{more}], len={len(self)})"
