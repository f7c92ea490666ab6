"""SampleColumns: a batch of samples held column by column."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["SampleColumns"]


class SampleColumns(Sequence):
    """A batch of samples stored as columns, as a batched fetch returns it.

    It is a sequence of samples, so any batchify function accepts it; the
    built-in ones recognise it and take each column as it is, with no
    per-sample work: a numpy column is already the stacked batch.

    Parameters
    ----------
    columns : sequence
        One entry per field; each is a numpy array whose first axis runs over
        the samples, or a list with one item per sample.
    as_tuple : bool
        Whether a sample is a tuple of fields (else the batch has one column
        and a sample is that column's item).
    """

    __slots__ = ("as_tuple", "columns")

    def __init__(self, columns: Sequence[Any], as_tuple: bool) -> None:
        if not as_tuple and len(columns) != 1:
            raise ValueError("SampleColumns with as_tuple=False holds exactly one column")
        self.columns = tuple(columns)
        self.as_tuple = as_tuple

    def __len__(self) -> int:
        return len(self.columns[0])

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return SampleColumns([c[i] for c in self.columns], self.as_tuple)
        if self.as_tuple:
            return tuple(c[i] for c in self.columns)
        return self.columns[0][i]

    def column(self, k: int) -> SampleColumns:
        """Return field ``k`` as a one-column batch."""
        return SampleColumns([self.columns[k]], as_tuple=False)

    def __repr__(self) -> str:
        kinds = ", ".join(
            f"ndarray {c.dtype} {c.shape}" if isinstance(c, np.ndarray) else f"list[{len(c)}]"
            for c in self.columns
        )
        return f"SampleColumns([{kinds}], as_tuple={self.as_tuple})"
