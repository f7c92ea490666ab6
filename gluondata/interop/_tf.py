"""to_tf: a DataLoader as a ``tf.data.Dataset``."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from ._structure import map_arrays, require

__all__ = ["to_tf"]


def to_tf(loader: Any, output_signature: Any = None) -> Any:
    """Return a ``tf.data.Dataset`` of ``loader``'s batches with an exact ``output_signature``.

    Each iteration of the dataset is one pass over the loader (its workers do
    the work). The signature is read from the first batch: its structure
    (tuples, dicts, ``SampleColumns`` as tuples), dtypes and shapes, the batch
    axis ``None`` when a short last batch can occur. Reading it starts the
    loader's next pass, whose batches the dataset's first iteration then
    yields (no batch is lost or computed twice). Pass ``output_signature``
    yourself when samples vary in shape from batch to batch (padded batches).

    Parameters
    ----------
    loader : DataLoader
        Any iterable of batches with ``len()``.
    output_signature : nested tf.TensorSpec, optional
        The signature (default: read from the first batch as above).
    """
    tf = require("tensorflow", "tensorflow")
    passes = _Passes(loader)
    if output_signature is None:
        output_signature = _signature(tf, passes.first_batch(), _fixed_batch_size(loader))
    return tf.data.Dataset.from_generator(passes, output_signature=output_signature)


class _Passes:
    """A generator function for ``from_generator``: each call is one pass over the loader."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self._started: Iterator[Any] | None = None
        self._first: list[Any] = []

    def first_batch(self) -> Any:
        self._started = iter(self.loader)
        self._first = [next(self._started)]
        return self._first[0]

    def __call__(self) -> Iterator[Any]:
        started, first = self._started, self._first
        self._started, self._first = None, []
        batches = iter(self.loader) if started is None else itertools.chain(first, started)
        for batch in batches:
            yield _for_tf(batch)


def _for_tf(batch: Any) -> Any:
    """The batch as tf.data takes a structure: lists and SampleColumns become tuples."""
    batch = map_arrays(lambda array: array, batch)
    if isinstance(batch, Mapping):
        return {key: _for_tf(value) for key, value in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return type(batch)(*(_for_tf(field) for field in batch))
    if isinstance(batch, (tuple, list)):
        return tuple(_for_tf(field) for field in batch)
    return batch


def _signature(tf: Any, batch: Any, batch_size: int | None) -> Any:
    def spec(array: np.ndarray) -> Any:
        return tf.TensorSpec((batch_size, *array.shape[1:]), tf.as_dtype(array.dtype))

    batch = _for_tf(batch)
    if isinstance(batch, (str, bytes)) or (
        isinstance(batch, tuple) and any(isinstance(item, (str, bytes)) for item in batch)
    ):
        raise TypeError("to_tf: pass output_signature for batches of strings")
    return map_arrays(spec, batch)


def _fixed_batch_size(loader: Any) -> int | None:
    """The batch size if every batch of ``loader`` has it, else None."""
    sampler = getattr(loader, "batch_sampler", None)
    size = getattr(sampler, "batch_size", None)
    last_batch = getattr(sampler, "last_batch", None)
    if size is None or last_batch is None:
        return None
    if last_batch in ("discard", "rollover"):
        return int(size)
    try:
        divides = len(sampler.sampler) % size == 0
    except (AttributeError, TypeError):
        return None
    return int(size) if divides else None
