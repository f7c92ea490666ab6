"""Train a small PyTorch model on batches from gluondata's worker processes.

``to_torch`` wraps each batch's arrays as tensors without a copy
(``torch.from_numpy`` on the batch's shared memory); with ``--device`` it moves
each batch there one batch ahead of use. The dataset's expensive step (here a
made-up "render" of each picture) runs once per sample thanks to
``Dataset.cache``; the random noise added after the cache differs every epoch.

    python examples/torch_train.py --epochs 4 --device cpu

Needs ``pip install "gluondata[torch]"``.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

import gluondata as gd
from gluondata.interop import to_torch
from gluondata.random import generator

SIDE = 16


class Stripes(gd.Dataset):
    """Sample ``i``: a (1, 16, 16) float32 picture of horizontal (0) or vertical (1) stripes."""

    def __init__(self, length: int = 256) -> None:
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, idx: int) -> tuple[np.ndarray, int]:
        label = idx % 2
        phase = np.arange(SIDE) + idx
        stripes = (np.sin(phase * 1.3) > 0).astype(np.float32)
        picture = np.repeat(stripes[:, None], SIDE, axis=1)  # rows alternate: horizontal
        return (picture.T if label else picture)[None].copy(), label


def add_noise(picture: np.ndarray, label: int) -> tuple[np.ndarray, int]:
    """A fresh draw per sample and epoch (keyed by the loader's seed, epoch and index)."""
    return picture + generator().normal(0, 0.3, picture.shape).astype(np.float32), label


def train(epochs: int, device: str | None, workers: int) -> list[float]:
    """Train; return the mean loss of each epoch."""
    torch.manual_seed(0)
    dataset = Stripes().cache().transform(add_noise)
    loader = gd.DataLoader(dataset, batch_size=32, shuffle=True, num_workers=workers, seed=0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(4),
        torch.nn.Flatten(),
        torch.nn.Linear(64, 2),
    ).to(device or "cpu")
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    losses = []
    for _ in range(epochs):
        total = 0.0
        for pictures, labels in to_torch(loader, device=device):
            loss = torch.nn.functional.cross_entropy(model(pictures), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
        losses.append(total / len(loader))
    return losses


def main(argv: list[str] | None = None) -> list[float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--device", help="e.g. cpu, cuda (default: tensors stay where they are)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    losses = train(args.epochs, args.device, args.workers)
    for epoch, loss in enumerate(losses, 1):
        print(f"epoch {epoch}: mean loss {loss:.3f}")
    return losses


if __name__ == "__main__":
    main()
