"""Bad samples: replacing a sample that fails to load, within a budget, and reporting it.

With ``DataLoader(on_bad_sample='replace')`` a sample whose ``__getitem__``
(or transform) raises is replaced by another sample of the dataset, so every
batch keeps its size. The substitute is drawn from (seed, epoch, index,
attempt) alone, so the batches are the same for any number of workers. Every
failure is reported (a :class:`BadSampleWarning` and ``DataLoader.bad_samples``)
and counted against ``max_bad_fraction``; past it, batches with bad samples
raise :class:`TooManyBadSamplesError`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

__all__ = [
    "POLICIES",
    "BadSample",
    "BadSampleBudget",
    "BadSampleWarning",
    "TooManyBadSamplesError",
    "describe_error",
    "substitute_index",
]

POLICIES = ("raise", "replace")
MAX_ATTEMPTS = 10
_SALT = 0x6261645F  # "bad_": keeps these draws apart from other uses of the seed
_SHOWN = 5


class BadSample(NamedTuple):
    """A sample that failed to load.

    Attributes
    ----------
    epoch : int
        The epoch it failed in.
    index : int
        Its dataset index.
    error : str
        The exception's type and message (which name the file, for the built-in datasets).
    substitute : int
        The index tried in its place.
    """

    epoch: int
    index: int
    error: str
    substitute: int


class BadSampleWarning(UserWarning):
    """A sample failed to load and was replaced."""


class TooManyBadSamplesError(RuntimeError):
    """More samples failed in an epoch than ``max_bad_fraction`` allows."""


def describe_error(exc: BaseException) -> str:
    """``"TypeName: message"`` of an exception, on one line."""
    return f"{type(exc).__name__}: {exc}".replace("\n", " ")


def substitute_index(seed: int, epoch: int, index: int, attempt: int, length: int) -> int:
    """The index tried in place of ``index`` at its ``attempt``-th try (0-based).

    Any index of ``range(length)`` but ``index`` itself (``length`` must be at
    least 2), drawn from the arguments only, so any worker finds the same one.
    """
    rng = np.random.default_rng([_SALT, seed, epoch, index, attempt])
    other = int(rng.integers(length - 1))
    return other + 1 if other >= index else other


class BadSampleBudget:
    """Counts the indices that failed in one epoch, warns about each failure, enforces the budget.

    Parameters
    ----------
    max_bad_fraction : float
        The most indices that may fail in the epoch, as a fraction of ``length``.
    length : int
        The dataset's length.
    log : list of BadSample
        Where every bad sample is appended (the loader's ``bad_samples``).
    seen : sequence of BadSample, optional
        The epoch's failures before a checkpoint it resumes from (see :meth:`state`).
    """

    def __init__(
        self,
        max_bad_fraction: float,
        length: int,
        log: list[BadSample],
        seen: Sequence[BadSample] = (),
    ) -> None:
        self._fraction = max_bad_fraction
        self._length = length
        self._allowed = math.floor(max_bad_fraction * length + 1e-9)  # 0.29 * 100 is 28.99...
        self._log = log
        self._seen: dict[int, BadSample] = {s.index: s for s in seen}  # each index's first failure

    def state(self) -> list[list[int | str]]:
        """The epoch's failed indices so far, as ``[index, error, substitute]`` lists.

        At most ``max_bad_fraction`` of the dataset's length plus one (past
        that the epoch has failed).
        """
        return [[s.index, s.error, s.substitute] for s in self._seen.values()]

    def note(self, bad: Sequence[BadSample]) -> None:
        """Record the bad samples of one batch; raise if the epoch is now over budget."""
        for sample in bad:
            warnings.warn(
                f"gluondata: dataset index {sample.index} failed to load in epoch "
                f"{sample.epoch}, replaced by index {sample.substitute}: {sample.error}",
                BadSampleWarning,
                stacklevel=3,
            )
            self._seen.setdefault(sample.index, sample)
        self._log.extend(bad)
        if len(self._seen) > self._allowed:
            failed = list(self._seen.values())
            shown = "; ".join(f"index {s.index}: {s.error}" for s in failed[:_SHOWN])
            more = f"; and {len(failed) - _SHOWN} more" if len(failed) > _SHOWN else ""
            raise TooManyBadSamplesError(
                f"{len(failed)} of the dataset's {self._length} samples failed to load in epoch "
                f"{bad[0].epoch}, more than max_bad_fraction={self._fraction:g} allows: "
                f"{shown}{more} (all of them: DataLoader.bad_samples)"
            )
