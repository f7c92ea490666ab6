"""One global order per epoch, dealt to shards: the index arithmetic of distributed loading.

Every rank computes the same global stream for an epoch (the rollover carry,
then the sampler's order for ``(seed, epoch)``) and deals it like cards:
global position ``p`` goes to shard ``p % num_shards``. Each shard then cuts
its share into batches of ``batch_size``. Batch ``k`` of every shard therefore
comes from global positions ``[k*G, (k+1)*G)`` with ``G = batch_size *
num_shards``: the union over shards of step ``k`` is batch ``k`` of one
loader with batch size ``G``.

- ``keep``: each shard gets ``ceil(L / num_shards)`` positions; a shard whose
  share is short takes one padding position (the sample at ``p % L``, marked
  invalid by the mask). Only a shard's last batch can hold padding.
- ``discard``: only the first ``floor(L / G) * G`` positions are dealt; the
  same global tail is dropped on every shard.
- ``rollover``: as ``discard``, and the global tail opens the next epoch's
  stream on every shard (each rank keeps the same carry, computed locally).

Nothing here communicates: a rank needs only (seed, epoch, its shard index).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..sampler import BatchSampler, load_sampler_state, sampler_state

__all__ = ["ShardedBatchSampler", "shard_batch_count"]


def shard_batch_count(length: int, batch_size: int, num_shards: int, last_batch: str) -> int:
    """Batches every shard yields for a global stream of ``length`` indices."""
    step = batch_size * num_shards
    if last_batch == "keep":
        return -(-length // step)
    return length // step


def shard_batches(
    stream: np.ndarray,
    batch_size: int,
    num_shards: int,
    shard_index: int,
    last_batch: str,
    start: int = 0,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(indices, valid)`` for each batch of one shard, dealing ``stream[start:]``.

    ``valid`` is a boolean mask, False for padding (only with ``keep``): the
    padding for position ``p`` past the end is ``stream[p % len(stream)]``.
    """
    length = len(stream)
    left = max(0, length - start)
    step = batch_size * num_shards
    count = shard_batch_count(left, batch_size, num_shards, last_batch)
    share = -(-left // num_shards) if last_batch == "keep" else count * batch_size
    for k in range(count):
        begin = start + k * step + shard_index
        indices = stream[begin : min(start + (k + 1) * step, length) : num_shards]
        size = min(batch_size, share - k * batch_size)
        valid = np.arange(size) < len(indices)
        if len(indices) < size:
            padding = begin + num_shards * np.arange(len(indices), size)
            indices = np.concatenate([indices, stream[padding % length]])
        yield indices, valid


class ShardedBatchSampler(BatchSampler):
    """Batches of one shard of every epoch's global order.

    With one shard it yields what :class:`~gluondata.BatchSampler` yields.

    Parameters
    ----------
    sampler : Sampler or iterable of int
        The global order (the same on every rank); iterated once per epoch.
    batch_size : int
        Indices per batch of this shard.
    last_batch : {'keep', 'discard', 'rollover'}
        See the module's description.
    num_shards, shard_index : int
        How many shards, and which one this is.
    """

    def __init__(
        self, sampler: Any, batch_size: int, last_batch: str, num_shards: int, shard_index: int
    ) -> None:
        super().__init__(sampler, batch_size, last_batch)
        if int(num_shards) < 1:
            raise ValueError(f"num_shards must be at least 1, got {num_shards}")
        if not 0 <= int(shard_index) < int(num_shards):
            raise ValueError(f"shard_index must be in 0..{num_shards - 1}, got {shard_index}")
        self._num_shards = int(num_shards)
        self._shard_index = int(shard_index)
        # the next epoch: its stream opens with the carry; its step k begins at global
        # position origin + k * batch_size * origin_shards (origin is 0 unless resumed)
        self._carry = np.empty(0, dtype=np.int64)
        self._origin = 0
        self._origin_shards = self._num_shards

    @property
    def num_shards(self) -> int:
        """How many shards the global order is dealt to."""
        return self._num_shards

    @property
    def shard_index(self) -> int:
        """Which shard this sampler yields."""
        return self._shard_index

    def state_dict(self) -> dict[str, Any]:
        """The state the next epoch starts from (JSON-serializable, the same on every rank).

        ``sampler``: the global order's sampler state; ``carry``: the global
        rollover carry (fewer than ``batch_size * num_shards`` indices);
        ``origin``: where the epoch's first step begins in its stream (0
        unless the epoch was resumed on another number of shards).

        Raises
        ------
        TypeError
            The sampler has no ``state_dict`` (the message says what to add).
        """
        return {
            "sampler": sampler_state(self._sampler),
            "carry": self._carry.tolist(),
            "origin": self._origin,
            "num_shards": self._origin_shards,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Make the next epoch start from ``state``, saved with any number of shards.

        When the state counts steps in another number of shards, call
        :meth:`align` with the steps already done before iterating.
        """
        load_sampler_state(self._sampler, state["sampler"])
        self._carry = np.asarray(state["carry"], dtype=np.int64).reshape(-1)
        self._origin = int(state["origin"])
        self._origin_shards = int(state["num_shards"])

    def align(self, steps_done: int) -> None:
        """Count the next epoch's steps in this sampler's shards, ``steps_done`` being done.

        After loading a state saved with ``N`` shards, step ``steps_done`` of
        this sampler then begins where step ``steps_done`` of the ``N``-shard
        run would have: the rest of the epoch is dealt over this number of shards.
        """
        done = int(steps_done) * self._batch_size
        self._origin += done * (self._origin_shards - self._num_shards)
        self._origin_shards = self._num_shards

    def masked_batches(self, start: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield this epoch's ``(indices, valid)`` pairs from step ``start`` on.

        ``valid`` is False for padding. The steps before ``start`` are skipped
        by arithmetic. At the first batch, moves the sampler to its next epoch
        and takes the carry for the next one.
        """
        epoch_indices = getattr(self._sampler, "epoch_indices", None)
        order = epoch_indices() if epoch_indices is not None else list(self._sampler)
        stream = np.concatenate([self._carry, np.asarray(order, dtype=np.int64)])
        stream.flags.writeable = False  # batches are views: a dataset must not write them
        step = self._batch_size * self._num_shards
        self.align(0)  # (a no-op unless a state of another shard count was never aligned)
        begin = min(max(0, self._origin + int(start) * step), len(stream))
        self._carry, self._origin = np.empty(0, dtype=np.int64), 0
        if self._last_batch == "rollover":
            self._carry = stream[len(stream) - (len(stream) - begin) % step :].copy()
        yield from shard_batches(
            stream, self._batch_size, self._num_shards, self._shard_index, self._last_batch, begin
        )

    def index_batches(self, start: int = 0) -> Iterator[np.ndarray]:
        """Yield this epoch's batches as int64 arrays from step ``start`` (padding included)."""
        return (indices for indices, _ in self.masked_batches(start))

    def __iter__(self) -> Iterator[list[int]]:
        return (indices.tolist() for indices in self.index_batches())

    def __len__(self) -> int:
        total = max(0, len(self._carry) + len(self._sampler) - self._origin)
        return shard_batch_count(total, self._batch_size, self._num_shards, self._last_batch)

    def __repr__(self) -> str:
        return (
            f"ShardedBatchSampler({self._sampler!r}, batch_size={self._batch_size}, "
            f"last_batch={self._last_batch!r}, shard {self._shard_index} of {self._num_shards})"
        )
