"""The ``state_dict`` of the ``mx.io`` iterators: their position as a small JSON dict."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._loader.checkpoint import FORMAT_VERSION, check_fields

__all__ = ["check_iter_state", "iter_state", "unseeded_shuffle"]


def iter_state(kind: str, fingerprint: Mapping[str, Any], position: Mapping[str, Any]) -> dict:
    """The state of iterator ``kind``: format, version, fingerprint and position fields."""
    return {"format": f"gluondata.io.{kind}", "version": FORMAT_VERSION, **fingerprint, **position}


def check_iter_state(
    kind: str, state: Mapping[str, Any], fingerprint: Mapping[str, Any], required: Sequence[str]
) -> None:
    """Refuse a state of another iterator, a newer version, or other data (naming the field)."""
    check_fields(state, f"gluondata.io.{kind}", fingerprint, required)


def unseeded_shuffle(kind: str) -> ValueError:
    """The error of ``state_dict()`` for an iterator shuffled by a global generator."""
    return ValueError(
        f"{kind}(shuffle=True) without seed= shuffles with a global random generator, as MXNet "
        "does: its order cannot be saved in a small state. Pass seed= to checkpoint it"
    )
