"""The ``mx.io`` protocol: DataDesc, DataBatch and the DataIter base class."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

__all__ = ["BatchIter", "DataBatch", "DataDesc", "DataIter"]


class DataDesc(namedtuple("DataDesc", ["name", "shape"])):
    """The name, shape, dtype and layout of one data or label array (``mx.io.DataDesc``).

    A ``(name, shape)`` named tuple, so it compares equal to ``("data", (2, 3))``
    and unpacks as ``name, shape = desc``; ``dtype`` and ``layout`` are extra
    attributes.

    Parameters
    ----------
    name : str
        The array's name (``"data"``, ``"softmax_label"``, ...).
    shape : tuple of int
        Its shape, batch axis included.
    dtype : numpy dtype or type, default numpy.float32
        Its element type.
    layout : str, default "NCHW"
        What each axis means; ``N`` is the batch axis.
    """

    dtype: Any
    layout: str

    def __new__(
        cls, name: str, shape: Sequence[int], dtype: Any = np.float32, layout: str = "NCHW"
    ) -> DataDesc:
        desc = super().__new__(cls, name, tuple(shape))
        desc.dtype = dtype
        desc.layout = layout
        return desc

    def __repr__(self) -> str:
        return f"DataDesc[{self.name},{self.shape},{self.dtype},{self.layout}]"

    @staticmethod
    def get_batch_axis(layout: str | None) -> int:
        """Return the batch axis of ``layout``: the position of ``N`` (0 for None)."""
        if layout is None:
            return 0
        return layout.find("N")

    @staticmethod
    def get_list(
        shapes: Sequence[tuple[str, Sequence[int]]],
        types: Sequence[tuple[str, Any]] | None,
    ) -> list[DataDesc]:
        """Build DataDescs from ``(name, shape)`` pairs and optional ``(name, dtype)`` pairs."""
        if types is None:
            return [DataDesc(name, shape) for name, shape in shapes]
        dtypes = dict(types)
        return [DataDesc(name, shape, dtypes[name]) for name, shape in shapes]


class DataBatch:
    """One batch from a :class:`DataIter` (``mx.io.DataBatch``): numpy arrays.

    Parameters
    ----------
    data : list of numpy.ndarray
        The data arrays, each with ``batch_size`` examples along its batch axis.
    label : list of numpy.ndarray, optional
        The label arrays.
    pad : int, optional
        How many examples at the end of the batch are padding (to be ignored
        in prediction); None (MXNet's default) when not given. In the first batch of an epoch under
        ``last_batch_handle='roll_over'`` it counts rolled-over examples
        instead (see each iterator).
    index : numpy.ndarray, optional
        The examples' indices, when the iterator knows them.
    bucket_key : optional
        The bucket key, for bucketing models.
    provide_data, provide_label : list of DataDesc, optional
        Descriptions of ``data`` and ``label``.
    """

    def __init__(
        self,
        data: Sequence[Any] | None,
        label: Sequence[Any] | None = None,
        pad: int | None = None,
        index: Any = None,
        bucket_key: Any = None,
        provide_data: list[DataDesc] | None = None,
        provide_label: list[DataDesc] | None = None,
    ) -> None:
        if data is not None and not isinstance(data, (list, tuple)):
            raise TypeError(f"DataBatch data must be a list of arrays, got {type(data).__name__}")
        if label is not None and not isinstance(label, (list, tuple)):
            raise TypeError(f"DataBatch label must be a list of arrays, got {type(label).__name__}")
        self.data = data
        self.label = label
        self.pad = pad
        self.index = index
        self.bucket_key = bucket_key
        self.provide_data = provide_data
        self.provide_label = provide_label

    def __str__(self) -> str:
        data_shapes = [d.shape for d in self.data]
        label_shapes = [lab.shape for lab in self.label] if self.label else None
        return f"{type(self).__name__}: data shapes: {data_shapes} label shapes: {label_shapes}"

    __repr__ = __str__


class DataIter:
    """Base class of the ``mx.io`` iterators.

    A subclass either defines ``next()`` (and ``reset()``), as in MXNet's
    tutorial, or the finer protocol ``iter_next()`` + ``getdata()`` /
    ``getlabel()`` / ``getpad()`` / ``getindex()``, from which the default
    ``next()`` builds a :class:`DataBatch`. Iterating gives the batches of one
    epoch; ``reset()`` starts the next.

    ``provide_data`` and ``provide_label`` describe the arrays (lists of
    :class:`DataDesc` or ``(name, shape)`` pairs); a subclass may define them
    as properties or assign them.

    Parameters
    ----------
    batch_size : int, default 0
        Examples per batch.
    """

    batch_size: int = 0

    def __init__(self, batch_size: int = 0) -> None:
        self.batch_size = batch_size

    @property
    def provide_data(self) -> list[Any]:
        """Descriptions of the data arrays of a batch."""
        return getattr(self, "_provide_data_list", [])

    @provide_data.setter
    def provide_data(self, value: list[Any]) -> None:
        self._provide_data_list = value

    @property
    def provide_label(self) -> list[Any]:
        """Descriptions of the label arrays of a batch (empty without labels)."""
        return getattr(self, "_provide_label_list", [])

    @provide_label.setter
    def provide_label(self, value: list[Any]) -> None:
        self._provide_label_list = value

    def __iter__(self) -> Iterator[DataBatch]:
        return self

    def reset(self) -> None:
        """Go back to the start of the data (the next epoch)."""

    def next(self) -> DataBatch:
        """Return the next batch.

        Raises
        ------
        StopIteration
            At the end of the epoch.
        """
        if self.iter_next():
            return DataBatch(
                data=self.getdata(),
                label=self.getlabel(),
                pad=self.getpad(),
                index=self.getindex(),
            )
        raise StopIteration

    def __next__(self) -> DataBatch:
        return self.next()

    def iter_next(self) -> bool:
        """Move to the next batch; return whether there is one."""
        return False

    def getdata(self) -> list[Any] | None:
        """Return the data arrays of the current batch."""
        return None

    def getlabel(self) -> list[Any] | None:
        """Return the label arrays of the current batch."""
        return None

    def getindex(self) -> Any:
        """Return the indices of the current batch's examples (None if unknown)."""
        return None

    def getpad(self) -> int | None:
        """Return the number of padding examples in the current batch."""
        return None


def positive_batch_size(batch_size: int) -> int:
    """Return ``int(batch_size)``; raise ValueError unless it is positive."""
    if int(batch_size) <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    return int(batch_size)


class BatchIter(DataIter):
    """A DataIter whose subclass makes whole batches (``_next_batch``).

    ``next()`` and the ``iter_next()`` + ``get*()`` protocol both work: the
    latter reads the batch that ``iter_next()`` made. An iterator that is a C++
    ``MXDataIter`` in MXNet (``CSVIter``, ``ImageRecordIter``) sets
    ``_single_arrays``: its ``getdata()``/``getlabel()`` return the one array,
    not a list, as MXNet's do.
    """

    _current: DataBatch | None = None
    _single_arrays = False

    def _next_batch(self) -> DataBatch | None:
        """Return the next batch of the epoch, or None at its end."""
        raise NotImplementedError

    def next(self) -> DataBatch:
        """Return the next batch.

        Raises
        ------
        StopIteration
            At the end of the epoch (until ``reset()``).
        """
        if not self.iter_next():
            raise StopIteration
        return self._current

    def iter_next(self) -> bool:
        """Make the next batch current; return whether there is one."""
        self._current = self._next_batch()
        return self._current is not None

    def _batch(self) -> DataBatch:
        if self._current is None:
            raise RuntimeError("no current batch: call iter_next() first")
        return self._current

    def getdata(self) -> Any:
        """Return the data arrays of the current batch (the one array, for MXNet's C++ ones)."""
        return self._single(self._batch().data)

    def getlabel(self) -> Any:
        """Return the label arrays of the current batch (the one array, for C++ ones)."""
        return self._single(self._batch().label)

    def _single(self, arrays: Any) -> Any:
        return arrays[0] if self._single_arrays and arrays else arrays

    def getpad(self) -> int:
        """Return the number of padding examples in the current batch."""
        return self._batch().pad

    def getindex(self) -> Any:
        """Return the indices of the current batch's examples (None if unknown)."""
        return self._batch().index
