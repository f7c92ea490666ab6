"""W3 "folder": 1000 photo-like JPEGs in 10 class folders, decoded and augmented per sample.

The user's ``__getitem__`` (:class:`FolderSamples`, the same code for every contender) opens the
file with Pillow and runs :func:`preprocess`: random-resized-crop (scale 0.08-1, ratio 3/4-4/3)
to 224x224, random horizontal flip, CHW float32 / 255, ImageNet mean/std normalization — plain
Pillow + numpy, written like torchvision's PIL transforms (there is no CPU torchvision here).
Randomness comes from the standard library's ``random``. Batches of 64, shuffled; an epoch is
all 1000 images (16 batches, the last one of 40).
"""

from __future__ import annotations

import io
import math
import os
import random
import shutil
from pathlib import Path

import numpy as np
from harness import Config, Target, Workload, new_peers
from PIL import Image, ImageDraw

IMAGES = 1000
CLASSES = 10
SIZE = (500, 375)  # (width, height), each drawn within +-10%
QUALITY = 90
SEED = 3
BATCH_SIZE = 64
EPOCH_BATCHES = math.ceil(IMAGES / BATCH_SIZE)
CROP = 224
SCALE = (0.08, 1.0)
RATIO = (3 / 4, 4 / 3)
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
SAMPLE_BYTES = 3 * CROP * CROP * 4
DONE = "complete"  # marker written next to the folder once every image is on disk
FOLDER = "images"  # the class folders are in root/images (so the marker is no stray file)

_MEAN = np.array(MEAN, np.float32)
_STD = np.array(STD, np.float32)


def photo(rng: np.random.Generator, width: int, height: int) -> bytes:
    """A photo-like JPEG: smooth colour gradients, a few filled shapes, mild noise."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.empty((height, width, 3), np.float32)
    for c in range(3):
        a, b, p = rng.uniform(-1, 1, 3)
        img[:, :, c] = 128 + 60 * np.sin(a * xx / 40 + p) + 50 * np.cos(b * yy / 30)
    pil = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(pil)
    for _ in range(int(rng.integers(4, 12))):
        x0, y0 = rng.uniform(-50, width), rng.uniform(-50, height)
        box = (x0, y0, x0 + rng.uniform(20, 200), y0 + rng.uniform(20, 200))
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=fill)
    noisy = np.asarray(pil, np.float32) + rng.normal(0, rng.uniform(7, 23), img.shape)
    out = io.BytesIO()
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(out, "JPEG", quality=QUALITY)
    return out.getvalue()


def folder(root: str | Path) -> Path:
    """The folder of class folders (what ``ImageFolderDataset`` is given) in W3's data dir."""
    return Path(root) / FOLDER


def image_path(root: Path, i: int) -> Path:
    """Where image ``i`` lives: class ``i % CLASSES``'s folder."""
    return folder(root) / f"class-{i % CLASSES}" / f"img-{i:04d}.jpg"


def make_data(root: Path) -> None:
    """Write the JPEGs under ``root`` (deterministic from ``SEED``) unless already complete.

    They are written into ``root.part`` and renamed, so an interrupted run leaves no partial
    folder that a later run would take for the data.
    """
    if (root / DONE).exists():
        return
    part = root.with_name(root.name + ".part")
    shutil.rmtree(part, ignore_errors=True)
    for c in range(CLASSES):
        (folder(part) / f"class-{c}").mkdir(parents=True)
    rng = np.random.default_rng(SEED)
    sizes = []
    for i in range(IMAGES):
        w, h = (round(s * rng.uniform(0.9, 1.1)) for s in SIZE)
        data = photo(rng, w, h)
        image_path(part, i).write_bytes(data)
        sizes.append(len(data))
    (part / DONE).write_text(
        f"{IMAGES} JPEGs, seed {SEED}, {min(sizes)}-{max(sizes)} bytes, {sum(sizes)} in all\n"
    )
    shutil.rmtree(root, ignore_errors=True)
    os.replace(part, root)


