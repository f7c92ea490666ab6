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
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "EpochProgress",
    "ResumePoint",
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
    end: tuple[int, dict[str, Any] | TypeError] | None = None  # (batches, sampler state) at the end
    lock: threading.Lock | None = None  # serializes with the iterator's next()
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

    def finish(self, batches: int, end_state: dict[str, Any] | TypeError) -> None:
        """Note that the epoch has ``batches`` batches and the sampler's state after it."""
        self.end = (batches, end_state)

    def complete(self) -> bool:
        """Whether the caller received every batch of the epoch."""
        total = self.end[0] if self.end is not None else self.expected_batches
        return total is not None and self.frontier >= total and not self.ahead

    def drain(self) -> bool:
        """Run the epoch's batch generator to its end, if it is still alive; return whether it was.

        Called once every batch was received, so it yields nothing: it only
        lets the batch sampler record the epoch's end (its rollover carry).
        """
        batches = self.batches_ref() if self.batches_ref is not None else None
        if batches is None:
            return False
        with self.lock or threading.Lock():
            for _ in batches:
                pass
        return self.end is not None


def numbered_batches(
    batches: Iterator[Sequence[int]],
    start: int,
    skip: frozenset[int],
    progress: EpochProgress,
    batch_sampler: Any,
    sampler_state: Any,
) -> Iterator[tuple[int, Sequence[int]]]:
    """Yield ``(position, indices)`` from ``start``, leaving out ``skip``; note the epoch's end."""
    end = start
    for position, indices in enumerate(batches, start):
        end = position + 1
        if position not in skip:
            yield position, indices
    try:
        end_state = sampler_state(batch_sampler)
    except TypeError as exc:
        end_state = exc
    progress.finish(end, end_state)


def check_state(state: Mapping[str, Any], fingerprint: Mapping[str, Any]) -> ResumePoint:
    """Check a state against this loader's fingerprint; return where to resume.

    Raises
    ------
    ValueError
        A field differs from this loader's, the state is of a newer format
        version, or a field is missing; the message names the field.
    """
    if not isinstance(state, Mapping) or state.get("format") != FORMAT:
        raise ValueError(
            f"not a DataLoader state: its 'format' field is "
            f"{state.get('format') if isinstance(state, Mapping) else type(state).__name__!r}, "
            f"expected {FORMAT!r} (from DataLoader.state_dict())"
        )
    version = state.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"cannot load this DataLoader state: its 'version' is {version!r}, newer than the "
            f"format version {FORMAT_VERSION} this gluondata reads (upgrade gluondata)"
        )
    missing = [name for name in (*fingerprint, *_POSITION_FIELDS) if name not in state]
    if missing:
        raise ValueError(f"cannot load this DataLoader state: it has no field {missing[0]!r}")
    for name, current in fingerprint.items():
        if state[name] != current:
            raise ValueError(
                f"cannot load this DataLoader state: its {name!r} is {state[name]!r} but this "
                f"DataLoader's is {current!r} (a state resumes the same dataset and batches only"
                + ("; pass DataLoader(seed=state['seed'])" if name == "seed" else "")
                + ")"
            )
    return ResumePoint(
        batches=int(state["batches"]),
        received_ahead=frozenset(int(p) for p in state["received_ahead"]),
        bad_samples=tuple((int(i), str(e), int(s)) for i, e, s in state["bad_samples"]),
    )
