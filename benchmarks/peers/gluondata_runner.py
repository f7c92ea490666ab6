"""gluondata's DataLoader on the benchmark workloads, with the same CLI as the peer runners.

Usage: ``gluondata_runner.py --workload w1|w2|w3|w4|w5 --workers N --epochs E --data DIR
[--dataset user|array|native|iter] [--thread-pool]``; prints one JSON line.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import harness
import numpy as np
from workloads import w1, w2, w3, w4, w5

import gluondata
from gluondata import ArrayDataset, DataLoader, Dataset


class UserTable(w1.TableSamples, Dataset):
    """W1's user ``__getitem__`` on gluondata's dataset base class."""


class UserMapped(w2.MappedSamples, Dataset):
    """W2's user ``__getitem__`` on gluondata's dataset base class."""


class UserPairs(w5.PairSamples, Dataset):
    """W5's user ``__getitem__`` on gluondata's dataset base class."""


class UserFolder(w3.FolderSamples, Dataset):
    """W3's user ``__getitem__`` on gluondata's dataset base class."""


class UserRecords(w4.RecordSamples, Dataset):
    """W4's user ``__getitem__`` on gluondata's dataset base class."""


def add_options(parser: argparse.ArgumentParser) -> None:
    """Add gluondata's options: which dataset, and threads instead of processes."""
    parser.add_argument(
        "--dataset",
        choices=("user", "array", "native", "iter"),
        default="user",
        help="the user's per-sample Dataset, or gluondata's own (W1: ArrayDataset, W3: "
        "vision.ImageFolderDataset, W4: vision.ImageRecordDataset, W5: "
        "vision.SegmentationDataset; W4 iter: io.ImageRecordIter)",
    )
    parser.add_argument("--thread-pool", action="store_true", help="workers are threads")
    parser.add_argument(
        "--image-backend",
        choices=("opencv", "pillow"),
        default="opencv",
        help="gluondata's image backend (sets GLUONDATA_IMAGE_BACKEND before any worker starts)",
    )


def _measure(
    args: argparse.Namespace, dataset: Any, batch_size: int, max_batches: int, **options: Any
) -> harness.Result:
    """Run the protocol on a gluondata DataLoader with the command line's workers."""
    return harness.measure(
        lambda: DataLoader(
            dataset,
            batch_size=batch_size,
            num_workers=args.workers,
            thread_pool=args.thread_pool,
            **options,
        ),
        args.epochs,
        max_batches,
    )


def run_w1(args: argparse.Namespace) -> harness.Result:
    """Measure W1 with the chosen dataset (user or ``ArrayDataset``)."""
    x, y = w1.load(args.data)
    datasets = {"array": lambda: ArrayDataset(x, y), "user": lambda: UserTable(x, y)}
    if args.dataset not in datasets:
        raise ValueError(f"W1 has no --dataset {args.dataset}")
    return _measure(args, datasets[args.dataset](), w1.BATCH_SIZE, w1.EPOCH_BATCHES, shuffle=True)


def run_w2(args: argparse.Namespace) -> harness.Result:
    """Measure W2 with the user's dataset over the memory-mapped array."""
    if args.dataset != "user":
        raise ValueError(f"W2 has no --dataset {args.dataset}")
    return _measure(args, UserMapped(w2.load(args.data)), w2.BATCH_SIZE, w2.EPOCH_BATCHES)


def run_w5(args: argparse.Namespace) -> harness.Result:
    """Measure W5 with the user's dataset or ``vision.SegmentationDataset``."""
    if args.dataset == "native":
        from gluondata.vision import SegmentationDataset

        dataset = SegmentationDataset(args.data, mode=None, mask_dtype=np.float32)
    elif args.dataset == "user":
        dataset = UserPairs(args.data)
    else:
        raise ValueError(f"W5 has no --dataset {args.dataset}")
    return _measure(
        args, dataset, w5.BATCH_SIZE, w5.EPOCH_BATCHES, shuffle=True, last_batch="rollover"
    )


def _image_transform() -> Any:
    """W3's augmentation with gluondata's own transforms."""
    from gluondata.vision import transforms as T

    return T.Compose(
        [
            T.RandomResizedCrop(w3.CROP, scale=w3.SCALE, ratio=w3.RATIO),
            T.RandomFlipLeftRight(),
            T.ToTensor(),
            T.Normalize(w3.MEAN, w3.STD),
        ]
    )


def run_w3(args: argparse.Namespace) -> harness.Result:
    """Measure W3 with the user's dataset or ``vision.ImageFolderDataset`` + transforms."""
    os.environ["GLUONDATA_IMAGE_BACKEND"] = args.image_backend
    if args.dataset == "native":
        from gluondata.vision import ImageFolderDataset

        dataset = ImageFolderDataset(str(w3.folder(args.data))).transform_first(_image_transform())
    elif args.dataset == "user":
        dataset = UserFolder(args.data)
    else:
        raise ValueError(f"W3 has no --dataset {args.dataset}")
    return _measure(args, dataset, w3.BATCH_SIZE, w3.EPOCH_BATCHES, shuffle=True)


def run_w4(args: argparse.Namespace) -> harness.Result:
    """Measure W4 with the user's dataset, ``vision.ImageRecordDataset`` + transforms, or
    ``io.ImageRecordIter`` (if gluondata has one)."""
    os.environ["GLUONDATA_IMAGE_BACKEND"] = args.image_backend
    rec = w4.rec_path(args.data)
    if args.dataset == "iter":
        return _measure_record_iter(args)
    if args.dataset == "native":
        from gluondata.vision import ImageRecordDataset

        dataset = ImageRecordDataset(rec).transform_first(_image_transform())
    elif args.dataset == "user":
        dataset = UserRecords(rec)
    else:
        raise ValueError(f"W4 has no --dataset {args.dataset}")
    return _measure(args, dataset, w3.BATCH_SIZE, w3.EPOCH_BATCHES, shuffle=True)


def _measure_record_iter(args: argparse.Namespace) -> harness.Result:
    """Run the protocol on ``gluondata.io.ImageRecordIter`` with MXNet's parameters."""
    try:
        from gluondata.io import ImageRecordIter
    except ImportError as err:
        raise RuntimeError(f"gluondata.io.ImageRecordIter is not available ({err})") from err
    return harness.measure(
        lambda: w4.RecordIterEpochs(
            ImageRecordIter(
                path_imgrec=w4.rec_path(args.data),
                path_imgidx=w4.idx_path(args.data),
                **w4.RECORD_ITER_ARGS,
            ),
            w3.IMAGES,
        ),
        args.epochs,
        w3.EPOCH_BATCHES,
    )


if __name__ == "__main__":
    harness.main(
        {"w1": run_w1, "w2": run_w2, "w3": run_w3, "w4": run_w4, "w5": run_w5},
        "gluondata",
        gluondata.__version__,
        add_options,
    )
