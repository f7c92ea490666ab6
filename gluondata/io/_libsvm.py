"""LibSVMIter: batches of sparse rows (``scipy.sparse.csr_matrix``) from LibSVM text files."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._base import BatchIter, DataBatch, DataDesc, positive_batch_size
from ._libsvm_parse import Rows, file_list, part_lines, read_rows, split_uri
from ._records import check_part
from ._schedule import Schedule
from ._sparse import scipy_sparse
from ._state import check_iter_state, iter_state

__all__ = ["LibSVMIter"]


class LibSVMIter(BatchIter):
    """Batches of CSR rows from LibSVM files (``mx.io.LibSVMIter``).

    Each line is ``label index:value index:value ...``; ``#`` starts a
    comment, blank lines are skipped, ``label:weight`` and ``qid:n`` are
    accepted (and ignored). A line that does not parse, or an index outside
    ``data_shape``, raises ``ValueError`` naming the file and line.

    Parameters
    ----------
    data_libsvm : str
        The file, or a folder whose files are read in name order. Indices are
        zero-based, as in MXNet; a ``?indexing_mode=1`` suffix (dmlc's URI
        argument) reads one-based files, ``?indexing_mode=-1`` detects them.
    data_shape : (int,)
        Columns of the data.
    label_libsvm : str, optional
        A second LibSVM file whose rows are the labels (multi-label or
        sparse targets): labels are then CSR with ``label_shape`` columns, and
        the labels of ``data_libsvm`` are ignored. None or ``"NULL"``: the
        labels are the first number of each data line, a dense float32 vector.
    label_shape : (int,), default (1,)
        Columns of the labels; more than 1 exactly when ``label_libsvm`` is given.
    batch_size : int, default 1
    num_parts, part_index : int, default 1, 0
        Read only part ``part_index`` of ``num_parts``: the files' bytes are
        cut in equal spans and a line belongs to the span in which it starts,
        as MXNet does (so parts are not of equal row counts).
    round_batch : bool, default True
        Complete a short last batch with rows from the start (``pad`` says how
        many) and start the next epoch after them, as MXNet does (its only
        mode). False: the missing rows are empty (all zero).
    prefetch_buffer : int, default 4
        Accepted for MXNet compatibility (wrap the iterator in a
        :class:`PrefetchingIter` to read ahead in a thread).
    ctx : str, default "gpu"
        Accepted for MXNet compatibility; batches live in host memory.
    data_name, label_name : str
        Names in ``provide_data`` / ``provide_label``.

    Notes
    -----
    The part is parsed into memory when the iterator is made. Batch data is
    ``scipy.sparse.csr_matrix`` of float32 with sorted int64 indices, shape
    ``(batch_size, data_shape[0])``; scipy comes with the ``sparse`` extra.
    """

    _single_arrays = True  # a C++ MXDataIter in MXNet: getdata() is the one array

    def __init__(
        self,
        data_libsvm: str,
        data_shape: Sequence[int],
        label_libsvm: str | None = None,
        label_shape: Sequence[int] = (1,),
        batch_size: int = 1,
        num_parts: int = 1,
        part_index: int = 0,
        round_batch: bool = True,
        prefetch_buffer: int = 4,
        ctx: str = "gpu",
        data_name: str = "data",
        label_name: str = "softmax_label",
    ) -> None:
        super().__init__(positive_batch_size(batch_size))
        self._sparse = scipy_sparse()
        self.data_shape = tuple(int(d) for d in data_shape)
        self.label_shape = tuple(int(d) for d in label_shape)
        self.label_libsvm = None if label_libsvm in (None, "NULL") else os.fspath(label_libsvm)
        self._check(num_parts, part_index)
        self.round_batch = bool(round_batch)
        self._data = self._read(
            os.fspath(data_libsvm), self.data_shape[0], "data_libsvm", num_parts, part_index
        )
        self._labels: Rows | None = None
        if self.label_libsvm is not None:
            self._labels = self._read(
                self.label_libsvm, self.label_shape[0], "label_libsvm", num_parts, part_index
            )
            if len(self._labels) < len(self._data):
                raise ValueError(
                    f"label_libsvm {self.label_libsvm!r} has {len(self._labels)} rows in part "
                    f"{part_index}, fewer than the {len(self._data)} of data_libsvm"
                )
        self.provide_data = [DataDesc(data_name, (self.batch_size, *self.data_shape), np.float32)]
        label_batch = (self.batch_size,)
        if self._labels is not None:
            label_batch = (self.batch_size, *self.label_shape)
        self.provide_label = [DataDesc(label_name, label_batch, np.float32)]
        mode = "round_batch" if self.round_batch else "zeros"
        count = len(self._data)
        self._schedule = Schedule(
            np.arange(count), self.batch_size, mode, lambda _: np.arange(count)
        )
        self._plan: list[tuple[np.ndarray, int]] = []
        self._started = False
        self._begin()

    def _check(self, num_parts: int, part_index: int) -> None:
        if len(self.data_shape) != 1 or len(self.label_shape) != 1:
            raise ValueError(
                f"data_shape and label_shape must have one dimension, got {self.data_shape} "
                f"and {self.label_shape}"
            )
        if self.label_libsvm is not None and self.label_shape[0] <= 1:
            raise ValueError("label_shape must be larger than (1,) when label_libsvm is given")
        if self.label_libsvm is None and self.label_shape != (1,):
            raise ValueError(
                f"label_shape must be (1,) without label_libsvm, got {self.label_shape}"
            )
        check_part(num_parts, part_index)

    def _read(self, uri: str, width: int, what: str, num_parts: int, part_index: int) -> Rows:
        path, args = split_uri(uri)
        mode = int(args.get("indexing_mode", 0))
        return read_rows(
            part_lines(file_list(path, what), part_index, num_parts), width, what, mode
        )

    def _csr(self, rows: Rows, picks: np.ndarray, width: int) -> Any:
        """The CSR matrix of ``rows[picks]`` (-1: an empty row)."""
        starts = np.where(picks >= 0, rows.indptr[np.maximum(picks, 0)], 0)
        ends = np.where(picks >= 0, rows.indptr[np.maximum(picks, 0) + 1], 0)
        lengths = ends - starts
        indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        take = np.concatenate([np.arange(s, e) for s, e in zip(starts, ends, strict=True)])
        take = take.astype(np.int64)
        return self._sparse.csr_matrix(
            (rows.values[take], rows.indices[take], indptr), shape=(len(picks), width)
        )

    def _begin(self) -> None:
        self._plan = list(reversed(self._schedule.plan()))
        self._planned = len(self._plan)
        self._started = False

    def _fingerprint(self) -> dict[str, Any]:
        return {
            "num_rows": len(self._data),
            "batch_size": self.batch_size,
            "round_batch": bool(self.round_batch),
            "data_shape": list(self.data_shape),
        }

    def state_dict(self) -> dict[str, Any]:
        """Return the position after the last batch returned, as a small JSON-serializable dict.

        :meth:`load_state_dict` on an iterator over the same files continues
        with the same batches (a ``round_batch`` carry included).
        """
        position = {
            "schedule": self._schedule.state(),
            "in_epoch": self._started,
            "batches": self._planned - len(self._plan),
        }
        return iter_state("LibSVMIter", self._fingerprint(), position)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from ``state`` (from :meth:`state_dict`).

        Raises
        ------
        ValueError
            The state is of other files, batch size, ... or a newer version.
        """
        required = ("schedule", "in_epoch", "batches")
        check_iter_state("LibSVMIter", state, self._fingerprint(), required)
        self._schedule.load_state(state["schedule"])
        self._begin()
        if state["in_epoch"]:
            del self._plan[len(self._plan) - int(state["batches"]) :]
            self._started = True

    def reset(self) -> None:
        """Start the next epoch (after the rows a ``round_batch`` batch borrowed)."""
        if not self._started:
            return
        self._schedule.finish(completed=not self._plan)
        self._begin()

    def _next_batch(self) -> DataBatch | None:
        if not self._plan:
            return None
        self._started = True
        picks, pad = self._plan.pop()
        data = self._csr(self._data, picks, self.data_shape[0])
        if self._labels is not None:
            label = self._csr(self._labels, picks, self.label_shape[0])
        else:
            label = np.where(picks >= 0, self._data.labels[np.maximum(picks, 0)], 0)
            label = label.astype(np.float32)
        return DataBatch(
            [data],
            [label],
            pad=pad,
            index=picks.copy(),
            provide_data=self.provide_data,
            provide_label=self.provide_label,
        )
