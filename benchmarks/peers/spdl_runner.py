"""SPDL's thread-based DataLoader on the workloads; run with benchmarks/.venv-spdl/bin/python.

Usage: ``spdl_runner.py --workload w1|w2|w3|w4|w5 --workers N --epochs E --data DIR
[--dataset user|native]``; prints one JSON line.

- ``user``: ``spdl.dataloader.DataLoader`` over shuffled indices (reshuffled every epoch) with
  the same per-sample Python code as every contender as its ``preprocessor``, ``num_threads=N``
  and an aggregator that stacks each field with numpy.
- ``native`` (W3): SPDL's own FFmpeg image path: ``spdl.io.demux_image``, then
  ``decode_packets`` with an FFmpeg filter graph doing the random-resized crop (W3's
  ``crop_box``), bilinear scaling to 224, the random flip and RGB conversion, and numpy's
  /255, mean/std and CHW on the result.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable, Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import harness
import numpy as np
import spdl.io
from spdl.dataloader import DataLoader
from workloads import w1, w2, w3, w4, w5


def add_options(parser: argparse.ArgumentParser) -> None:
    """Add SPDL's option: the user's per-sample code, or its FFmpeg image path (W3)."""
    parser.add_argument(
        "--dataset",
        choices=("user", "native"),
        default="user",
        help="the user's __getitem__ as the preprocessor, or spdl.io's FFmpeg decode (W3)",
    )


class Indices:
    """Every index of a dataset of ``n`` samples once per ``iter()``, shuffled each time."""

    def __init__(self, n: int, shuffle: bool) -> None:
        self._n = n
        self._shuffle = shuffle

    def __iter__(self) -> Iterator[int]:
        order = np.random.permutation(self._n) if self._shuffle else np.arange(self._n)
        return iter(order.tolist())


def stack(samples: list[Any]) -> Any:
    """Batch a list of samples (arrays, or tuples of arrays and scalars) with numpy."""
    if isinstance(samples[0], tuple):
        return tuple(np.stack(field) for field in zip(*samples, strict=True))
    return np.stack(samples)


def _measure(
    args: argparse.Namespace,
    fetch: Callable[[int], Any],
    n: int,
    batch_size: int,
    max_batches: int,
    shuffle: bool,
) -> harness.Result:
    threads = max(args.workers, 1)
    return harness.measure(
        lambda: DataLoader(
            Indices(n, shuffle),
            preprocessor=fetch,
            batch_size=batch_size,
            aggregator=stack,
            num_threads=threads,
        ),
        args.epochs,
        max_batches,
    )


def _user(args: argparse.Namespace) -> None:
    if args.dataset != "user":
        raise ValueError(f"{args.workload} has no --dataset {args.dataset}")


def run_w1(args: argparse.Namespace) -> harness.Result:
    """W1: the user's ``(x[i], y[i])``."""
    _user(args)
    data = w1.TableSamples(*w1.load(args.data))
    return _measure(
        args, data.__getitem__, len(data), w1.BATCH_SIZE, w1.EPOCH_BATCHES, shuffle=True
    )


def run_w2(args: argparse.Namespace) -> harness.Result:
    """W2: the user's copy of ``arr[i]``, in file order."""
    _user(args)
    data = w2.MappedSamples(w2.load(args.data))
    return _measure(
        args, data.__getitem__, len(data), w2.BATCH_SIZE, w2.EPOCH_BATCHES, shuffle=False
    )


def ffmpeg_image(path: str) -> np.ndarray:
    """W3's augmentation with FFmpeg's filters (crop, scale, flip, RGB), then numpy."""
    packets = spdl.io.demux_image(path)
    x0, y0, x1, y1 = w3.crop_box(packets.width, packets.height)
    flip = ",hflip" if random.random() < 0.5 else ""
    graph = (
        f"crop={x1 - x0}:{y1 - y0}:{x0}:{y0},scale={w3.CROP}:{w3.CROP}:flags=bilinear"
        f"{flip},format=rgb24"
    )
    frames = spdl.io.decode_packets(packets, filter_desc=graph)
    x = np.asarray(spdl.io.convert_frames(frames), dtype=np.float32).reshape(w3.CROP, w3.CROP, 3)
    x /= 255
    x -= np.array(w3.MEAN, np.float32)
    x /= np.array(w3.STD, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def run_w3(args: argparse.Namespace) -> harness.Result:
    """W3: the user's PIL ``__getitem__``, or the FFmpeg path."""
    if args.dataset == "native":
        paths, labels = w3.image_files(args.data)

        def fetch(i: int) -> tuple[np.ndarray, int]:
            return ffmpeg_image(str(paths[i])), int(labels[i])

        n = len(paths)
    else:
        data = w3.FolderSamples(args.data)
        fetch, n = data.__getitem__, len(data)
    return _measure(args, fetch, n, w3.BATCH_SIZE, w3.EPOCH_BATCHES, shuffle=True)


def run_w4(args: argparse.Namespace) -> harness.Result:
    """W4: the user's record ``__getitem__``."""
    _user(args)
    data = w4.RecordSamples(w4.rec_path(args.data))
    return _measure(
        args, data.__getitem__, len(data), w3.BATCH_SIZE, w3.EPOCH_BATCHES, shuffle=True
    )


def run_w5(args: argparse.Namespace) -> harness.Result:
    """W5: the user's pair of ``np.load``."""
    _user(args)
    data = w5.PairSamples(args.data)
    return _measure(
        args, data.__getitem__, len(data), w5.BATCH_SIZE, w5.EPOCH_BATCHES, shuffle=True
    )


if __name__ == "__main__":
    harness.main(
        {"w1": run_w1, "w2": run_w2, "w3": run_w3, "w4": run_w4, "w5": run_w5},
        "SPDL",
        version("spdl"),
        add_options,
    )
