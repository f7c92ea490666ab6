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

__all__ = ["ShardedBatchSampler", "shard_batch_count"]

LAST_BATCH_MODES = ("keep", "discard", "rollover")


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
    first_batch: int = 0,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(indices, valid)`` for each batch of one shard, from batch ``first_batch``.

    ``valid`` is a boolean mask, False for padding (only with ``keep``).
    """
    length = len(stream)
    step = batch_size * num_shards
    count = shard_batch_count(length, batch_size, num_shards, last_batch)
    share = -(-length // num_shards) if last_batch == "keep" else count * batch_size
    for k in range(first_batch, count):
        begin = k * step + shard_index
        indices = stream[begin : min((k + 1) * step, length) : num_shards]
        size = min(batch_size, share - k * batch_size)
        valid = np.arange(size) < len(indices)
        if len(indices) < size:
            padding = begin + num_shards * np.arange(len(indices), size)
            indices = np.concatenate([indices, stream[padding % length]])
        yield indices, valid


class ShardedBatchSampler:
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
        if last_batch not in LAST_BATCH_MODES:
            raise ValueError(
                f"last_batch must be one of {LAST_BATCH_MODES}, but got {last_batch!r}"
            )
        if int(batch_size) <= 0:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
        if int(num_shards) < 1:
            raise ValueError(f"num_shards must be at least 1, got {num_shards}")
        if not 0 <= int(shard_index) < int(num_shards):
            raise ValueError(f"shard_index must be in 0..{num_shards - 1}, got {shard_index}")
        self._sampler = sampler
        self._batch_size = int(batch_size)
        self._last_batch = last_batch
        self._num_shards = int(num_shards)
        self._shard_index = int(shard_index)
        self._carry = np.empty(0, dtype=np.int64)

    @property
    def batch_size(self) -> int:
        """Indices per full batch of this shard."""
        return self._batch_size

    @property
    def last_batch(self) -> str:
        """The last-batch mode."""
        return self._last_batch

    @property
    def sampler(self) -> Any:
        """The sampler giving the global order."""
        return self._sampler

    @property
    def num_shards(self) -> int:
        """How many shards the global order is dealt to."""
        return self._num_shards

    @property
    def shard_index(self) -> int:
        """Which shard this sampler yields."""
        return self._shard_index

    def set_epoch(self, epoch: int) -> None:
        """Pass ``epoch`` on to the sampler, if it has epochs (a RandomSampler does)."""
        set_epoch = getattr(self._sampler, "set_epoch", None)
        if set_epoch is not None:
            set_epoch(epoch)

    def global_stream(self) -> np.ndarray:
        """This epoch's global order: the rollover carry, then the sampler's order.

        Moves the sampler to its next epoch and takes the carry for the next one.
        """
        epoch_indices = getattr(self._sampler, "epoch_indices", None)
        order = epoch_indices() if epoch_indices is not None else list(self._sampler)
        stream = np.concatenate([self._carry, np.asarray(order, dtype=np.int64)])
        stream.flags.writeable = False  # batches are views: a dataset must not write them
        self._carry = np.empty(0, dtype=np.int64)
        if self._last_batch == "rollover":
            used = len(stream) - len(stream) % (self._batch_size * self._num_shards)
            self._carry = stream[used:].copy()
        return stream

    def masked_batches(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield this epoch's ``(indices, valid)`` pairs (``valid`` is False for padding)."""
        return shard_batches(
            self.global_stream(),
            self._batch_size,
            self._num_shards,
            self._shard_index,
            self._last_batch,
        )

    def index_batches(self) -> Iterator[np.ndarray]:
        """Yield this epoch's batches as int64 arrays (padding included, with ``keep``)."""
        return (indices for indices, _ in self.masked_batches())

    def __iter__(self) -> Iterator[list[int]]:
        return (indices.tolist() for indices in self.index_batches())

    def __len__(self) -> int:
        total = len(self._carry) + len(self._sampler)
        return shard_batch_count(total, self._batch_size, self._num_shards, self._last_batch)

    def __repr__(self) -> str:
        return (
            f"ShardedBatchSampler({self._sampler!r}, batch_size={self._batch_size}, "
            f"last_batch={self._last_batch!r}, shard {self._shard_index} of {self._num_shards})"
        )
