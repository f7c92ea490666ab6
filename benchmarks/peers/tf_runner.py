"""tf.data on the benchmark workloads; run with benchmarks/.venv-tf/bin/python.

Usage: ``tf_runner.py --workload w1|w2|w3|w4|w5 --workers N --epochs E --data DIR
[--dataset user|native]``; prints one JSON line.

- ``user``: the same per-sample Python code as every contender, called through
  ``tf.numpy_function`` from ``Dataset.range(n).shuffle(n).map(..., num_parallel_calls=N)``
  (sequential with 0 workers), then ``batch`` and (with workers) ``prefetch(AUTOTUNE)``.
- ``native``: tf.data's own fastest way. W1: the table as constant tensors, each epoch's
  ``tf.random.shuffle`` of the row numbers cut into batches, and a ``tf.gather`` of each
  batch's rows;
  W3: ``read_file`` + ``decode_and_crop_jpeg`` with a ``sample_distorted_bounding_box`` crop
  (the same scale and ratio ranges), bilinear ``resize`` to 224, ``random_flip_left_right``,
  /255, mean/std, CHW, all in the graph with ``num_parallel_calls=AUTOTUNE``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import harness
import numpy as np
import tensorflow as tf
from workloads import w1, w2, w3, w4, w5

AUTOTUNE = tf.data.AUTOTUNE


def add_options(parser: argparse.ArgumentParser) -> None:
    """Add tf.data's option: the user's per-sample code, or tf.data's own ops."""
    parser.add_argument(
        "--dataset",
        choices=("user", "native"),
        default="user",
        help="the user's __getitem__ through tf.numpy_function, or tf.data's own ops (W1, W3)",
    )


def user_dataset(
    samples: Any,
    dtypes: tuple[tf.DType, ...],
    shapes: tuple[tuple[int, ...], ...],
    batch_size: int,
    shuffle: bool,
    workers: int,
) -> tf.data.Dataset:
    """Batches of ``samples[i]`` (a tuple of arrays) called through ``tf.numpy_function``."""

    def fetch(i: np.ndarray) -> list[np.ndarray]:
        return [
            np.asarray(v, dtype=d.as_numpy_dtype)
            for v, d in zip(samples[int(i)], dtypes, strict=True)
        ]

    def load(i: tf.Tensor) -> tuple[tf.Tensor, ...]:
        values = tf.numpy_function(fetch, [i], list(dtypes), stateful=True)
        for value, shape in zip(values, shapes, strict=True):
            value.set_shape(shape)
        return tuple(values)

    n = len(samples)
    ds = tf.data.Dataset.range(n)
    if shuffle:
        ds = ds.shuffle(n, reshuffle_each_iteration=True)
    ds = ds.map(load, num_parallel_calls=workers or None, deterministic=workers == 0)
    ds = ds.batch(batch_size)
    return ds.prefetch(AUTOTUNE) if workers else ds


def _measure(args: argparse.Namespace, make: Any, max_batches: int) -> harness.Result:
    return harness.measure(make, args.epochs, max_batches)


def run_w1(args: argparse.Namespace) -> harness.Result:
    """W1: the user's ``(x[i], y[i])`` or ``from_tensor_slices``."""
    x, y = w1.load(args.data)
    if args.dataset == "native":
        xs, ys = tf.constant(x), tf.constant(y)
        full = len(x) - len(x) % w1.BATCH_SIZE  # the epochs are cut before the short batch

        def shuffled_batches(_: tf.Tensor) -> tf.Tensor:
            order = tf.random.shuffle(tf.range(len(x), dtype=tf.int64))
            return tf.reshape(order[:full], [-1, w1.BATCH_SIZE])

        def make() -> tf.data.Dataset:
            # each epoch one permutation of the rows, cut into batches, then one gather per
            # batch: 2-2.5x as fast as range(n).shuffle(n).batch(...) (which refills a
            # 200000-element shuffle buffer every epoch), itself about twice as fast as
            # from_tensor_slices((x, y)).shuffle(n).batch(...) (whose buffer holds rows)
            ds = tf.data.Dataset.range(1).map(shuffled_batches).unbatch()
            ds = ds.map(lambda i: (tf.gather(xs, i), tf.gather(ys, i)))
            return ds.prefetch(AUTOTUNE) if args.workers else ds

        return _measure(args, make, w1.EPOCH_BATCHES)
    samples = w1.TableSamples(x, y)
    return _measure(
        args,
        lambda: user_dataset(
            samples,
            (tf.float32, tf.int64),
            ((w1.FEATURES,), ()),
            w1.BATCH_SIZE,
            True,
            args.workers,
        ),
        w1.EPOCH_BATCHES,
    )


