"""Data-parallel training with PyTorch DistributedDataParallel on gluondata batches.

Each rank reads its own shard of every epoch (``num_shards="auto"`` takes the
world size and rank from the process group), all ranks take the same number of
steps, and the evaluation counts every image exactly once over all ranks thanks
to the validity mask. Launch with torchrun (CPU, gloo)::

    torchrun --standalone --nproc_per_node=2 examples/distributed_train.py
    torchrun --standalone --nproc_per_node=2 examples/distributed_train.py --data shapes.rec

``--data`` is an image folder (one sub-folder per class) or a .rec file packed
by ``gluondata im2rec``; without it every rank draws the same small folder of
dark and bright images in a temporary directory.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from PIL import Image
from torch.nn.parallel import DistributedDataParallel

from gluondata import DataLoader
from gluondata.vision import ImageFolderDataset, ImageRecordDataset, transforms

CLASSES = ("bright", "dark")
SIZE = 16


def make_folder(root: Path, per_class: int, seed: int = 0) -> None:
    """``root/<class>/<n>.png``: noisy bright and dark images."""
    rng = np.random.default_rng(seed)
    for label, kind in enumerate(CLASSES):
        (root / kind).mkdir(parents=True)
        for n in range(per_class):
            base = 140 if label == 0 else 110
            pixels = np.clip(rng.normal(base, 60, (20, 20, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / kind / f"{n:03d}.png")


def open_dataset(path: Path) -> ImageFolderDataset | ImageRecordDataset:
    """An image folder or a .rec file, as (CHW float32 image, label) samples."""
    dataset = ImageRecordDataset(path) if path.suffix == ".rec" else ImageFolderDataset(path)
    return dataset.transform_first(
        transforms.Compose(
            [
                transforms.Resize((SIZE, SIZE)),
                transforms.RandomFlipLeftRight(),
                transforms.ToTensor(),
                transforms.Normalize((0.5, 0.5, 0.5), (0.25, 0.25, 0.25)),
            ]
        )
    )


def train(path: Path, epochs: int, batch_size: int, workers: int) -> None:
    rank, world = dist.get_rank(), dist.get_world_size()
    dataset = open_dataset(path)
    common = {"batch_size": batch_size, "num_shards": "auto", "num_workers": workers, "seed": 0}
    # training: the same global tail is dropped on every rank, so all take the same steps
    train_loader = DataLoader(dataset, shuffle=True, last_batch="discard", **common)
    # evaluation: 'keep' pads the last batches; the mask marks the padding
    eval_loader = DataLoader(dataset, last_batch="keep", with_mask=True, **common)
    torch.manual_seed(0)  # the same initial weights on every rank
    model = DistributedDataParallel(
        torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * SIZE * SIZE, len(CLASSES)))
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    for epoch in range(epochs):
        model.train()
        steps, loss_sum = 0, 0.0
        for images, labels in train_loader:
            loss = torch.nn.functional.cross_entropy(
                model(torch.from_numpy(images)), torch.from_numpy(np.asarray(labels, np.int64))
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            steps, loss_sum = steps + 1, loss_sum + loss.item()
        model.eval()
        totals = torch.zeros(2, dtype=torch.int64)  # correct, counted
        with torch.no_grad():
            for (images, labels), mask in eval_loader:
                predicted = model(torch.from_numpy(images)).argmax(1).numpy()
                correct = predicted[mask] == np.asarray(labels)[mask]
                totals += torch.tensor([int(correct.sum()), int(mask.sum())])
        dist.all_reduce(totals)
        print(f"rank {rank}/{world} epoch {epoch}: {steps} steps, mean loss {loss_sum / steps:.3f}")
        if rank == 0:
            print(
                f"epoch {epoch}: accuracy {totals[0]}/{totals[1]} "
                f"(the dataset has {len(dataset)} images)"
            )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="an image folder or a .rec file")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=4, help="images per rank and step")
    parser.add_argument("--workers", type=int, default=1, help="worker processes per rank")
    parser.add_argument("--per-class", type=int, default=21, help="images drawn without --data")
    args = parser.parse_args(argv)
    dist.init_process_group("gloo")
    try:
        with tempfile.TemporaryDirectory() as scratch:
            path = args.data
            if path is None:
                path = Path(scratch) / "images"
                make_folder(path, args.per_class)
            train(path, args.epochs, args.batch_size, args.workers)
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
