"""Which sample a worker process is loading, so that a crash can be pinned on it.

A worker process writes, into a small shared array the main process can read
after the worker is gone, the task, the batch and the dataset index it is on.
When a worker dies twice on the same index (a segfault in a C decoder, an
``os._exit`` in user code, the OOM killer on a huge sample), the main process
marks that index as *lethal*: from then on loading it raises
:class:`SampleCrashedWorkerError` without calling the dataset, so the
loader's bad-sample policy deals with it like any sample that fails to load.

Outside a pool worker (the main process, threads) nothing is recorded and
nothing is lethal: each call below costs an attribute test.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "BATCHED_FETCH",
    "IDLE",
    "NOT_IN_A_SAMPLE",
    "BatchKey",
    "SampleCrashedWorkerError",
    "Verdicts",
    "done_loading",
    "install",
    "loading_batch",
    "loading_batched",
    "loading_sample",
    "one_by_one",
    "running_task",
    "update",
]

IDLE = -1  # the task field: no task running
NOT_IN_A_SAMPLE = -1  # the index field: in batchify_fn, encoding, or between samples
BATCHED_FETCH = -2  # the index field: inside the dataset's __getitems__ (the index is unknown)
TASK, POSITION, INDEX = 0, 1, 2  # the fields of the shared cell

BatchKey = tuple[int, int]  # (epoch, position in the epoch)


class SampleCrashedWorkerError(RuntimeError):
    """Loading this dataset index killed a worker process twice (the signal is in the message)."""


class Verdicts:
    """What the main process has concluded from worker deaths, sent to every worker.

    Attributes
    ----------
    lethal_indices : dict of int to str
        Dataset indices that killed a worker twice, with why (the signal).
    lethal_batches : dict of BatchKey to str
        Batches that killed a worker twice outside any sample (in ``batchify_fn``).
    careful_batches : set of BatchKey
        Batches to load one sample at a time (a worker died in their ``__getitems__``).
    """

    def __init__(self) -> None:
        self.lethal_indices: dict[int, str] = {}
        self.lethal_batches: dict[BatchKey, str] = {}
        self.careful_batches: set[BatchKey] = set()

    def any(self) -> bool:
        """Whether there is anything to tell a new worker."""
        return bool(self.lethal_indices or self.lethal_batches or self.careful_batches)

    def as_message(self) -> tuple[Any, ...]:
        return ("verdicts", self.lethal_indices, self.lethal_batches, self.careful_batches)


_cell: Any = None  # the shared array (task, position, index) of this worker, if one
_lethal_indices: Mapping[int, str] = {}
_lethal_batches: Mapping[BatchKey, str] = {}
_careful_batches: set[BatchKey] = set()


def install(cell: Any) -> None:
    """In a worker process: record progress into ``cell`` (three int64, read by the main)."""
    global _cell
    _cell = cell
    cell[TASK] = IDLE


def update(
    lethal_indices: Mapping[int, str],
    lethal_batches: Mapping[BatchKey, str],
    careful_batches: set[BatchKey],
) -> None:
    """In a worker process: take the main process's latest verdicts."""
    global _lethal_indices, _lethal_batches, _careful_batches
    _lethal_indices, _lethal_batches, _careful_batches = (
        lethal_indices,
        lethal_batches,
        careful_batches,
    )


def running_task(task_id: int) -> None:
    """A task starts (``IDLE`` when it is done)."""
    if _cell is not None:
        _cell[TASK] = task_id
        _cell[INDEX] = NOT_IN_A_SAMPLE


def loading_batch(task: Any) -> None:
    """A batch starts (a :class:`~gluondata._loader.fetch.BatchTask`); raise if it killed
    workers twice before."""
    if _cell is None:
        return
    _cell[POSITION] = task.position
    _cell[INDEX] = NOT_IN_A_SAMPLE
    reason = _lethal_batches.get((task.epoch, task.position))
    if reason is not None:
        raise SampleCrashedWorkerError(
            f"{task.describe()} killed worker processes twice outside any one sample "
            f"(in batchify_fn or while sending the batch): {reason}"
        )


def loading_sample(index: int) -> None:
    """Dataset index ``index`` is about to load; raise if it killed workers twice before."""
    if _cell is None:
        return
    _cell[INDEX] = index
    reason = _lethal_indices.get(index)
    if reason is not None:
        raise SampleCrashedWorkerError(
            f"dataset index {index} killed worker processes twice ({reason}); "
            "it is not loaded again by this loader"
        )


def loading_batched() -> None:
    """The dataset's ``__getitems__`` is about to run (``loading_sample`` marks its end)."""
    if _cell is not None:
        _cell[INDEX] = BATCHED_FETCH


def done_loading() -> None:
    """No sample is loading now (the batch goes on to batchify_fn)."""
    if _cell is not None:
        _cell[INDEX] = NOT_IN_A_SAMPLE


def one_by_one(key: BatchKey) -> bool:
    """Whether this batch must skip ``__getitems__`` (a worker died inside it)."""
    return key in _careful_batches