class _One:
    """Wrap a dataset whose samples are single arrays so that they are 1-tuples."""

    def __init__(self, samples: Any) -> None:
        self._samples = samples

    def __len__(self) -> int:
        return len(self._samples)

    def __getitem__(self, i: int) -> tuple[np.ndarray]:
        return (self._samples[i],)


def run_w2(args: argparse.Namespace) -> harness.Result:
    """W2: the user's copy of ``arr[i]``."""
    samples = _One(w2.MappedSamples(w2.load(args.data)))
    return _measure(
        args,
        lambda: user_dataset(
            samples, (tf.float32,), (w2.SHAPE,), w2.BATCH_SIZE, False, args.workers
        ),
        w2.EPOCH_BATCHES,
    )


def run_w5(args: argparse.Namespace) -> harness.Result:
    """W5: the user's pair of ``np.load``; the last batch is kept (400 = 25 x 16 anyway)."""
    samples = w5.PairSamples(args.data)
    return _measure(
        args,
        lambda: user_dataset(
            samples,
            (tf.float32, tf.float32),
            (w5.IMAGE_SHAPE, w5.IMAGE_SHAPE[1:]),
            w5.BATCH_SIZE,
            True,
            args.workers,
        ),
        w5.EPOCH_BATCHES,
    )


_IMAGE = ((3, w3.CROP, w3.CROP), ())


def in_graph_image(data: tf.Tensor) -> tf.Tensor:
    """W3's augmentation in tf.data's own ops, from the JPEG's bytes to CHW float32."""
    shape = tf.io.extract_jpeg_shape(data)
    begin, size, _ = tf.image.sample_distorted_bounding_box(
        shape,
        bounding_boxes=tf.zeros([1, 0, 4]),
        min_object_covered=0.0,
        aspect_ratio_range=w3.RATIO,
        area_range=w3.SCALE,
        max_attempts=10,
        use_image_if_no_bounding_boxes=True,
    )
    y0, x0, _ = tf.unstack(begin)
    h, w, _ = tf.unstack(size)
    img = tf.io.decode_and_crop_jpeg(data, tf.stack([y0, x0, h, w]), channels=3)
    img = tf.image.resize(img, [w3.CROP, w3.CROP], method="bilinear")
    img = tf.image.random_flip_left_right(img)
    img = (img / 255.0 - w3.MEAN) / w3.STD
    return tf.transpose(img, [2, 0, 1])


def run_w3(args: argparse.Namespace) -> harness.Result:
    """W3: the user's PIL ``__getitem__``, or the in-graph pipeline."""
    if args.dataset == "native":
        paths, labels = w3.image_files(args.data)

        def make() -> tf.data.Dataset:
            ds = tf.data.Dataset.from_tensor_slices((paths, labels)).shuffle(len(paths))
            ds = ds.map(
                lambda p, label: (in_graph_image(tf.io.read_file(p)), label),
                num_parallel_calls=AUTOTUNE,
                deterministic=False,
            )
            return ds.batch(w3.BATCH_SIZE).prefetch(AUTOTUNE)

        return _measure(args, make, w3.EPOCH_BATCHES)
    samples = w3.FolderSamples(args.data)
    return _measure(
        args,
        lambda: user_dataset(
            samples, (tf.float32, tf.int64), _IMAGE, w3.BATCH_SIZE, True, args.workers
        ),
        w3.EPOCH_BATCHES,
    )


def run_w4(args: argparse.Namespace) -> harness.Result:
    """W4: the user's record ``__getitem__`` (tf.data has no RecordIO reader)."""
    if args.dataset != "user":
        raise ValueError(f"W4 has no --dataset {args.dataset}")
    samples = w4.RecordSamples(w4.rec_path(args.data))
    return _measure(
        args,
        lambda: user_dataset(
            samples, (tf.float32, tf.float32), _IMAGE, w3.BATCH_SIZE, True, args.workers
        ),
        w3.EPOCH_BATCHES,
    )


if __name__ == "__main__":
    harness.main(
        {"w1": run_w1, "w2": run_w2, "w3": run_w3, "w4": run_w4, "w5": run_w5},
        "tf.data",
        tf.__version__,
        add_options,
    )
