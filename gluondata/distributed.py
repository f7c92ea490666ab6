"""Ranks of a distributed job: which shard a process reads, and checking that ranks agree.

``DataLoader(num_shards="auto")`` and the mx.io iterators' ``num_parts="auto"``
ask :func:`world` for this process's rank and the number of ranks: from an
initialized ``torch.distributed`` process group, else from the ``WORLD_SIZE``
and ``RANK`` variables a launcher such as ``torchrun`` sets, else one shard.
torch is never imported here: a process group exists only if the program
imported ``torch.distributed`` itself.
"""

from __future__ import annotations

import operator
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "RankMismatchError",
    "check_ranks_agree",
    "process_group_ready",
    "resolve_parts",
    "resolve_shards",
    "world",
]

AUTO = "auto"


class RankMismatchError(ValueError):
    """The ranks of a job were given different settings (seed, dataset length, ...)."""


def process_group_ready() -> bool:
    """True when this process is in an initialized ``torch.distributed`` process group."""
    dist = sys.modules.get("torch.distributed")
    return dist is not None and dist.is_available() and dist.is_initialized()


def world() -> tuple[int, int]:
    """Return ``(world_size, rank)`` of this process.

    From the initialized ``torch.distributed`` process group, else from the
    environment variables ``WORLD_SIZE`` and ``RANK`` (set by ``torchrun``),
    else ``(1, 0)``.
    """
    if process_group_ready():
        dist = sys.modules["torch.distributed"]
        return dist.get_world_size(), dist.get_rank()
    size, rank = os.environ.get("WORLD_SIZE"), os.environ.get("RANK")
    if size is None and rank is None:
        return 1, 0
    if size is None or rank is None:
        missing = "WORLD_SIZE" if size is None else "RANK"
        raise ValueError(
            f"the environment sets {'RANK' if size is None else 'WORLD_SIZE'} but not {missing}: "
            "set both (torchrun does) or pass the shard numbers explicitly"
        )
    try:
        size_number, rank_number = int(size), int(rank)
    except ValueError:
        raise ValueError(f"WORLD_SIZE={size!r} and RANK={rank!r} must be integers") from None
    if not 0 <= rank_number < size_number:
        raise ValueError(f"RANK={rank_number} is not in 0..WORLD_SIZE-1 (WORLD_SIZE={size})")
    return size_number, rank_number


def resolve_shards(
    num_shards: int | str | None,
    shard_index: int | str | None,
    names: tuple[str, str] = ("num_shards", "shard_index"),
) -> tuple[int, int] | None:
    """Turn ``num_shards``/``shard_index`` arguments into ``(num_shards, shard_index)``.

    ``None, None`` means not sharded (returns None); ``"auto"`` takes both from
    :func:`world` (``shard_index`` must then be None or ``"auto"``); integers
    are checked.
    """
    count_name, index_name = names
    if num_shards is None:
        if shard_index is not None:
            raise ValueError(f"{index_name}={shard_index!r} needs {count_name}")
        return None
    if num_shards == AUTO:
        if shard_index not in (None, AUTO):
            raise ValueError(
                f"{index_name} must be 'auto' or left out when {count_name}='auto', "
                f"given {shard_index!r}"
            )
        return world()
    if shard_index in (None, AUTO):
        raise ValueError(f"{count_name}={num_shards!r} needs an integer {index_name}")
    try:
        count, index = operator.index(num_shards), operator.index(shard_index)
    except TypeError:
        raise ValueError(
            f"{count_name} and {index_name} must be integers (or {count_name}='auto'), "
            f"given {num_shards!r} and {shard_index!r}"
        ) from None
    if count < 1:
        raise ValueError(f"{count_name} must be at least 1, given {count}")
    if not 0 <= index < count:
        raise ValueError(f"{index_name} must be in 0..{count - 1}, given {index}")
    return count, index


def resolve_parts(num_parts: int | str, part_index: int | str) -> tuple[int, int]:
    """The mx.io iterators' ``num_parts``/``part_index`` (defaults 1 and 0) as integers.

    ``num_parts="auto"`` takes both from :func:`world`; ``part_index`` must then
    be ``"auto"`` or its default 0.
    """
    if num_parts == AUTO and part_index in (0, AUTO):
        part_index = None
    resolved = resolve_shards(num_parts, part_index, ("num_parts", "part_index"))
    assert resolved is not None
    return resolved


def check_ranks_agree(
    what: str, fields: Mapping[str, Any], num_shards: int, shard_index: int
) -> None:
    """Check, once, that every rank of the process group has the same ``fields``.

    Gathers ``fields`` and the shard index from every rank over gloo (one
    ``all_gather_object``; every rank of the default group must call this) and
    raises :class:`RankMismatchError` on every rank naming the fields that
    differ and the ranks that hold each value, or the shards no rank reads.
    Does nothing without an initialized process group.
    """
    if not process_group_ready():
        return
    dist = sys.modules["torch.distributed"]
    gathered: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, (dict(fields), shard_index), group=_gloo_group(dist))
    problems = [
        f"{name}: {_by_value([values[name] for values, _ in gathered])}"
        for name in fields
        if len({repr(values[name]) for values, _ in gathered}) > 1
    ]
    if not problems:
        unread = sorted(set(range(num_shards)) - {index for _, index in gathered})
        if unread:
            problems.append(
                f"shard_index: no rank reads shard(s) {_ranges(unread)} of {num_shards} "
                f"({_by_value([index for _, index in gathered])})"
            )
    if problems:
        raise RankMismatchError(
            f"{what}: the ranks of this job disagree, so they would not read one epoch "
            f"exactly once between them; {'; '.join(problems)}"
        )


_gloo: list[Any] = []  # [(default group, its gloo twin)], made at most once per default group


def _gloo_group(dist: Any) -> Any:
    """A gloo group of all ranks (the default group when it is gloo; made once otherwise)."""
    if dist.get_backend() == "gloo":
        return None
    default = dist.distributed_c10d._get_default_group()
    if not _gloo or _gloo[0][0] is not default:  # holding it keeps its identity unique
        _gloo[:] = [(default, dist.new_group(backend="gloo"))]
    return _gloo[0][1]


def _by_value(values: Sequence[Any]) -> str:
    ranks: dict[str, list[int]] = {}
    for rank, value in enumerate(values):
        ranks.setdefault(repr(value), []).append(rank)
    return "; ".join(
        f"{value} on rank{'s' if len(members) > 1 else ''} {_ranges(members)}"
        for value, members in ranks.items()
    )


def _ranges(numbers: Sequence[int]) -> str:
    """``[0, 1, 2, 5]`` as ``'0-2, 5'``."""
    spans: list[list[int]] = []
    for number in numbers:
        if spans and number == spans[-1][1] + 1:
            spans[-1][1] = number
        else:
            spans.append([number, number])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)
