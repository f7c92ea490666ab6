"""A DataLoader's position in its epoch, as a small JSON-serializable state.

A batch is a pure function of (seed, epoch, batch position, indices), so the
position of a loop is the epoch, how many batches the caller received, the
batch sampler's state at the epoch's start (a seed and an epoch, plus a
rollover carry of fewer than ``batch_size`` indices) and the bad samples
counted against the epoch's budget. Restoring it skips the received batches
by arithmetic: nothing before the position is read again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "EpochProgress",
    "ResumePoint",
    "check_fields",
    "check_state",
    "numbered_batches",
]

FORMAT = "gluondata.DataLoader"
FORMAT_VERSION = 1
_POSITION_FIELDS = ("epoch", "batches", "received_ahead", "batch_sampler", "bad_samples")


@dataclass(frozen=True)
class ResumePoint:
    """Where the next epoch of a loader starts (from ``load_state_dict``).

    ``received_ahead`` are batch positions past ``batches`` that the caller
    already received (only with ``in_order=False``); they are not produced again.
    ``bad_samples`` are ``[index, error, substitute]`` of the epoch's failed indices.
    """

    batches: int = 0
    received_ahead: frozenset[int] = frozenset()
    bad_samples: tuple[tuple[int, str, int], ...] = ()


@dataclass
class EpochProgress:
    """What the caller received of one epoch; updated by the epoch's iterator.

    ``frontier`` is the number of leading batches all received; ``ahead`` the
    positions received past it (out-of-order mode). ``start_state`` is the
    batch sampler's state at the epoch's start, or the ``TypeError`` saying
    why it has none (raised only if a state is asked for).
    """

    epoch: int
    start_state: dict[str, Any] | TypeError
    frontier: int
    ahead: set[int]
    expected_batches: int | None
    budget: Any = None  # the epoch's BadSampleBudget, with on_bad_sample='replace'
    end: int | None = None  # the epoch's number of batches, once its generator has ended
    lock: threading.Lock = field(default_factory=threading.Lock)  # the iterator's next() lock
    batches_ref: Any = None  # weak reference to the numbered batches generator

    def receive(self, position: int) -> None:
        """Note that the caller got (the outcome of) batch ``position``."""
        if position == self.frontier:
            self.frontier += 1
            while self.frontier in self.ahead:
                self.ahead.remove(self.frontier)
                self.frontier += 1
        else:
            self.ahead.add(position)

    def complete(self) -> bool:
        """Whether the caller received every batch of the epoch."""
        total = self.end if self.end is not None else self.expected_batches
        return total is not None and self.frontier >= total and not self.ahead

    def drain(self) -> bool:
        """Run the epoch's batch generator to its end, if it is still alive; return whether it was.

        Called once every batch was received, so it yields nothing: it only
        lets the batch sampler reach the epoch's end (and keep its rollover carry).
        """
        batches = self.batches_ref() if self.batches_ref is not None else None
        if batches is None:
            return False
        with self.lock:
            for _ in batches:
                pass
        return self.end is not None


def numbered_batches(
    batches: Iterator[Sequence[int]],
    start: int,
    skip: frozenset[int],
    progress: EpochProgress,
) -> Iterator[tuple[int, Sequence[int]]]:
    """Yield ``(position, indices)`` from ``start``, leaving out ``skip``; note the epoch's end."""
    end = start
    for position, indices in enumerate(batches, start):
        end = position + 1
        if position not in skip:
            yield position, indices
    progress.end = end


def check_state(state: Mapping[str, Any], fingerprint: Mapping[str, Any]) -> ResumePoint:
    """Check a DataLoader state against this loader's fingerprint; return where to resume.

    Raises
    ------
    ValueError
        See :func:`check_fields`.
    """
    check_fields(state, FORMAT, fingerprint, _POSITION_FIELDS)
    return ResumePoint(
        batches=int(state["batches"]),
        received_ahead=frozenset(int(p) for p in state["received_ahead"]),
        bad_samples=tuple((int(i), str(e), int(s)) for i, e, s in state["bad_samples"]),
    )


def check_fields(
    state: Mapping[str, Any],
    kind: str,
    fingerprint: Mapping[str, Any],
    required: Sequence[str] = (),
) -> None:
    """Refuse a state of another kind, of a newer version, missing a field or not matching.

    Parameters
    ----------
    state : mapping
        The state to check (``format`` and ``version`` fields, the fingerprint's, ``required``).
    kind : str
        The ``format`` it must have (e.g. ``"gluondata.DataLoader"``).
    fingerprint : mapping
        The fields that must equal this object's.
    required : sequence of str
        Further fields it must have.

    Raises
    ------
    ValueError
        Naming the field that is wrong or missing.
    """
    name = kind.rsplit(".", 1)[-1]
    found = state.get("format") if isinstance(state, Mapping) else type(state).__name__
    if found != kind:
        raise ValueError(
            f"not a {name} state: its 'format' field is {found!r}, expected {kind!r} "
            f"(from {name}.state_dict())"
        )
    version = state.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"cannot load this {name} state: its 'version' is {version!r}, newer than the "
            f"format version {FORMAT_VERSION} this gluondata reads (upgrade gluondata)"
        )
    missing = [key for key in (*fingerprint, *required) if key not in state]
    if missing:
        raise ValueError(f"cannot load this {name} state: it has no field {missing[0]!r}")
    for key, current in fingerprint.items():
        saved = state[key]
        if isinstance(current, tuple) and isinstance(saved, list):
            saved = tuple(saved)  # JSON turns tuples into lists
        if saved != current:
            raise ValueError(
                f"cannot load this {name} state: its {key!r} is {state[key]!r} but this "
                f"{name}'s is {current!r} (a state resumes the same data and batches only"
                + ("; pass seed=state['seed']" if key == "seed" else "")
                + ")"
            )
