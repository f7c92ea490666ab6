"""Main-process memory and images/s of a Keras ``fit`` fed by gluondata vs Keras' own folder loader.

Standalone: ``python benchmarks/keras_memory.py`` in a virtualenv with keras (and tensorflow for
``image_dataset_from_directory``, which is built on tf.data; ``setup_interop_venv.sh`` makes one).
Makes a folder of photo-like JPEGs (W3's generator) whose decoded samples are larger than the
gluondata cache budget, then runs a 3-epoch ``model.fit`` of a tiny CNN, each pipeline in a fresh
process:

- ``gluondata``: ``ImageFolderDataset`` -> resize -> ``.cache(max_bytes=budget)`` -> random flip,
  ``DataLoader(num_workers=2, shuffle=True)`` -> ``gluondata.interop.to_keras``;
- ``keras``: ``keras.utils.image_dataset_from_directory`` (shuffled) with ``prefetch``;
- ``keras + cache()``: the same with tf.data's in-memory ``.cache()`` (no budget).

Reported per pipeline: the main process's RSS at the end of each epoch, its change from epoch 2 to
3, the PSS of the main process and its workers together after the last epoch (shared memory, such
as the gluondata cache, counted once), and images/s of epochs 2-3 (epoch 1 also fills caches), in
wall time and per CPU-second of all processes (the figure that holds on a machine shared with other
work, where many-threaded pipelines take a larger share of the cores). A fourth row,
"gluondata, cache fits", gives the cache the default budget, which holds every image.
The model is tiny so that loading, not training, is what is measured.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
SIZE = 128
BATCH = 64
CLASSES = 4
PIPELINES = ("gluondata", "gluondata, cache fits", "keras", "keras + cache()")


def make_folder(root: Path, images: int) -> Path:
    """``images`` JPEGs ~500x375 in CLASSES class folders under ``root`` (kept for reruns)."""
    from workloads.w3 import photo

    done = root / f"complete-{images}"
    if done.exists():
        return root / "images"
    rng = np.random.default_rng(7)
    for i in range(images):
        path = root / "images" / f"class-{i % CLASSES}" / f"img-{i:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        w, h = (round(s * rng.uniform(0.9, 1.1)) for s in (500, 375))
        path.write_bytes(photo(rng, w, h))
    done.write_text("")
    return root / "images"


def tiny_model() -> Any:
    """A small compiled CNN (a ``keras.Model``) for the images."""
    import keras

    model = keras.Sequential(
        [
            keras.Input((SIZE, SIZE, 3)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Conv2D(8, 3, strides=4, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(CLASSES),
        ]
    )
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def pipeline(name: str, folder: Path, cache_bytes: int) -> Any:
    """The Keras input for pipeline ``name``."""
    if name.startswith("gluondata"):
        import gluondata as gd
        from gluondata.interop import to_keras
        from gluondata.vision import ImageFolderDataset
        from gluondata.vision import transforms as T

        dataset = (
            ImageFolderDataset(folder)
            .transform_first(T.Resize(SIZE))
            .cache(max_bytes=cache_bytes if name == "gluondata" else None)
            .transform_first(T.RandomFlipLeftRight())
        )
        loader = gd.DataLoader(dataset, batch_size=BATCH, shuffle=True, num_workers=2)
        return to_keras(loader)
    import keras
    import tensorflow as tf

    data = keras.utils.image_dataset_from_directory(
        folder, image_size=(SIZE, SIZE), batch_size=BATCH, shuffle=True, verbose=False
    )
    if name == "keras + cache()":
        data = data.cache()
    return data.prefetch(tf.data.AUTOTUNE)


def run_one(name: str, folder: Path, cache_bytes: int, epochs: int) -> dict:
    """Fit ``epochs`` epochs; RSS (MiB) and seconds at each epoch's end."""
    import keras
    import psutil

    process = psutil.Process()
    rss, seconds, cpu_seconds = [], [], []

    def cpu_time() -> float:
        """CPU seconds (user + system) used so far by this process and its workers."""
        total = 0.0
        for p in [process, *process.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = p.cpu_times()
                total += times.user + times.system
        return total

    class Probe(keras.callbacks.Callback):
        """Times each epoch and reads the memory at its end."""

        def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self.start = time.perf_counter()
            self.cpu_start = cpu_time()

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            seconds.append(time.perf_counter() - self.start)
            cpu_seconds.append(cpu_time() - self.cpu_start)
            gc.collect()
            rss.append(process.memory_info().rss / 2**20)
            tree = [process, *process.children(recursive=True)]
            pss.append(sum(p.memory_full_info().pss for p in tree) / 2**20)

    pss: list[float] = []
    data = pipeline(name, folder, cache_bytes)
    tiny_model().fit(data, epochs=epochs, verbose=0, callbacks=[Probe()])
    return {
        "rss_mib": rss,
        "pss_mib": pss,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "backend": keras.backend.backend(),
    }


def main(argv: list[str] | None = None) -> None:
    """Run each pipeline in a fresh process; print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--cache-mib", type=int, default=32)
    parser.add_argument("--data", type=Path, default=HERE / "data" / "keras_memory")
    parser.add_argument("--pipelines", nargs="+", default=list(PIPELINES))
    parser.add_argument("--one", help=argparse.SUPPRESS)  # run one pipeline, print JSON
    args = parser.parse_args(argv)
    folder = make_folder(args.data, args.images)
    if args.one:
        print(json.dumps(run_one(args.one, folder, args.cache_mib * 2**20, args.epochs)))
        return
    decoded_mib = args.images * SIZE * SIZE * 3 / 2**20
    print(
        f"{args.images} JPEGs ~500x375 in {CLASSES} classes, resized to {SIZE}x{SIZE}: "
        f"{decoded_mib:.0f} MiB decoded; gluondata cache budget {args.cache_mib} MiB; "
        f"batch {BATCH}, {args.epochs} epochs, a tiny CNN"
    )
    print()
    print(
        "| pipeline | backend | main RSS after epochs 1..n (MiB) | epoch 2 → 3 "
        "| all processes, PSS after the last epoch | images/s (epochs 2..n) "
        "| images per CPU-second (epochs 2..n) |"
    )
    print("|---|---|---|---|---|---|---|")
    for name in args.pipelines:
        command = [sys.executable, __file__, "--one", name, "--images", str(args.images)]
        command += ["--epochs", str(args.epochs), "--cache-mib", str(args.cache_mib)]
        command += ["--data", str(args.data)]
        out = subprocess.run(command, capture_output=True, text=True, env=os.environ)
        if out.returncode:
            print(f"| {name} | failed: {out.stderr.strip().splitlines()[-1]} | | | | | |")
            continue
        result = json.loads(out.stdout.strip().splitlines()[-1])
        rss = result["rss_mib"]
        change = (rss[-1] - rss[-2]) / rss[-2] * 100
        speed = args.images / statistics.median(result["seconds"][1:])
        shown = " → ".join(f"{r:.0f}" for r in rss)
        total = f"{result['pss_mib'][-1]:.0f} MiB"
        per_cpu = args.images / statistics.median(result["cpu_seconds"][1:])
        cells = [name, result["backend"], shown, f"{change:+.1f}%", total, f"{speed:.0f}"]
        cells.append(f"{per_cpu:.0f}")
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
