"""An image folder packed into RecordIO with ``gluondata im2rec``, read back two ways.

1. Draws a small folder of JPEGs, one sub-folder per class (circles,
   squares, stripes).
2. Packs it with the command line, as with MXNet's ``tools/im2rec.py``:
   ``gluondata im2rec --list --recursive shapes images`` writes ``shapes.lst``,
   then ``gluondata im2rec shapes images`` writes ``shapes.rec`` and ``shapes.idx``.
3. Reads it with Gluon's API: ``ImageRecordDataset`` + transforms + ``DataLoader``.
4. Reads it with MXNet's iterator API: ``io.ImageRecordIter`` (random crops,
   mirroring, mean/std normalization, worker processes), and shows that
   ``num_parts``/``part_index`` split the records between machines.

    python examples/recordio_images.py --per-class 20 --workers 2
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from gluondata import DataLoader, io
from gluondata.cli import main as gluondata_cli
from gluondata.vision import ImageRecordDataset, transforms

CLASSES = ("circle", "square", "stripes")


def draw(kind: str, rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    """One picture of ``kind`` on a random background."""
    background = tuple(int(v) for v in rng.integers(0, 120, 3))
    img = Image.new("RGB", size, background)
    pen = ImageDraw.Draw(img)
    colour = tuple(int(v) for v in rng.integers(140, 256, 3))
    w, h = size
    x, y, r = int(rng.integers(w // 4, 3 * w // 4)), int(rng.integers(h // 4, 3 * h // 4)), h // 4
    if kind == "circle":
        pen.ellipse([x - r, y - r, x + r, y + r], fill=colour)
    elif kind == "square":
        pen.rectangle([x - r, y - r, x + r, y + r], fill=colour)
    else:
        for left in range(0, w, 8):
            pen.rectangle([left, 0, left + 3, h], fill=colour)
    return img


def make_folder(root: Path, per_class: int, seed: int) -> None:
    """``root/<class>/<n>.jpg``: ``per_class`` images of slightly different sizes per class."""
    rng = np.random.default_rng(seed)
    for kind in CLASSES:
        (root / kind).mkdir(parents=True)
        for n in range(per_class):
            size = (int(rng.integers(56, 72)), int(rng.integers(44, 56)))
            draw(kind, rng, size).save(root / kind / f"{n:03d}.jpg", quality=90)


def pack(prefix: Path, root: Path) -> None:
    """List and pack the folder with the ``gluondata im2rec`` command."""
    for argv in (["--list", "--recursive"], ["--num-thread", "2"]):
        status = gluondata_cli(["im2rec", *argv, str(prefix), str(root)])
        if status:
            raise SystemExit(f"gluondata im2rec {' '.join(argv)} failed")


def read_with_dataloader(rec: Path, workers: int) -> None:
    """Gluon's way: a dataset of (image, label), transforms, a DataLoader."""
    dataset = ImageRecordDataset(rec).transform_first(
        transforms.Compose(
            [
                transforms.Resize(40),
                transforms.RandomFlipLeftRight(),
                transforms.ToTensor(),
                transforms.Normalize((0.5, 0.5, 0.5), (0.25, 0.25, 0.25)),
            ]
        )
    )
    loader = DataLoader(dataset, batch_size=16, shuffle=True, num_workers=workers, seed=0)
    counts = np.zeros(len(CLASSES), dtype=int)
    shapes = set()
    for images, labels in loader:
        shapes.add(images.shape)
        counts += np.bincount(np.asarray(labels, dtype=int), minlength=len(CLASSES))
    print(f"DataLoader: {len(dataset)} images, batch shapes {sorted(shapes)}, per class {counts}")


def read_with_record_iter(rec: Path, workers: int) -> None:
    """MXNet's way: ImageRecordIter with its augmentation and normalization parameters."""
    it = io.ImageRecordIter(
        path_imgrec=str(rec),
        path_imgidx=str(rec.with_suffix(".idx")),
        data_shape=(3, 32, 32),
        batch_size=16,
        resize=40,
        rand_crop=True,
        rand_mirror=True,
        shuffle=True,
        mean_r=123.7,
        mean_g=116.3,
        mean_b=103.5,
        std_r=58.4,
        std_g=57.1,
        std_b=57.4,
        preprocess_threads=workers,
        seed=0,
        verbose=False,
    )
    for epoch in range(2):
        pads = [batch.pad for batch in it]
        it.reset()
        print(f"ImageRecordIter epoch {epoch}: {len(pads)} batches, pads {pads}")
    batch = it.next()
    data = batch.data[0]
    print(
        f"ImageRecordIter batch: data {data.shape} {data.dtype} (mean {data.mean():+.2f}), "
        f"labels {batch.label[0][:6].astype(int).tolist()}..."
    )
    it.close()
    seen = []
    for part in range(2):
        part_iter = io.ImageRecordIter(
            path_imgrec=str(rec),
            path_imgidx=str(rec.with_suffix(".idx")),
            data_shape=(3, 32, 32),
            batch_size=8,
            resize=32,
            round_batch=False,
            num_parts=2,
            part_index=part,
            preprocess_threads=0,
            verbose=False,
        )
        mine = [int(i) for b in part_iter for i in b.index[: len(b.index) - b.pad]]
        print(f"part {part} of 2: {len(mine)} records")
        seen += mine
    print(f"the parts cover every record exactly once: {sorted(seen) == list(range(len(seen)))}")


def main(argv: Sequence[str] | None = None) -> None:
    """Make, pack and read the folder (in a temporary directory unless ``--keep DIR``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=20, help="images per class")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--keep", help="work in this (new) folder and keep it")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(args.keep or scratch)
        root = base / "images"
        make_folder(root, args.per_class, seed=0)
        pack(base / "shapes", root)
        rec = base / "shapes.rec"
        print(f"packed {rec.stat().st_size} bytes into {rec.name}")
        read_with_dataloader(rec, args.workers)
        read_with_record_iter(rec, args.workers)


if __name__ == "__main__":
    main()
