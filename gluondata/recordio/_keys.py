"""KeyList: an index's keys as MXNet gives them (plain Python objects), over a numpy array."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, overload

import numpy as np

__all__ = ["KeyList"]


def _plain(key: Any) -> Any:
    return key.item() if isinstance(key, np.generic) else key


class KeyList(Sequence[Any]):
    """A read-only sequence of keys, each a plain Python object of the key type.

    MXNet's ``MXIndexedRecordIO.keys`` is a list of ``int`` (or ``str``, ...);
    this is the same to read, without copying the numpy array that holds the
    keys: ``len`` and indexing cost O(1), so ``write_idx(len(w.keys), ...)``
    stays linear. ``np.asarray(keys)`` gives that array (read-only), and
    :meth:`tolist` a list.
    """

    def __init__(self, keys: np.ndarray) -> None:
        self._keys = keys

    def __len__(self) -> int:
        return len(self._keys)

    @overload
    def __getitem__(self, i: int) -> Any: ...
    @overload
    def __getitem__(self, i: slice) -> KeyList: ...
    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            return KeyList(self._keys[i])
        return _plain(self._keys[i])

    def __setitem__(self, i: Any, value: Any) -> None:
        raise TypeError("the keys of an MXIndexedRecordIO are read-only")

    def __iter__(self) -> Iterator[Any]:
        return iter(self._keys.tolist())

    def __contains__(self, key: object) -> bool:
        return bool(np.any(self._keys == key)) if len(self._keys) else False

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (KeyList, list, tuple)):
            return self.tolist() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        return self._keys if dtype is None else self._keys.astype(dtype)

    @property
    def dtype(self) -> np.dtype:
        """The dtype of the array behind the keys."""
        return self._keys.dtype

    def tolist(self) -> list[Any]:
        """The keys as a list of plain Python objects."""
        return self._keys.tolist()

    def __repr__(self) -> str:
        shown = self._keys[:10].tolist()
        more = ", ..." if len(self._keys) > 10 else ""
        return f"KeyList({str(shown)[:-1]}{more}], len={len(self)})"
