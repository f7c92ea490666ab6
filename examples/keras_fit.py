"""Train a Keras model on a folder of JPEGs through gluondata's workers and cache.

The decode and resize run once per image, in the loader's worker processes, and
their results are kept in a shared in-memory cache (``Dataset.cache``); the
random flip comes after the cache, so it draws anew every epoch. ``to_keras``
hands the loader to ``model.fit`` as a ``keras.utils.PyDataset``.

    KERAS_BACKEND=torch python examples/keras_fit.py --epochs 3

With no ``--folder`` it writes a small two-class folder (reddish and bluish
pictures) to a temporary directory. Keras runs on the backend named by
``KERAS_BACKEND`` (torch when unset); needs ``pip install "gluondata[keras,torch]"``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # after choosing the backend

import gluondata as gd
from gluondata.interop import to_keras
from gluondata.vision import ImageFolderDataset
from gluondata.vision import transforms as T

SIZE = 32


def make_folder(root: Path, per_class: int = 48) -> Path:
    """Write ``per_class`` noisy 80x60 JPEGs for each of two classes, red and blue."""
    rng = np.random.default_rng(0)
    for label, channel in (("blue", 2), ("red", 0)):
        (root / label).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 120, (60, 80, 3), dtype=np.uint8)
            pixels[..., channel] += 120
            Image.fromarray(pixels).save(root / label / f"{i:03d}.jpg", quality=90)
    return root


def build_model() -> keras.Model:
    model = keras.Sequential(
        [
            keras.Input((SIZE, SIZE, 3)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Conv2D(8, 3, strides=2, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(2),
        ]
    )
    model.compile(
        keras.optimizers.Adam(0.05),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def train(folder: Path, epochs: int, workers: int) -> tuple[dict, gd.Dataset]:
    """Fit on ``folder``; return Keras' history and the cached dataset."""
    decoded = ImageFolderDataset(folder).transform_first(T.Resize(SIZE)).cache()
    augmented = decoded.transform_first(T.RandomFlipLeftRight())
    loader = gd.DataLoader(augmented, batch_size=16, shuffle=True, num_workers=workers)
    model = build_model()
    history = model.fit(to_keras(loader), epochs=epochs, verbose=0)
    return history.history, decoded


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, help="root/<class>/<image> (default: made up)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.folder or make_folder(Path(tmp) / "pictures")
        history, cached = train(folder, args.epochs, args.workers)
    for epoch, loss in enumerate(history["loss"]):
        print(f"epoch {epoch + 1}: loss {loss:.3f}, accuracy {history['accuracy'][epoch]:.2f}")
    print(f"{cached.cached_bytes / 2**20:.1f} MiB of decoded images cached, shared by the workers")
    return history


if __name__ == "__main__":
    main()
