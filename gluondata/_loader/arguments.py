"""A DataLoader's arguments: checked, and the batch sampler they describe."""

from __future__ import annotations

from typing import Any

from ..sampler import BatchSampler, RandomSampler, SequentialSampler
from .bad_samples import POLICIES
from .shards import ShardedBatchSampler

__all__ = ["check_options", "make_batch_sampler"]


def check_options(
    *, timeout: float, num_workers: Any, on_bad_sample: str, max_bad_fraction: float
) -> None:
    """Raise a ValueError naming the first argument out of its range.

    ``num_workers`` is the count after ``'auto'`` was replaced by 0.
    """
    if not timeout > 0:
        raise ValueError(f"timeout must be positive, given {timeout}")
    if not isinstance(num_workers, int) or num_workers < 0:
        raise ValueError(f"num_workers must be 0 or more, or 'auto', given {num_workers!r}")
    if on_bad_sample not in POLICIES:
        raise ValueError(f"on_bad_sample must be one of {POLICIES}, given {on_bad_sample!r}")
    if not 0 <= max_bad_fraction <= 1:
        raise ValueError(f"max_bad_fraction must be in [0, 1], given {max_bad_fraction}")


def make_batch_sampler(
    dataset: Any,
    *,
    batch_size: int | None,
    shuffle: bool,
    sampler: Any,
    last_batch: str | None,
    batch_sampler: Any,
    shards: tuple[int, int] | None,
    seed: int,
) -> Any:
    """The batch sampler of a loader over ``dataset``: ``batch_sampler`` itself, or
    the one that ``batch_size``, ``shuffle``/``sampler`` and ``last_batch`` describe (dealing
    shard ``shards[1]`` of ``shards[0]``, when given). Conflicting arguments raise a ValueError.
    """
    if shards is not None and batch_sampler is not None:
        raise ValueError(
            "num_shards must not be combined with batch_sampler: give batch_size "
            "(and sampler/shuffle/last_batch) so that the loader deals the batches"
        )
    if batch_sampler is not None:
        if batch_size is not None or shuffle or sampler is not None or last_batch is not None:
            raise ValueError(
                "batch_size, shuffle, sampler and last_batch must not be specified if "
                "batch_sampler is specified (the batch sampler decides them all)"
            )
        return batch_sampler
    if batch_size is None:
        raise ValueError("batch_size must be specified unless batch_sampler is specified")
    if sampler is None:
        length = len(dataset)  # (a dataset given a batch_sampler may have no len())
        sampler = RandomSampler(length, seed=seed) if shuffle else SequentialSampler(length)
    elif shuffle:
        raise ValueError(
            "shuffle must not be specified if sampler is specified "
            "(a sampler already decides the order: use RandomSampler to shuffle)"
        )
    if shards is None:
        return BatchSampler(sampler, batch_size, last_batch or "keep")
    return ShardedBatchSampler(sampler, batch_size, last_batch or "keep", *shards)
