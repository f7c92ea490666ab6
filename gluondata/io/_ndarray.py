"""NDArrayIter: batches from in-memory (or memory-mapped) numpy arrays."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ._base import DataBatch, DataDesc, DataIter, positive_batch_size
from ._sparse import is_sparse
from ._state import check_iter_state, iter_state, unseeded_shuffle

__all__ = ["LAST_BATCH_HANDLES", "NDArrayIter", "named_arrays"]

LAST_BATCH_HANDLES = ("pad", "discard", "roll_over")


def named_arrays(data: Any, allow_empty: bool, default_name: str) -> list[tuple[str, np.ndarray]]:
    """Normalise iterator input to ``[(name, array), ...]`` sorted by name, as MXNet does.

    An array is named ``default_name``; a list (or tuple) is a list of
    sources, named ``default_name`` if it has one element and
    ``_0_<default_name>``, ``_1_<default_name>``, ... otherwise; a dict keeps
    its names. numpy arrays (memory maps included) are kept as they are,
    scipy sparse matrices become CSR, anything else goes through ``numpy.asarray``.
    """
    if data is None:
        if not allow_empty:
            raise ValueError("NDArrayIter needs data")
        data = []
    if isinstance(data, np.ndarray) or not isinstance(data, (list, tuple, Mapping)):
        data = [data]
    if isinstance(data, (list, tuple)):
        if not data and not allow_empty:
            raise ValueError("NDArrayIter needs at least one data array")
        if len(data) == 1:
            data = {default_name: data[0]}
        else:
            data = {f"_{i}_{default_name}": d for i, d in enumerate(data)}
    named = []
    for name, value in data.items():
        if is_sparse(value):
            named.append((str(name), value.tocsr()))
            continue
        array = value if isinstance(value, np.ndarray) else np.asarray(value)
        if array.dtype == object:
            raise TypeError(
                f"{name}: expected a numeric array (numpy array, list of numbers, ...), "
                f"got {type(value).__name__} holding Python objects"
            )
        named.append((str(name), array))
    return sorted(named, key=lambda item: item[0])


class NDArrayIter(DataIter):
    """Iterate over numpy arrays in batches (``mx.io.NDArrayIter``).

    Parameters
    ----------
    data : array, list of arrays or dict of name to array
        The input data. A list is a list of sources (``[a, b]`` gives two
        data arrays, named ``_0_data`` and ``_1_data``); arrays are sorted by
        name. numpy arrays keep their dtype (memory maps are read batch by batch).
        A ``scipy.sparse`` matrix (CSR) gives CSR batches; it needs
        ``last_batch_handle='discard'``, as in MXNet.
    label : array, list of arrays or dict of name to array, optional
        The labels (none: ``provide_label`` and each batch's ``label`` are empty).
    batch_size : int, default 1
        Examples per batch.
    shuffle : bool, default False
        Visit the examples in a new random order every epoch (``reset()``).
    last_batch_handle : {'pad', 'discard', 'roll_over'}, default 'pad'
        A short last batch is completed with examples from the start of the
        (current) order and ``pad`` says how many (``'pad'``), dropped
        (``'discard'``), or kept to open the next epoch (``'roll_over'``: the
        first batch after ``reset()`` holds the kept examples followed by new
        ones, and its ``pad`` is the number of kept examples, as in MXNet).
    data_name : str, default "data"
        Name of a single data array.
    label_name : str, default "softmax_label"
        Name of a single label array.
    layout : str, default "NCHW"
        Where the batch axis is (the position of ``N``).
    seed : int, optional
        Seed of the shuffle: the order of the ``e``-th shuffle is a
        permutation drawn from ``(seed, e)``, so :meth:`state_dict` can save
        it. Without it the shuffle uses numpy's global generator exactly as
        MXNet does, so ``np.random.seed(s)`` gives MXNet's order.

    Notes
    -----
    Every batch holds new arrays (copies of the examples), so changing a
    batch in place never changes the source arrays.
    """

    def __init__(
        self,
        data: Any,
        label: Any = None,
        batch_size: int = 1,
        shuffle: bool = False,
        last_batch_handle: str = "pad",
        data_name: str = "data",
        label_name: str = "softmax_label",
        layout: str = "NCHW",
        seed: int | None = None,
    ) -> None:
        if last_batch_handle not in LAST_BATCH_HANDLES:
            raise ValueError(
                f"last_batch_handle must be one of {LAST_BATCH_HANDLES}, got {last_batch_handle!r}"
            )
        super().__init__(positive_batch_size(batch_size))
        self.layout = layout
        self._axis = layout.find("N")
        if self._axis < 0:
            raise ValueError(f"layout {layout!r} has no batch axis 'N'")
        self.data = named_arrays(data, allow_empty=False, default_name=data_name)
        self.label = named_arrays(label, allow_empty=True, default_name=label_name)
        self.num_data = self._check_lengths()
        if last_batch_handle != "discard" and any(
            is_sparse(array) for _, array in self.data + self.label
        ):
            raise NotImplementedError(
                "NDArrayIter only supports sparse (CSR) data or labels with "
                f"last_batch_handle='discard', got {last_batch_handle!r}"
            )
        if last_batch_handle == "roll_over" and self.batch_size > self.num_data:
            raise ValueError(
                f"last_batch_handle='roll_over' needs batch_size ({self.batch_size}) <= the "
                f"number of examples ({self.num_data}): no batch could ever be completed"
            )
        self.shuffle = shuffle
        self.last_batch_handle = last_batch_handle
        self._seed = None if seed is None else int(seed)
        self._shuffles = 0  # shuffles so far: the next one is drawn from (seed, _shuffles)
        self.idx = np.arange(self.num_data)
        self._order = np.arange(self.num_data)
        self._cache: np.ndarray | None = None
        self.cursor = -self.batch_size
        self.reset()

    def _check_lengths(self) -> int:
        lengths = {}
        for name, array in self.data + self.label:
            if is_sparse(array) and self._axis != 0:
                raise ValueError(f"{name} is sparse: its batch axis must be 0, not {self._axis}")
            if array.ndim <= self._axis:
                raise ValueError(
                    f"{name} has shape {array.shape}: no batch axis {self._axis} "
                    f"(layout {self.layout!r})"
                )
            lengths[name] = array.shape[self._axis]
        if len(set(lengths.values())) > 1:
            raise ValueError(f"data and label arrays differ in length: {lengths}")
        return next(iter(lengths.values()))

    def _describe(self, arrays: list[tuple[str, np.ndarray]]) -> list[DataDesc]:
        descs = []
        for name, array in arrays:
            shape = list(array.shape)
            shape[self._axis] = self.batch_size
            descs.append(DataDesc(name, tuple(shape), array.dtype.type, layout=self.layout))
        return descs

    @property
    def provide_data(self) -> list[DataDesc]:
        """One DataDesc per data array, with the batch size on the batch axis."""
        return self._describe(self.data)

    @property
    def provide_label(self) -> list[DataDesc]:
        """One DataDesc per label array (empty without labels)."""
        return self._describe(self.label)

    def _shuffle(self) -> None:
        # MXNet shuffles its index array in place and reorders the (already
        # reordered) data by it; composing the orders gives the same batches.
        if self._seed is None:
            np.random.shuffle(self.idx)
            self._order = self._order[self.idx]
        else:
            self._order = self._seeded_order(self._shuffles)
        self._shuffles += 1

    def _seeded_order(self, shuffle: int) -> np.ndarray:
        return np.random.default_rng([self._seed, shuffle]).permutation(self.num_data)

    def _fingerprint(self) -> dict[str, Any]:
        return {
            "num_data": self.num_data,
            "batch_size": self.batch_size,
            "last_batch_handle": self.last_batch_handle,
            "shuffle": bool(self.shuffle),
            "seed": self._seed,
        }

    def state_dict(self) -> dict[str, Any]:
        """Return the position after the last batch returned, as a small JSON-serializable dict.

        :meth:`load_state_dict` on an iterator over the same arrays continues
        with the same batches. Needs ``seed=`` when shuffling.
        """
        if self.shuffle and self._seed is None:
            raise unseeded_shuffle("NDArrayIter")
        carry = None if self._cache is None else self._cache.tolist()
        position = {"shuffles": self._shuffles, "cursor": self.cursor, "carry": carry}
        return iter_state("NDArrayIter", self._fingerprint(), position)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from ``state`` (from :meth:`state_dict`).

        Raises
        ------
        ValueError
            The state is of other data (length, batch size, ...) or a newer version.
        """
        check_iter_state("NDArrayIter", state, self._fingerprint(), ("shuffles", "cursor", "carry"))
        self._shuffles = int(state["shuffles"])
        if self.shuffle and self._shuffles:
            self._order = self._seeded_order(self._shuffles - 1)
        self.cursor = int(state["cursor"])
        carry = state["carry"]
        self._cache = None if carry is None else np.asarray(carry, dtype=self._order.dtype)

    def hard_reset(self) -> None:
        """Reset and drop the examples kept by ``'roll_over'``."""
        if self.shuffle:
            self._shuffle()
        self.cursor = -self.batch_size
        self._cache = None

    def reset(self) -> None:
        """Start the next epoch (with ``'roll_over'``, after the kept examples)."""
        n, size = self.num_data, self.batch_size
        self._cache = None
        if self.last_batch_handle == "roll_over" and n - size < self.cursor < n:
            self._cache = self._order[self.cursor :].copy()
            self.cursor = self.cursor - n - size
        else:
            self.cursor = -size
        if self.shuffle:
            self._shuffle()

    def iter_next(self) -> bool:
        """Move the cursor to the next batch; return whether there is one."""
        self.cursor += self.batch_size
        return self.cursor < self.num_data

    def next(self) -> DataBatch:
        """Return the next batch.

        Raises
        ------
        StopIteration
            At the end of the epoch (a short last batch ends it under
            ``'discard'`` and ``'roll_over'``).
        """
        if not self.iter_next():
            raise StopIteration
        positions = self._positions()
        if len(positions) < self.batch_size:
            raise StopIteration
        return DataBatch(
            data=self._gather(self.data, positions),
            label=self._gather(self.label, positions),
            pad=self.getpad(),
            index=None,
        )

    def _positions(self) -> np.ndarray:
        """Positions (in the original arrays) of the current batch's examples."""
        cursor, n, size = self.cursor, self.num_data, self.batch_size
        if cursor >= n:
            raise RuntimeError("the epoch is over: call reset()")
        if self.last_batch_handle == "roll_over" and -size < cursor < 0:
            return np.concatenate([self._cache, self._order[: cursor + size]])
        if self.last_batch_handle == "pad" and cursor + size > n:
            return self._order[np.arange(cursor, cursor + size) % n]
        return self._order[cursor : min(cursor + size, n)]

    def _gather(self, arrays: list[tuple[str, np.ndarray]], positions: np.ndarray) -> list[Any]:
        return [
            array[positions] if is_sparse(array) else np.take(array, positions, axis=self._axis)
            for _, array in arrays
        ]

    def getdata(self) -> list[np.ndarray]:
        """Return the data arrays of the current batch."""
        return self._gather(self.data, self._positions())

    def getlabel(self) -> list[np.ndarray]:
        """Return the label arrays of the current batch."""
        return self._gather(self.label, self._positions())

    def getpad(self) -> int:
        """Padded examples (``'pad'``) or rolled-over ones (``'roll_over'``) in the batch."""
        cursor, size = self.cursor, self.batch_size
        if self.last_batch_handle == "pad" and cursor + size > self.num_data:
            return cursor + size - self.num_data
        if self.last_batch_handle == "roll_over" and -size < cursor < 0:
            return -cursor
        return 0
