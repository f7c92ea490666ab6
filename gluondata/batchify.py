"""Batchify functions: turn a list of samples into one batch.

Each takes the samples of a batch (a sequence) and returns the batch. The
samples may come as a :class:`SampleColumns` (from a batched fetch); every
function here takes its columns as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from numbers import Number
from typing import Any

import numpy as np

from ._loader.alloc import empty
from ._loader.columns import SampleColumns

__all__ = [
    "Append",
    "AsList",
    "Dict",
    "Group",
    "Pad",
    "SampleColumns",
    "Stack",
    "default_batchify_fn",
]

Batchify = Callable[[Sequence[Any]], Any]


def _stack_arrays(data: Sequence[Any]) -> np.ndarray:
    """Stack equally shaped arrays (or numbers) along a new first axis."""
    if isinstance(data, SampleColumns):
        column = data.columns[0]
        if isinstance(column, np.ndarray):
            return column
        data = column
    first = data[0]
    if not isinstance(first, np.ndarray):
        return np.asarray(data)
    dtype = first.dtype
    if any(getattr(x, "dtype", None) != dtype for x in data):
        dtype = np.result_type(*data)
    try:
        return np.stack(data, out=empty((len(data), *first.shape), dtype))
    except ValueError as err:
        shapes = sorted({np.shape(x) for x in data})
        raise ValueError(
            f"cannot stack samples of different shapes {shapes[:4]}"
            f"{' ...' if len(shapes) > 4 else ''}: use gluondata.batchify.Pad() "
            "for this field (Group(Pad(), Stack()) for (data, label) samples)"
        ) from err


def _fields(data: Sequence[Any]) -> list[Sequence[Any]]:
    """Transpose a batch of tuple/list samples into one sequence per field."""
    if isinstance(data, SampleColumns):
        return [data.column(k) for k in range(len(data.columns))]
    width = len(data[0])
    for i, sample in enumerate(data):
        if len(sample) != width:
            raise ValueError(
                f"samples of one batch have different numbers of fields: sample 0 has "
                f"{width}, sample {i} has {len(sample)}"
            )
    return [list(field) for field in zip(*data, strict=True)]


def _is_tuple_batch(data: Sequence[Any]) -> bool:
    if isinstance(data, SampleColumns):
        return data.as_tuple
    return isinstance(data[0], (tuple, list))


class Stack:
    """Stack samples into one array along a new first axis.

    Tuple and list samples are transposed and each field stacked, giving a
    list of arrays. Python numbers become arrays (int → int64,
    float → float64, bool → bool).
    """

    takes_columns = True  # the DataLoader may give it SampleColumns written sample by sample

    def __call__(self, data: Sequence[Any]) -> Any:
        if _is_tuple_batch(data):
            return [self(field) for field in _fields(data)]
        return _stack_arrays(data)

    def __repr__(self) -> str:
        return "Stack()"


class Pad:
    """Pad arrays of different shapes to the largest along every axis, then stack.

    Parameters
    ----------
    val : number, default 0
        The padding value.
    dtype : numpy dtype, optional
        Dtype of the batch; that of the first sample when omitted.
    round_to : int, optional
        Round each padded size up to a multiple of this.
    ret_length : bool, default False
        Also return each sample's original length along the first axis (an
        int64 array), as ``(batch, lengths)``.
    """

    def __init__(
        self,
        val: Number = 0,
        dtype: Any = None,
        round_to: int | None = None,
        ret_length: bool = False,
    ) -> None:
        if round_to is not None and round_to <= 0:
            raise ValueError(f"round_to must be a positive integer, got {round_to}")
        self._val = val
        self._dtype = dtype
        self._round_to = round_to
        self._ret_length = ret_length

    def __call__(self, data: Sequence[Any]) -> Any:
        if _is_tuple_batch(data) and not isinstance(data[0], list):
            raise TypeError(
                "Pad() does not support samples with several fields; "
                "use Group(Pad(), Pad(), ...) instead"
            )
        arrays = [np.asarray(x) for x in data]
        ndim = arrays[0].ndim
        if any(a.ndim != ndim for a in arrays):
            raise ValueError(
                f"Pad() needs samples with the same number of dimensions, got "
                f"{sorted({a.ndim for a in arrays})}"
            )
        shape = np.max([a.shape for a in arrays], axis=0) if ndim else np.array([], int)
        if self._round_to:
            shape = -(-shape // self._round_to) * self._round_to
        dtype = self._dtype if self._dtype is not None else arrays[0].dtype
        out = empty((len(arrays), *shape.tolist()), dtype)
        out.fill(self._val)
        for row, a in zip(out, arrays, strict=True):
            row[tuple(slice(0, n) for n in a.shape)] = a
        if self._ret_length:
            lengths = np.array([a.shape[0] if a.ndim else 1 for a in arrays], dtype=np.int64)
            return out, lengths
        return out

    def __repr__(self) -> str:
        return (
            f"Pad(val={self._val}, dtype={self._dtype}, round_to={self._round_to}, "
            f"ret_length={self._ret_length})"
        )


class Append:
    """Keep samples as a list of arrays, each with a batch axis of size 1.

    Parameters
    ----------
    expand : bool, default True
        Add the batch axis to each sample.
    batch_axis : int, default 0
        Where the batch axis goes.
    """

    def __init__(self, expand: bool = True, batch_axis: int = 0) -> None:
        self._expand = expand
        self._batch_axis = batch_axis

    def __call__(self, data: Sequence[Any]) -> list[np.ndarray]:
        arrays = [np.asarray(x) for x in data]
        if self._expand:
            return [np.expand_dims(a, axis=self._batch_axis) for a in arrays]
        return arrays

    def __repr__(self) -> str:
        return f"Append(expand={self._expand}, batch_axis={self._batch_axis})"


class Group:
    """Batchify each field of tuple samples with its own function.

    ``Group(Stack(), Pad())`` or ``Group([Stack(), Pad()])``; returns a tuple.
    """

    def __init__(self, fn: Batchify | Sequence[Batchify], *fns: Batchify) -> None:
        if isinstance(fn, (list, tuple)):
            if fns:
                raise ValueError("pass Group either a list of functions or functions, not both")
            fns = tuple(fn)
        else:
            fns = (fn, *fns)
        for f in fns:
            if not callable(f):
                raise TypeError(f"Group needs callables, got {f!r}")
        self._fns = fns

    @property
    def takes_columns(self) -> bool:
        """Whether every field's function takes SampleColumns written sample by sample."""
        return all(getattr(fn, "takes_columns", False) for fn in self._fns)

    def __call__(self, data: Sequence[Any]) -> tuple[Any, ...]:
        width = len(data.columns) if isinstance(data, SampleColumns) else len(data[0])
        if width != len(self._fns):
            raise ValueError(
                f"Group has {len(self._fns)} functions but the samples have {width} fields"
            )
        return tuple(fn(field) for fn, field in zip(self._fns, _fields(data), strict=True))

    def __repr__(self) -> str:
        return f"Group({', '.join(map(repr, self._fns))})"


