"""to_jax: a DataLoader's batches placed on JAX devices ahead of use."""

from __future__ import annotations

import collections
from collections.abc import Iterator
from typing import Any

from ._structure import map_arrays, require

__all__ = ["to_jax"]


def to_jax(loader: Any, sharding: Any = None, prefetch: int = 2) -> JaxBatches:
    """Return an iterable over ``loader``'s batches as ``jax.Array`` s placed on device(s).

    Placement is asynchronous: up to ``prefetch`` batches are already on
    their way to the devices while the current one is used.

    Parameters
    ----------
    loader : DataLoader
        Any iterable of batches with ``len()``.
    sharding : jax.sharding.Sharding or jax.Device, optional
        Where each array goes (``jax.device_put``'s ``device`` argument): a
        ``NamedSharding`` splits the batch axis over several devices. Default:
        JAX's default device.
    prefetch : int, default 2
        Batches placed ahead of the one in use (at least 1).
    """
    if prefetch < 1:
        raise ValueError(f"to_jax needs prefetch >= 1, given {prefetch}")
    jax = require("jax", "jax")
    return JaxBatches(loader, jax, sharding, int(prefetch))


class JaxBatches:
    """Passes over a loader yielding batches of ``jax.Array`` (see :func:`to_jax`)."""

    def __init__(self, loader: Any, jax: Any, sharding: Any, prefetch: int) -> None:
        self.loader = loader
        self.sharding = sharding
        self.prefetch = prefetch
        self._jax = jax

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[Any]:
        ahead: collections.deque[Any] = collections.deque()
        for batch in self.loader:
            ahead.append(map_arrays(self._place, batch))
            if len(ahead) > self.prefetch:
                yield ahead.popleft()
        while ahead:
            yield ahead.popleft()

    def _place(self, array: Any) -> Any:
        return self._jax.device_put(array, self.sharding)

    def __repr__(self) -> str:
        return f"to_jax({self.loader!r}, prefetch={self.prefetch})"
