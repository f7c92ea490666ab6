"""``gluondata demo``: segmentation-style loading from ``.npy`` image/mask pairs.

It makes a small dataset in the layout of ``vision.SegmentationDataset``
(``training/imgs/NAME.npy``, ``training/masks/NAME-mask.npy``), then loads it
with a joint random flip, a normalisation callable, shuffling, rollover and
worker processes, and reports samples per second.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .dataloader import DataLoader
from .vision import SegmentationDataset
from .vision.transforms import joint

__all__ = ["make_npy_pairs", "normalize", "run_demo"]

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32).reshape(3, 1, 1)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32).reshape(3, 1, 1)


def make_npy_pairs(root: Path, count: int, size: int, seed: int = 0) -> Path:
    """Write ``count`` image/mask pairs under ``root/training/{imgs,masks}``.

    Images are float32 ``(3, size, size)`` in [0, 1]; masks are uint8
    ``(size, size)`` class maps (a disc of class 1..3 on background 0).
    """
    rng = np.random.default_rng(seed)
    imgs, masks = root / "training" / "imgs", root / "training" / "masks"
    imgs.mkdir(parents=True, exist_ok=True)
    masks.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[0:size, 0:size]
    for i in range(count):
        cy, cx = rng.integers(size // 4, 3 * size // 4, 2).tolist()
        radius = size // 5
        mask = ((yy - cy) ** 2 + (xx - cx) ** 2 < radius * radius).astype(np.uint8) * (1 + i % 3)
        img = rng.random((3, size, size), dtype=np.float32) * 0.2
        img[i % 3] += mask * 0.6
        np.save(imgs / f"img-{i:04d}.npy", img)
        np.save(masks / f"img-{i:04d}-mask.npy", mask)
    return root / "training"


def normalize(img: np.ndarray) -> np.ndarray:
    """ImageNet mean/std normalisation of a CHW float image."""
    return (img - MEAN) / STD


def run_demo(
    samples: int = 256,
    size: int = 128,
    batch_size: int = 16,
    workers: int | None = None,
    epochs: int = 2,
    seed: int = 0,
) -> float:
    """Make a small dataset in a temporary folder, load it, return samples per second."""
    if workers is None:
        workers = min(2, os.cpu_count() or 1)
    with tempfile.TemporaryDirectory(prefix="gluondata-demo-") as tmp:
        folder = make_npy_pairs(Path(tmp), samples, size, seed)
        dataset = SegmentationDataset(
            tmp,
            mode="train",
            transform=joint.RandomFlipLeftRight(),
            norm=normalize,
            mask_dtype=np.float32,
        )
        loader = DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=True,
            last_batch="rollover",
            num_workers=workers,
            seed=seed,
        )
        print(f"{len(dataset)} pairs in {folder}, batch {batch_size}, {workers} workers")
        seen, start = 0, time.perf_counter()
        with loader:
            for epoch in range(epochs):
                for batch in tqdm(loader, desc=f"epoch {epoch}", unit="batch"):
                    seen += len(batch[0])
        rate = seen / (time.perf_counter() - start)
        imgs, masks = batch
        print(f"last batch: images {imgs.dtype} {imgs.shape}, masks {masks.dtype} {masks.shape}")
        print(f"{seen} samples in {epochs} epochs: {rate:,.0f} samples/s")
        return rate
