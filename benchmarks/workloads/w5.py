"""W5 "segmentation": 400 image/mask pairs of .npy files, both loaded per sample.

``imgs/img-XXXX.npy`` float32 (3, 256, 256) and ``masks/img-XXXX-mask.npy`` uint8 (256, 256) (the
layout ``gluondata.vision.SegmentationDataset(root, mode=None)`` reads). Batches of 16, shuffled,
``last_batch='rollover'`` (PyTorch has no rollover: it keeps the default, 'keep'; 400 = 25 x 16, so
no batch is short anyway).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from harness import Config, Workload, new_peers

PAIRS = 400
IMAGE_SHAPE = (3, 256, 256)
CLASSES = 21
SEED = 5
BATCH_SIZE = 16
EPOCH_BATCHES = PAIRS // BATCH_SIZE
DONE = "complete"  # marker written once every pair is on disk


def image_path(root: Path, i: int) -> Path:
    """Where image ``i`` lives."""
    return root / "imgs" / f"img-{i:04d}.npy"


def mask_path(root: Path, i: int) -> Path:
    """Where the mask of image ``i`` lives."""
    return root / "masks" / f"img-{i:04d}-mask.npy"


class PairSamples:
    """The user's ``__getitem__``: ``np.load`` the image and its mask; the mask to float32.

    The file names are kept in numpy string arrays, not Python lists: reading a list's strings
    in a forked worker touches their reference counts and copies the pages that hold them.
    Every contender subclasses its own dataset base class together with this one.
    """

    def __init__(self, root: str | Path) -> None:
        super().__init__()
        root = Path(root)
        self._images = np.array([str(image_path(root, i)) for i in range(PAIRS)])
        self._masks = np.array([str(mask_path(root, i)) for i in range(PAIRS)])

    def __len__(self) -> int:
        return len(self._images)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        return np.load(self._images[i]), np.load(self._masks[i]).astype(np.float32)


def make_data(root: Path) -> None:
    """Write the pairs under ``root`` (deterministic from ``SEED``) unless already complete."""
    if (root / DONE).exists():
        return
    (root / "imgs").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    for i in range(PAIRS):
        np.save(image_path(root, i), rng.standard_normal(IMAGE_SHAPE, dtype=np.float32))
        np.save(mask_path(root, i), rng.integers(0, CLASSES, IMAGE_SHAPE[1:], dtype=np.uint8))
    (root / DONE).write_text(f"{PAIRS} pairs, seed {SEED}\n")


_USER = "user `__getitem__`"
_NATIVE = "`vision.SegmentationDataset`"

WORKLOAD = Workload(
    key="w5",
    title=f"W5 segmentation: {PAIRS} .npy pairs, image float32 (3, 256, 256) + mask uint8 "
    f"(256, 256) to float32, batch {BATCH_SIZE}, shuffle, rollover, {EPOCH_BATCHES} batches per "
    "epoch",
    unit="batches/s",
    make_data=make_data,
    configs=(
        Config("numpy", "numpy loop over the user `__getitem__`", 0),
        Config("torch", _USER, 0),
        Config("mxnet", _USER, 0),
        *new_peers(0, native=False),
        Config("gluondata", _USER, 0, args=("--dataset", "user")),
        Config("gluondata", _NATIVE, 0, args=("--dataset", "native")),
        Config("torch", _USER, 2, "processes"),
        Config("mxnet", _USER, 2, "processes"),
        *new_peers(2, native=False),
        Config("gluondata", _USER, 2, "processes", ("--dataset", "user")),
        Config("gluondata", _USER, 2, "threads", ("--dataset", "user", "--thread-pool")),
        Config("gluondata", _NATIVE, 2, "processes", ("--dataset", "native")),
        Config("gluondata", _NATIVE, 2, "threads", ("--dataset", "native", "--thread-pool")),
    ),
    per_sample=1 / BATCH_SIZE,
    batch_bytes=BATCH_SIZE * int(np.prod(IMAGE_SHAPE) + np.prod(IMAGE_SHAPE[1:])) * 4,
    note="gluondata native: `vision.SegmentationDataset(root, mode=None, mask_dtype=np.float32)` "
    "on the same files.",
)
