"""Which examples each epoch of an iterator visits, and how its last batch is completed.

The examples are visited in *passes*: pass ``p`` is one traversal of all of
them, in an order fixed by ``p`` (shuffled or not). An epoch (the batches
between two ``reset()`` calls) normally is one pass, but MXNet's iterators
let the last batch reach into the next pass (``round_batch``) or carry its
examples over to the next epoch (``roll_over``); a :class:`Schedule` keeps
track of where the next epoch starts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["MODES", "Schedule"]

MODES = ("round_batch", "zeros", "pad", "discard", "roll_over")

Batch = tuple[np.ndarray, int]  # the example positions (-1: a zero example) and the pad count


class Schedule:
    """The epochs of an iterator over ``positions``.

    Parameters
    ----------
    positions : numpy.ndarray of int64
        The examples (e.g. record positions of one part of a file).
    batch_size : int
        Examples per batch.
    mode : str
        How a short last batch is completed:

        - ``'round_batch'``: with the first examples of the next pass; the
          next epoch starts after them; ``pad`` = how many were borrowed;
        - ``'zeros'``: with zero examples (position -1); ``pad`` = how many;
        - ``'pad'``: with the first examples of this pass (cyclically);
          ``pad`` = how many;
        - ``'discard'``: it is dropped;
        - ``'roll_over'``: its examples open the next epoch, completed by the
          next pass; that batch's ``pad`` = how many new examples it holds
          (MXNet's ImageIter convention).
    order : callable
        ``order(p)`` returns the permutation of ``range(len(positions))`` for
        pass ``p``; called once per pass, in increasing ``p``.
    """

    def __init__(
        self,
        positions: np.ndarray,
        batch_size: int,
        mode: str,
        order: Callable[[int], np.ndarray],
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.positions = np.asarray(positions, dtype=np.int64)
        self.batch_size = int(batch_size)
        self.mode = mode
        self._order_fn = order
        self._orders: dict[int, np.ndarray] = {}
        self._pass, self._start = 0, 0
        self._carry = np.empty(0, dtype=np.int64)
        self._after: tuple[int, int, np.ndarray] | None = None

    def order(self, p: int) -> np.ndarray:
        """The positions of pass ``p``, in visiting order."""
        while p not in self._orders:
            made = max(self._orders, default=p - 1) + 1
            self._orders[made] = self.positions[self._order_fn(made)]
        for old in [q for q in self._orders if q < p - 1]:
            del self._orders[old]
        return self._orders[p]

    def _take(self, p: int, start: int, count: int) -> tuple[np.ndarray, int, int]:
        """``count`` examples from pass ``p`` on, from ``start``; and where that leaves us."""
        taken = []
        while count > 0:
            part = self.order(p)[start : start + count]
            taken.append(part)
            count -= len(part)
            start += len(part)
            if start >= len(self.positions):
                p, start = p + 1, 0
        return np.concatenate(taken) if taken else np.empty(0, np.int64), p, start

    def plan(self) -> list[Batch]:
        """The batches of the epoch that starts now (call :meth:`finish` when it ends)."""
        size, p = self.batch_size, self._pass
        stream = self.order(p)[self._start :]
        carried = len(self._carry)
        if self.mode == "roll_over" and carried:
            stream = np.concatenate([self._carry, stream])
        whole = len(stream) - len(stream) % size
        batches = [(stream[i : i + size], 0) for i in range(0, whole, size)]
        if carried and batches:
            batches[0] = (batches[0][0], size - carried)
        left = stream[whole:]
        after = (p + 1, 0, np.empty(0, np.int64))
        need = size - len(left)
        if len(left) and self.mode == "round_batch":
            borrowed, q, start = self._take(p + 1, 0, need)
            batches.append((np.concatenate([left, borrowed]), need))
            after = (q, start, after[2])
        elif len(left) and self.mode == "zeros":
            batches.append((np.concatenate([left, np.full(need, -1, np.int64)]), need))
        elif len(left) and self.mode == "pad":
            current = self.order(p)
            batches.append((np.concatenate([left, current[np.arange(need) % len(current)]]), need))
        elif len(left) and self.mode == "roll_over":
            after = (p + 1, 0, left)
        self._after = after
        return batches

    def state(self) -> dict[str, Any]:
        """Where the next (or current) epoch starts: pass, offset in it, roll_over carry."""
        return {"pass": self._pass, "start": self._start, "carry": self._carry.tolist()}

    def load_state(self, state: dict[str, Any]) -> None:
        """Start the next epoch where ``state`` (from :meth:`state`) says.

        The pass orders are then made from the saved pass on, so ``order``
        must be a pure function of the pass (a seeded or no shuffle).
        """
        carry = np.asarray(state["carry"], dtype=np.int64)
        if len(carry) >= self.batch_size or (len(carry) and self.mode != "roll_over"):
            raise ValueError(
                f"cannot load this state: its 'carry' holds {len(carry)} examples, impossible "
                f"with batch_size={self.batch_size} and {self.mode!r}"
            )
        self._pass, self._start, self._carry = int(state["pass"]), int(state["start"]), carry
        self._orders.clear()
        self._after = None

    def finish(self, completed: bool) -> None:
        """End the epoch: ``completed`` if its last batch was delivered, else cut short."""
        if completed and self._after is not None:
            self._pass, self._start, self._carry = self._after
        else:
            self._pass, self._start = self._pass + 1, 0
            self._carry = np.empty(0, dtype=np.int64)
        self._after = None
