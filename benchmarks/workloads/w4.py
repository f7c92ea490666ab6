"""W4 "record": W3's 1000 JPEGs packed into one MXNet RecordIO .rec/.idx, same per-sample work.

The records hold the original JPEG bytes (pass-through) behind an ``IRHeader`` with a scalar
label, in W3's folder order (key ``i`` = W3's sample ``i``). They are packed with gluondata's
``MXIndexedRecordIO`` + ``pack``, which write MXNet's format byte for byte, so MXNet reads the
same file. The user's ``__getitem__`` (:class:`RecordSamples`) reads record ``i`` with the tiny
pure-Python :class:`record_reader.RecordReader` (the same code in every contender's venv), then
runs W3's :func:`w3.preprocess` on it.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import rawread
from harness import Config, Target, Workload, new_peers
from PIL import Image

from . import w3
from .record_reader import RecordReader, unpack

REC = "images.rec"
IDX = "images.idx"
DONE = "complete"
# MXNet's C++ iterator (and gluondata.io.ImageRecordIter, if present) with W3's augmentation
RECORD_ITER_ARGS: dict[str, Any] = {
    "data_shape": (3, w3.CROP, w3.CROP),
    "batch_size": w3.BATCH_SIZE,
    "shuffle": True,
    "random_resized_crop": True,
    "min_random_area": w3.SCALE[0],
    "max_random_area": w3.SCALE[1],
    "min_aspect_ratio": w3.RATIO[0],
    "max_aspect_ratio": w3.RATIO[1],
    "rand_mirror": True,
    "mean_r": w3.MEAN[0] * 255,
    "mean_g": w3.MEAN[1] * 255,
    "mean_b": w3.MEAN[2] * 255,
    "std_r": w3.STD[0] * 255,
    "std_g": w3.STD[1] * 255,
    "std_b": w3.STD[2] * 255,
    "preprocess_threads": 2,
    "round_batch": False,  # an epoch is every record once (True: alternately 16 and 15 batches)
}


def make_data(root: Path) -> None:
    """Pack W3's images (made first if needed) into ``root/images.rec`` and ``.idx``."""
    if (root / DONE).exists():
        return
    from gluondata.recordio import IRHeader, MXIndexedRecordIO, pack

    images = root.parent / "w3"
    w3.make_data(images)
    root.mkdir(parents=True, exist_ok=True)
    paths, labels = w3.image_files(images)
    rec, idx = root / (REC + ".part"), root / (IDX + ".part")
    with MXIndexedRecordIO(str(idx), str(rec), "w") as out:
        for i, (path, label) in enumerate(zip(paths, labels, strict=True)):
            data = Path(path).read_bytes()
            out.write_idx(i, pack(IRHeader(0, float(label), i, 0), data))
    os.replace(rec, root / REC)
    os.replace(idx, root / IDX)
    (root / DONE).write_text(f"{len(paths)} records packed from {w3.folder(images)}\n")


class RecordSamples:
    """The user's ``__getitem__``: ``(w3.preprocess(image of record i), label)``.

    Every contender subclasses its own dataset base class together with this one.
    """

    def __init__(self, rec: str | Path) -> None:
        super().__init__()
        self._reader = RecordReader(rec)

    def __len__(self) -> int:
        return len(self._reader)

    def __getitem__(self, i: int) -> tuple[np.ndarray, float | np.ndarray]:
        label, payload = unpack(self._reader.read(i))
        with Image.open(io.BytesIO(payload)) as img:
            return w3.preprocess(img), label


class RecordIterEpochs:
    """An ``mx.io``-style iterator as a loader: each ``iter()`` resets it and yields
    ``[data, label]`` batches of ``samples`` images in all.

    With ``round_batch=False`` the iterator's last batch is full-sized, its tail stale (MXNet
    reports ``pad=0`` for it), so the tail is sliced off here (a view, no copy).
    """

    def __init__(self, it: Any, samples: int) -> None:
        self._it = it
        self._samples = samples

    def __iter__(self) -> Iterator[list[Any]]:
        self._it.reset()
        left = self._samples
        for batch in self._it:
            data, label = batch.data[0], batch.label[0]
            if len(data) > left:
                data, label = data[:left], label[:left]
            left -= len(data)
            yield [data, label]


