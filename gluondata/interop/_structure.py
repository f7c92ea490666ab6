"""Walking a batch's structure: tuples, lists, namedtuples, dicts and SampleColumns."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

import numpy as np

from .._loader.columns import SampleColumns

__all__ = ["arrays_of", "map_arrays", "require"]


def map_arrays(fn: Callable[[np.ndarray], Any], batch: Any) -> Any:
    """Return ``batch`` with every numpy array ``a`` in it replaced by ``fn(a)``.

    Tuples and lists keep their type (a namedtuple its fields), dicts their
    keys; a :class:`SampleColumns` becomes the tuple of its columns (or its one
    column). Anything else (strings, lists of objects' items) is kept as it is.
    """
    if isinstance(batch, np.ndarray):
        return fn(batch) if batch.dtype.kind in "biufc" else batch
    if isinstance(batch, np.generic) and batch.dtype.kind in "biufc":
        return fn(np.asarray(batch))
    if isinstance(batch, SampleColumns):
        columns = tuple(map_arrays(fn, column) for column in batch.columns)
        return columns if batch.as_tuple else columns[0]
    if isinstance(batch, Mapping):
        return {key: map_arrays(fn, value) for key, value in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return type(batch)(*(map_arrays(fn, field) for field in batch))
    if isinstance(batch, (tuple, list)):
        if batch and not any(isinstance(item, _CONTAINERS) for item in batch):
            return batch  # a list of per-sample objects (strings, ...): not a structure
        return type(batch)(map_arrays(fn, field) for field in batch)
    return batch


_CONTAINERS = (np.ndarray, np.generic, SampleColumns, Mapping, tuple, list)


def arrays_of(batch: Any) -> list[np.ndarray]:
    """Every numeric numpy array in ``batch``, in the order :func:`map_arrays` visits them."""
    found: list[np.ndarray] = []

    def collect(array: np.ndarray) -> np.ndarray:
        found.append(array)
        return array

    map_arrays(collect, batch)
    return found


def require(module: str, extra: str) -> ModuleType:
    """Import ``module``, or raise an ImportError naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(
            f"gluondata.interop needs {module.split('.')[0]!r} for this: "
            f"pip install 'gluondata[{extra}]' (or install {extra} yourself)"
        ) from err
