"""W2 "big": float32 samples (3, 512, 512) copied out of one memory-mapped 768 MB .npy file.

256 samples in ``x.npy``, opened with ``np.load(path, mmap_mode='r')``; a sample is a copy of
``arr[i]`` (3 MiB). Batches of 32 in file order, so an epoch is 8 batches of 96 MiB.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from harness import Config, Workload, new_peers

SAMPLES = 256
SHAPE = (3, 512, 512)
SEED = 2
BATCH_SIZE = 32
EPOCH_BATCHES = SAMPLES // BATCH_SIZE
SAMPLE_BYTES = int(np.prod(SHAPE)) * 4
FILE = "x.npy"


class MappedSamples:
    """The user's ``__getitem__``: a copy of one sample of the memory-mapped array.

    Every contender subclasses its own dataset base class together with this one.
    """

    def __init__(self, arr: np.ndarray) -> None:
        super().__init__()
        self._arr = arr

    def __len__(self) -> int:
        return len(self._arr)

    def __getitem__(self, i: int) -> np.ndarray:
        return np.array(self._arr[i])


def make_data(root: Path) -> None:
    """Write ``x.npy`` under ``root`` (deterministic from ``SEED``) unless present.

    The file is written under a temporary name and renamed, so an interrupted run leaves no
    partial file that a later run would take for the data.
    """
    root.mkdir(parents=True, exist_ok=True)
    path = root / FILE
    if path.exists():
        return
    part = root / (FILE + ".part")
    rng = np.random.default_rng(SEED)
    out = np.lib.format.open_memmap(part, mode="w+", dtype=np.float32, shape=(SAMPLES, *SHAPE))
    for i in range(SAMPLES):
        out[i] = rng.standard_normal(SHAPE, dtype=np.float32)
    out.flush()
    del out
    os.replace(part, path)


def load(root: str | Path) -> np.ndarray:
    """Open the array memory-mapped, read-only."""
    return np.load(Path(root) / FILE, mmap_mode="r")


_USER = "user `__getitem__`"

WORKLOAD = Workload(
    key="w2",
    title="W2 big: float32 (256, 3, 512, 512) memory-mapped .npy (768 MiB), a copy of `arr[i]` "
    f"per sample, batch {BATCH_SIZE} (96 MiB), {EPOCH_BATCHES} batches per epoch",
    unit="GB/s",
    make_data=make_data,
    configs=(
        Config("numpy", "numpy loop over `np.array(arr[i])`", 0),
        Config("torch", _USER, 0),
        Config("mxnet", _USER, 0),
        *new_peers(0, native=False),
        Config("gluondata", _USER, 0, args=("--dataset", "user")),
        Config("torch", _USER, 2, "processes"),
        Config("mxnet", _USER, 2, "processes"),
        *new_peers(2, native=False),
        Config("gluondata", _USER, 2, "processes", ("--dataset", "user")),
        Config("gluondata", _USER, 2, "threads", ("--dataset", "user", "--thread-pool")),
    ),
    per_sample=SAMPLE_BYTES / 1e9,
    epochs=5,
    batch_bytes=BATCH_SIZE * SAMPLE_BYTES,
    note="Target (issue 3): gluondata's main process stays under (prefetch + 2) batches above "
    "its baseline, i.e. 6 batches with 2 workers (prefetch defaults to 2 x num_workers), and "
    "its workers' memory does not grow.",
)
