"""SampleColumns: a batch of samples held column by column; ColumnWriter fills one."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Number
from typing import Any, Protocol

import numpy as np

from .alloc import empty

__all__ = ["ColumnWriter", "SampleColumns", "SampleSink"]


class SampleSink(Protocol):
    """Where a batched fetch puts its samples, one by one: a list, or a :class:`ColumnWriter`."""

    def append(self, sample: Any) -> None: ...


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


# below this many array bytes per sample, stacking the kept samples at the end costs no
# memory worth saving, and checking each sample against the columns would cost time
STREAM_MIN_SAMPLE_BYTES = 64 << 10


class ColumnWriter:
    """Write a batch's samples into its columns as they come, instead of keeping them.

    The first sample sets the layout: an array, or a tuple or list of fields
    (not a namedtuple), gives one column per field; each array field gets a
    batch array made by :func:`~gluondata._loader.alloc.empty` (so in a
    worker process it lies in the slot the batch is handed over in), each
    other field a list. A sample is copied into its row and dropped, so a
    batch's samples never all live on the heap beside the batch. A sample
    that does not fit the layout (another structure, shape or dtype) turns
    the batch back into a plain list of samples for the batchify function
    to deal with, as if nothing had been written.

    Parameters
    ----------
    size : int
        Samples in the batch.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._columns: list[Any] | None = None
        self._as_tuple = False
        self._written = 0
        self._samples: list[Any] = []

    def append(self, sample: Any) -> None:
        """Add the next sample of the batch."""
        if self._columns is None:  # the first sample
            self._columns = self._layout(sample)
            if self._columns is None:
                self._keep_samples()
                self._samples.append(sample)
                return
        if self._fits(sample):
            self._write(sample)
        else:
            self._samples = list(self._written_samples())
            self._columns = None
            self._keep_samples()
            self._samples.append(sample)

    def _keep_samples(self) -> None:
        """From now on keep samples as they are, at the cost of a list's append."""
        self.append = self._samples.append  # type: ignore[method-assign]

    def result(self) -> SampleColumns | list[Any]:
        """The batch's samples: as columns if every sample fitted, else as a list."""
        if self._columns is None:
            return self._samples
        return SampleColumns([c[: self._written] for c in self._columns], self._as_tuple)

    def _layout(self, sample: Any) -> list[Any] | None:
        if isinstance(sample, np.ndarray):
            fields, self._as_tuple = (sample,), False
        elif isinstance(sample, (tuple, list)) and not hasattr(sample, "_fields") and sample:
            fields, self._as_tuple = tuple(sample), True
        else:
            return None
        arrays = [f for f in fields if _streamable(f)]
        if sum(a.nbytes for a in arrays) < STREAM_MIN_SAMPLE_BYTES or not all(
            _streamable(f) or isinstance(f, _SCALARS) for f in fields
        ):
            return None
        return [empty((self._size, *f.shape), f.dtype) if _streamable(f) else [] for f in fields]

    def _fits(self, sample: Any) -> bool:
        columns = self._columns
        assert columns is not None
        if self._as_tuple:
            if not isinstance(sample, (tuple, list)) or hasattr(sample, "_fields"):
                return False
            if len(sample) != len(columns):
                return False
            fields = sample
        else:
            fields = (sample,)
        return all(
            isinstance(column, list)
            or (
                isinstance(field, np.ndarray)
                and field.shape == column.shape[1:]
                and field.dtype == column.dtype
            )
            for field, column in zip(fields, columns, strict=True)
        )

    def _write(self, sample: Any) -> None:
        row = self._written
        fields = sample if self._as_tuple else (sample,)
        for field, column in zip(fields, self._columns or (), strict=True):
            if isinstance(column, list):
                column.append(field)
            else:
                column[row] = field
        self._written += 1

    def _written_samples(self) -> Sequence[Any]:
        """The samples written so far (array fields as views of their rows)."""
        return SampleColumns([c[: self._written] for c in self._columns or ()], self._as_tuple)


_SCALARS = (Number, np.generic, str, bytes)  # other fields, kept in lists


def _streamable(field: Any) -> bool:
    return isinstance(field, np.ndarray) and field.ndim > 0 and not field.dtype.hasobject