def image_files(root: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Paths and labels as ``ImageFolderDataset(folder(root))`` lists them (sorted classes,
    sorted files)."""
    root = folder(root)
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    items = [
        (str(f), label)
        for label, name in enumerate(classes)
        for f in sorted((root / name).iterdir())
        if f.suffix == ".jpg"
    ]
    return np.array([p for p, _ in items]), np.array([lab for _, lab in items], np.int64)


def crop_box(width: int, height: int) -> tuple[int, int, int, int]:
    """A random-resized-crop box ``(left, top, right, bottom)``, as torchvision draws it."""
    area = width * height
    log_ratio = (math.log(RATIO[0]), math.log(RATIO[1]))
    for _ in range(10):
        target = area * random.uniform(*SCALE)
        aspect = math.exp(random.uniform(*log_ratio))
        w = round(math.sqrt(target * aspect))
        h = round(math.sqrt(target / aspect))
        if 0 < w <= width and 0 < h <= height:
            x = random.randint(0, width - w)
            y = random.randint(0, height - h)
            return x, y, x + w, y + h
    ratio = width / height  # fallback: the centre crop with the ratio clamped to RATIO
    w, h = width, height
    if ratio < RATIO[0]:
        h = round(width / RATIO[0])
    elif ratio > RATIO[1]:
        w = round(height * RATIO[1])
    x, y = (width - w) // 2, (height - h) // 2
    return x, y, x + w, y + h


def preprocess(img: Image.Image) -> np.ndarray:
    """The per-sample work on an opened image: crop+resize, flip, to CHW float32, normalize."""
    img = img.convert("RGB")
    img = img.crop(crop_box(*img.size)).resize((CROP, CROP), Image.Resampling.BILINEAR)
    if random.random() < 0.5:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    x = np.array(img, dtype=np.float32)
    x /= 255
    x -= _MEAN
    x /= _STD
    return np.ascontiguousarray(x.transpose(2, 0, 1))


class FolderSamples:
    """The user's ``__getitem__``: ``(preprocess(Image.open(path)), label)``.

    Paths and labels are kept in numpy arrays, not Python lists (reading a list's strings in a
    forked worker touches their reference counts and copies the pages that hold them). Every
    contender subclasses its own dataset base class together with this one.
    """

    def __init__(self, root: str | Path) -> None:
        super().__init__()
        self._paths, self._labels = image_files(root)

    def __len__(self) -> int:
        return len(self._paths)

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        with Image.open(self._paths[i]) as img:
            return preprocess(img), int(self._labels[i])


USER = "user `__getitem__` (PIL)"
NATIVE = "`vision.ImageFolderDataset` + `vision.transforms`"
_TORCH = Config("torch", USER, 2, "processes")
_GLUONDATA_USER = Config("gluondata", USER, 2, "processes", ("--dataset", "user"))
_GLUONDATA_NATIVE = Config("gluondata", NATIVE, 2, "processes", ("--dataset", "native"))
_GLUONDATA_PILLOW = _GLUONDATA_NATIVE.with_pillow()
TF_IN_GRAPH = Config(
    "tf",
    "tf.data in-graph: `read_file`, `decode_and_crop_jpeg` (`sample_distorted_bounding_box`), "
    "`resize`, `random_flip_left_right`, normalize, CHW",
    2,
    "threads (AUTOTUNE)",
    ("--dataset", "native"),
)
SPDL_FFMPEG = Config(
    "spdl",
    "SPDL FFmpeg: `spdl.io.demux_image` + `decode_packets` with a crop/scale/hflip filter graph",
    2,
    "threads",
    ("--dataset", "native"),
)

WORKLOAD = Workload(
    key="w3",
    title=f"W3 folder: {IMAGES} JPEGs ~500x375 (q{QUALITY}) in {CLASSES} class folders; "
    f"decode, random-resized-crop {CROP}, flip, CHW float32, normalize; batch {BATCH_SIZE}, "
    f"shuffle, {EPOCH_BATCHES} batches (all images) per epoch",
    unit="images/s",
    make_data=make_data,
    configs=(
        Config("numpy", "PIL loop over the user `__getitem__`", 0),
        _TORCH,
        Config("mxnet", USER, 2, "processes"),
        Config("mxnet", NATIVE, 2, "processes", ("--dataset", "native")),
        *new_peers(2),
        TF_IN_GRAPH,
        SPDL_FFMPEG,
        _GLUONDATA_USER,
        Config("gluondata", USER, 2, "threads", ("--dataset", "user", "--thread-pool")),
        _GLUONDATA_NATIVE,
        Config("gluondata", NATIVE, 2, "threads", ("--dataset", "native", "--thread-pool")),
        _GLUONDATA_PILLOW,
    ),
    epochs=3,
    batch_bytes=BATCH_SIZE * SAMPLE_BYTES,
    note="The user `__getitem__` is `w3.FolderSamples` (Pillow decode, crop+resize, flip; numpy "
    "to CHW float32 and normalize), the same code in every contender. Native rows: each "
    "library's own `ImageFolderDataset(root).transform_first(Compose([RandomResizedCrop(224), "
    "RandomFlipLeftRight(), ToTensor(), Normalize(mean, std)]))`.",
    targets=(
        Target(
            "gluondata native ≥ 1.5x tf.data in-graph (issue 18)",
            _GLUONDATA_NATIVE,
            TF_IN_GRAPH,
            1.5,
        ),
        Target("gluondata native ≥ 2x PyTorch (issues 5, 18)", _GLUONDATA_NATIVE, _TORCH, 2.0),
        Target(
            "gluondata with the PIL transform ≥ 1.1x PyTorch (issue 5)",
            _GLUONDATA_USER,
            _TORCH,
            1.1,
        ),
    ),
)
