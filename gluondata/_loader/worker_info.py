"""``get_worker_info()``: what a worker knows about itself."""

from __future__ import annotations

import threading
from typing import Any, NamedTuple

__all__ = ["WorkerInfo", "get_worker_info", "set_worker_info"]


class WorkerInfo(NamedTuple):
    """The worker running the current code.

    Attributes
    ----------
    id : int
        0 .. num_workers - 1.
    num_workers : int
        Workers of the loader.
    seed : int
        The loader's seed.
    dataset : Any
        This worker's copy of the dataset.
    """

    id: int
    num_workers: int
    seed: int
    dataset: Any


_local = threading.local()


def set_worker_info(info: WorkerInfo | None) -> None:
    """Record the worker running in this thread."""
    _local.info = info


def get_worker_info() -> WorkerInfo | None:
    """Return the :class:`WorkerInfo` of the worker running this code, or None in the main loop.

    Useful in ``worker_init_fn`` or ``__getitem__``, e.g. to open one file
    handle per worker.
    """
    return getattr(_local, "info", None)
