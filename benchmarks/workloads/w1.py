"""W1 "small": an in-memory float32 table (200000, 32) with int64 labels, read one row at a time.

Batches of 256, shuffled. An epoch is cut at 500 batches (128000 samples) rather than running the
781 the table holds: every runner iterates and breaks after ``EPOCH_BATCHES`` batches.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from harness import Config, Workload, new_peers

ROWS = 200_000
FEATURES = 32
CLASSES = 10
SEED = 0
BATCH_SIZE = 256
EPOCH_BATCHES = 500
# tf.data's numpy_function, Grain and SPDL run the per-sample code at a few thousand samples/s
# here: their epochs are cut at this many batches, so a run takes seconds, not minutes
SLOW_PEER_BATCHES = 50


class TableSamples:
    """The user's ``__getitem__``: one ``(x[i], y[i])`` pair per call.

    Every contender subclasses its own dataset base class together with this one, so all of them
    run exactly the same per-sample Python code.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        super().__init__()
        self._x = x
        self._y = y

    def __len__(self) -> int:
        return len(self._x)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.int64]:
        return self._x[i], self._y[i]


def make_data(root: Path) -> None:
    """Write ``x.npy`` and ``y.npy`` under ``root`` (deterministic from ``SEED``) unless present."""
    root.mkdir(parents=True, exist_ok=True)
    if (root / "x.npy").exists() and (root / "y.npy").exists():
        return
    rng = np.random.default_rng(SEED)
    np.save(root / "x.npy", rng.standard_normal((ROWS, FEATURES), dtype=np.float32))
    np.save(root / "y.npy", rng.integers(0, CLASSES, size=ROWS, dtype=np.int64))


def load(root: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read the table fully into memory; return ``(x, y)``."""
    root = Path(root)
    return np.load(root / "x.npy"), np.load(root / "y.npy")


_USER = "user `__getitem__`"
_ARRAY = "`ArrayDataset`"
TF_NATIVE = "tf.data in-graph: per-epoch `tf.random.shuffle` of the rows, batched, + `tf.gather`"

WORKLOAD = Workload(
    key="w1",
    title="W1 small: float32 (200000, 32) + int64 labels in memory, batch 256, shuffle, "
    f"{EPOCH_BATCHES} batches per epoch",
    unit="samples/s",
    make_data=make_data,
    configs=(
        Config("numpy", "numpy loop over `(x[i], y[i])`", 0),
        Config("torch", _USER, 0),
        Config("mxnet", _USER, 0),
        *new_peers(0, max_batches=SLOW_PEER_BATCHES),
        Config("tf", TF_NATIVE, 0, args=("--dataset", "native")),
        Config("gluondata", _USER, 0, args=("--dataset", "user")),
        Config("gluondata", _ARRAY, 0, args=("--dataset", "array")),
        Config("torch", _USER, 2, "processes"),
        Config("mxnet", _USER, 2, "processes"),
        *new_peers(2, max_batches=SLOW_PEER_BATCHES),
        Config("gluondata", _USER, 2, "processes", ("--dataset", "user")),
        Config("gluondata", _USER, 2, "threads", ("--dataset", "user", "--thread-pool")),
        Config("gluondata", _ARRAY, 2, "processes", ("--dataset", "array")),
        Config("gluondata", _ARRAY, 2, "threads", ("--dataset", "array", "--thread-pool")),
    ),
)
