"""Semantic segmentation from ``.npy`` image/mask pairs: a training loop on generated data.

Writes ``training/`` and ``validation/`` folders of ``imgs/X.npy`` (float32
``(3, H, W)``) and ``masks/X-mask.npy`` (uint8 class maps ``(H, W)``) in a
temporary folder, then trains a tiny per-pixel softmax classifier (a 1x1
convolution, in numpy) with

- ``SegmentationDataset`` pairing each image with its mask by name,
- a joint augmentation (the same random-resized crop and flip for image and mask),
- a normalization callable on the image,
- ``DataLoader(shuffle=True, last_batch="rollover", num_workers=2, seed=0)``,

and reports the loss as it trains and the pixel accuracy on the validation set.

    python examples/semantic_segmentation.py --samples 64 --steps 60
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

from gluondata import DataLoader
from gluondata.vision import SegmentationDataset
from gluondata.vision import transforms as T
from gluondata.vision.transforms import joint

CLASSES = 4  # background and three shapes
COLOURS = np.array([[0.2, 0.2, 0.2], [0.9, 0.1, 0.1], [0.1, 0.8, 0.2], [0.2, 0.3, 0.9]])
MEAN, STD = (0.45, 0.4, 0.4), (0.3, 0.3, 0.3)


def make_split(folder: Path, count: int, size: int, seed: int) -> None:
    """Write ``count`` noisy images of coloured discs and their class masks."""
    rng = np.random.default_rng(seed)
    (folder / "imgs").mkdir(parents=True)
    (folder / "masks").mkdir(parents=True)
    yy, xx = np.mgrid[0:size, 0:size]
    for i in range(count):
        mask = np.zeros((size, size), np.uint8)
        for cls in rng.permutation(np.arange(1, CLASSES))[: rng.integers(1, CLASSES)]:
            cy, cx = rng.integers(0, size, 2)
            radius = rng.integers(size // 8, size // 3)
            mask[(yy - cy) ** 2 + (xx - cx) ** 2 < radius**2] = cls
        img = COLOURS[mask].transpose(2, 0, 1) + rng.normal(0, 0.1, (3, size, size))
        np.save(folder / "imgs" / f"sample-{i:04d}.npy", img.astype(np.float32))
        np.save(folder / "masks" / f"sample-{i:04d}-mask.npy", mask)


class PixelClassifier:
    """Softmax regression on each pixel's channels (a 1x1 convolution)."""

    def __init__(self, channels: int, classes: int, seed: int = 0) -> None:
        self.weight = np.random.default_rng(seed).normal(0, 0.01, (classes, channels))
        self.bias = np.zeros(classes)

    def logits(self, images: np.ndarray) -> np.ndarray:
        """(N, C, H, W) -> (N, K, H, W)."""
        return np.einsum("kc,nchw->nkhw", self.weight, images) + self.bias[:, None, None]

    def step(self, images: np.ndarray, masks: np.ndarray, lr: float) -> float:
        """One SGD step on the mean pixel cross-entropy; return the loss."""
        logits = self.logits(images)
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        onehot = np.eye(len(self.bias))[masks].transpose(0, 3, 1, 2)
        loss = -np.mean(np.sum(onehot * np.log(probs + 1e-12), axis=1))
        grad = (probs - onehot) / (masks.size)
        self.weight -= lr * np.einsum("nkhw,nchw->kc", grad, images)
        self.bias -= lr * grad.sum(axis=(0, 2, 3))
        return float(loss)

    def predict(self, images: np.ndarray) -> np.ndarray:
        return self.logits(images).argmax(axis=1)


def train(root: Path, steps: int, batch_size: int, crop: int, workers: int) -> float:
    """Train on ``root/training``; return the pixel accuracy on ``root/validation``."""
    augment = joint.Compose(
        [joint.RandomResizedCrop(crop, scale=(0.3, 1.0)), joint.RandomFlipLeftRight()]
    )
    normalize = T.Normalize(MEAN, STD)  # works on the CHW float32 image
    train_set = SegmentationDataset(
        root, "train", transform=augment, norm=normalize, mask_dtype=np.int64
    )
    val_set = SegmentationDataset(root, "val", norm=normalize, mask_dtype=np.int64)
    model = PixelClassifier(channels=3, classes=CLASSES)
    loader = DataLoader(
        train_set,
        batch_size=batch_size,
        shuffle=True,
        last_batch="rollover",
        num_workers=workers,
        seed=0,
    )
    step = 0
    with loader:
        while step < steps:
            for images, masks in loader:
                loss = model.step(images, masks, lr=2.0)
                step += 1
                if step % 10 == 0 or step == 1:
                    print(f"step {step}: loss {loss:.3f}")
                if step == steps:
                    break
    correct = total = 0
    with DataLoader(val_set, batch_size=batch_size, num_workers=workers) as val_loader:
        for images, masks in val_loader:
            correct += int((model.predict(images) == masks).sum())
            total += masks.size
    accuracy = correct / total
    print(f"validation pixel accuracy: {accuracy:.3f}")
    return accuracy


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=64, help="training pairs to generate")
    parser.add_argument("--size", type=int, default=48, help="image side in pixels")
    parser.add_argument("--crop", type=int, default=32, help="training crop side")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gluondata-segmentation-") as tmp:
        root = Path(tmp)
        make_split(root / "training", args.samples, args.size, seed=1)
        make_split(root / "validation", max(4, args.samples // 4), args.size, seed=2)
        return train(root, args.steps, args.batch_size, args.crop, args.workers)


if __name__ == "__main__":
    main()