def rec_path(root: str | Path) -> str:
    """The .rec file in W4's data directory."""
    return str(Path(root) / REC)


def idx_path(root: str | Path) -> str:
    """The .idx file in W4's data directory."""
    return str(Path(root) / IDX)


USER = "user `__getitem__` (PIL, pure-Python record reader)"
NATIVE = "`vision.ImageRecordDataset` + `vision.transforms`"
RECORD_ITER = "`io.ImageRecordIter`"
_TORCH = Config("torch", USER, 2, "processes")
_MXNET_ITER = Config("mxnet", RECORD_ITER, 2, "C++ threads", ("--dataset", "iter"))
_GLUONDATA_USER = Config("gluondata", USER, 2, "processes", ("--dataset", "user"))
_GLUONDATA_NATIVE = Config("gluondata", NATIVE, 2, "processes", ("--dataset", "native"))
_GLUONDATA_ITER = Config("gluondata", RECORD_ITER, 2, "processes", ("--dataset", "iter"))
_GLUONDATA_PILLOW = _GLUONDATA_NATIVE.with_pillow()

WORKLOAD = Workload(
    key="w4",
    title=f"W4 record: W3's {w3.IMAGES} JPEGs in one RecordIO .rec/.idx (original bytes, scalar "
    f"labels); decode, random-resized-crop {w3.CROP}, flip, CHW float32, normalize; batch "
    f"{w3.BATCH_SIZE}, shuffle, {w3.EPOCH_BATCHES} batches (all images) per epoch",
    unit="images/s",
    make_data=make_data,
    configs=(
        Config("numpy", "PIL loop over the user `__getitem__`", 0),
        _TORCH,
        Config("mxnet", USER, 2, "processes"),
        _MXNET_ITER,
        Config("mxnet", NATIVE, 2, "processes", ("--dataset", "native")),
        *new_peers(2),
        _GLUONDATA_USER,
        Config("gluondata", USER, 2, "threads", ("--dataset", "user", "--thread-pool")),
        _GLUONDATA_NATIVE,
        Config("gluondata", NATIVE, 2, "threads", ("--dataset", "native", "--thread-pool")),
        _GLUONDATA_PILLOW,
        _GLUONDATA_ITER,
    ),
    epochs=3,
    batch_bytes=w3.BATCH_SIZE * w3.SAMPLE_BYTES,
    note="`io.ImageRecordIter(path_imgrec, path_imgidx, data_shape=(3, 224, 224), "
    "batch_size=64, shuffle=True, random_resized_crop=True, min/max_random_area=0.08/1, "
    "min/max_aspect_ratio=3/4 and 4/3, rand_mirror=True, mean_r/g/b and std_r/g/b = ImageNet's "
    "x 255, preprocess_threads=2, round_batch=False)`, other parameters at their defaults (so "
    "an epoch is every image once; the last batch's stale tail is sliced off); MXNet's runs "
    "on 2 C++ threads, gluondata's on 2 DataLoader worker processes. The user `__getitem__` "
    "is `w4.RecordSamples`: a pure-Python .idx/.rec reader, then W3's PIL code. "
    "Native rows: each library's own `ImageRecordDataset(rec).transform_first(Compose("
    "[RandomResizedCrop(224), RandomFlipLeftRight(), ToTensor(), Normalize(mean, std)]))`.",
    targets=(
        Target(
            "gluondata native ≥ 2x MXNet's C++ `ImageRecordIter` (issues 4, 18)",
            _GLUONDATA_NATIVE,
            _MXNET_ITER,
            2.0,
        ),
        Target(
            "gluondata `io.ImageRecordIter` ≥ 2x MXNet's (issue 18)",
            _GLUONDATA_ITER,
            _MXNET_ITER,
            2.0,
        ),
        Target(
            "gluondata with the PIL transform ≥ 1.1x PyTorch (issue 4)",
            _GLUONDATA_USER,
            _TORCH,
            1.1,
        ),
    ),
    extra=rawread.section,
)