class AsList:
    """Return the samples as a plain list (for strings and other objects)."""

    def __call__(self, data: Sequence[Any]) -> list[Any]:
        return list(data)

    def __repr__(self) -> str:
        return "AsList()"


class Dict:
    """Batchify dict samples key by key.

    Parameters
    ----------
    fns : dict
        ``{key: batchify function}``; the batch is a dict with these keys
        (other keys of the samples are left out).
    """

    def __init__(self, fns: Mapping[Any, Batchify]) -> None:
        for key, f in fns.items():
            if not callable(f):
                raise TypeError(f"Dict needs a callable for key {key!r}, got {f!r}")
        self._fns = dict(fns)

    def __call__(self, data: Sequence[Mapping[Any, Any]]) -> dict[Any, Any]:
        return {key: fn([sample[key] for sample in data]) for key, fn in self._fns.items()}

    def __repr__(self) -> str:
        return f"Dict({self._fns!r})"


def default_batchify_fn(data: Sequence[Any]) -> Any:
    """Batchify samples of any structure.

    Arrays and numbers are stacked; tuples and lists are transposed and each
    field batchified (giving a list; a namedtuple keeps its type); dicts are
    batchified per key; strings, bytes and other objects become lists.

    Raises
    ------
    ValueError
        For arrays of different shapes (use :class:`Pad`).
    """
    if isinstance(data, SampleColumns):
        batches = [c if isinstance(c, np.ndarray) else default_batchify_fn(c) for c in data.columns]
        return batches if data.as_tuple else batches[0]
    first = data[0]
    if isinstance(first, (np.ndarray, np.generic, Number)) and not isinstance(first, np.str_):
        return _stack_arrays(data)
    if isinstance(first, Mapping):
        return {key: default_batchify_fn([sample[key] for sample in data]) for key in first}
    if isinstance(first, tuple) and hasattr(first, "_fields"):
        return type(first)(*(default_batchify_fn(f) for f in _fields(data)))
    if isinstance(first, (tuple, list)):
        return [default_batchify_fn(field) for field in _fields(data)]
    return list(data)


default_batchify_fn.takes_columns = True  # type: ignore[attr-defined]
