"""Per-sample random generators, so results do not depend on who ran a sample.

A DataLoader with ``seed=`` runs every sample inside a context that names
``(seed, epoch, index)``. A random transform asks :func:`generator` for a
``numpy.random.Generator`` made from that key, so the sample's randomness is
the same whichever worker, thread or process computes it::

    from gluondata import random as gdr

    def random_flip(img):
        if gdr.generator().random() < 0.5:
            img = img[:, ::-1]
        return img

Transforms that call numpy's or Python's global random functions
(``np.random.rand()``, ``random.random()``) are made deterministic too: before
a batch runs, the executor seeds both from ``(seed, epoch, batch position)``
(see :func:`seeded_globals`).
"""

from __future__ import annotations

import contextlib
import random as _pyrandom
import secrets
import threading
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "SampleKey",
    "fresh_seed",
    "generator",
    "indexed",
    "new_streams",
    "sample_context",
    "sample_key",
    "seed_globals",
    "seeded_globals",
    "set_sample_key",
    "set_streams",
]

_SEED_BITS = 63


class SampleKey(NamedTuple):
    """What a sample's randomness is keyed by."""

    seed: int
    epoch: int
    index: int | None


_local = threading.local()
_GLOBALS_LOCK = threading.RLock()


def fresh_seed() -> int:
    """Return a new random seed from the operating system's entropy."""
    return secrets.randbits(_SEED_BITS)


def sample_key() -> SampleKey | None:
    """Return the key of the sample being computed in this thread, if any."""
    return getattr(_local, "key", None)


def set_sample_key(key: SampleKey | None) -> SampleKey | None:
    """Set this thread's sample key; return the previous one (for hot loops)."""
    previous = getattr(_local, "key", None)
    _local.key = key
    return previous


@contextlib.contextmanager
def sample_context(seed: int, epoch: int, index: int | None) -> Iterator[None]:
    """Run the body as the computation of sample ``index`` of ``epoch``.

    ``index=None`` marks a batched fetch (``__getitems__``), in which
    :func:`generator` must be told the index, or :func:`indexed` used. An
    outermost context starts the samples' random streams afresh; a nested
    one (:func:`indexed`) continues them.
    """
    previous = set_sample_key(SampleKey(seed, epoch, None if index is None else int(index)))
    scope = new_streams() if previous is None else contextlib.nullcontext()
    try:
        with scope:
            yield
    finally:
        set_sample_key(previous)


def set_streams(streams: dict[Any, np.random.Generator] | None) -> Any:
    """Make ``streams`` this thread's random streams by sample; return the previous ones.

    ``set_streams({})`` starts every stream afresh (for hot loops; else :func:`new_streams`).
    """
    previous = getattr(_local, "streams", None)
    _local.streams = streams
    return previous


@contextlib.contextmanager
def new_streams() -> Iterator[None]:
    """Start every sample's random stream afresh inside the body (one batch's computation)."""
    previous = set_streams({})
    try:
        yield
    finally:
        set_streams(previous)


@contextlib.contextmanager
def indexed(index: int) -> Iterator[None]:
    """Re-key the current context to sample ``index`` (no-op outside a loader).

    For ``__getitems__`` implementations that compute samples one by one.
    """
    key = sample_key()
    if key is None:
        yield
        return
    with sample_context(key.seed, key.epoch, index):
        yield


def generator(index: int | None = None) -> np.random.Generator:
    """Return the ``numpy.random.Generator`` of the current sample.

    Inside a DataLoader it is seeded from ``(seed, epoch, index)``, and every
    call made for one sample while computing a batch returns the same
    generator, so two random transforms (also chained ``transform`` calls)
    continue one stream instead of drawing the same numbers.

    Parameters
    ----------
    index : int, optional
        Key the generator by this dataset index instead of the one being
        computed (useful in a batched ``__getitems__``).

    Returns
    -------
    numpy.random.Generator
        The sample's generator; outside a loader (a dataset indexed by hand),
        a freshly seeded one.
    """
    key = sample_key()
    if key is None:
        if index is None:
            return np.random.default_rng()
        return np.random.default_rng([fresh_seed(), int(index)])
    if index is None:
        index = key.index
    if index is None:
        raise ValueError(
            "generator() inside a batched __getitems__ needs the sample's index: "
            "generator(index=i), or compute the sample under gluondata.random.indexed(i)"
        )
    streams = getattr(_local, "streams", None)
    if streams is None:
        streams = _local.streams = {}
    stream_key = (key.seed, key.epoch, int(index))
    rng = streams.get(stream_key)
    if rng is None:
        rng = streams[stream_key] = np.random.default_rng(list(stream_key))
    return rng


@contextlib.contextmanager
def seeded_globals(seed: int, epoch: int, position: int) -> Iterator[None]:
    """Seed numpy's and Python's global generators for one batch, then restore them.

    The body holds a process-wide lock: the global generators are shared by
    all threads, so seeded batches in a thread pool run their fetch one at a time.

    Parameters
    ----------
    seed, epoch, position : int
        The loader's seed, the epoch and the batch's position in it.
    """
    with _GLOBALS_LOCK:
        numpy_state = np.random.get_state()
        python_state = _pyrandom.getstate()
        seed_globals(seed, epoch, position)
        try:
            yield
        finally:
            np.random.set_state(numpy_state)
            _pyrandom.setstate(python_state)


def seed_globals(*key: int) -> None:
    """Seed numpy's and Python's global generators from ``key`` (a tuple of ints)."""
    words = np.random.SeedSequence(list(key)).generate_state(2)
    np.random.seed(int(words[0]))
    _pyrandom.seed(int(words[1]))
