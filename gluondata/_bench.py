"""``gluondata bench TARGET``: iterate a loader for some epochs and show where the time goes.

TARGET is ``module:function`` (a function that returns a DataLoader), an
image folder (class sub-folders, as ``ImageFolderDataset`` reads them) or a
``.rec`` file; the last two are loaded with the standard training transforms
(random-resized-crop 224, flip, to tensor, ImageNet normalisation).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

from ._loader.stats import LoaderStats, arrival_rates
from .dataloader import DataLoader

__all__ = ["add_arguments", "bench", "load_target", "plot", "run"]

_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)
_POSTFIX_SECONDS = 0.5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``gluondata bench`` options."""
    parser.add_argument(
        "target", help="module:function returning a DataLoader, a folder, or a .rec"
    )
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64, help="(folder and .rec only)")
    parser.add_argument(
        "--workers", default="auto", help="num_workers for a folder or .rec: a number or 'auto'"
    )
    parser.add_argument("--thread-pool", action="store_true", help="(folder and .rec only)")
    parser.add_argument("--plot", metavar="PNG", help="draw throughput and stages into PNG")
    parser.add_argument("--json", action="store_true", help="print the stats of each epoch as JSON")


def load_target(
    target: str, batch_size: int = 64, workers: int | str = "auto", thread_pool: bool = False
) -> DataLoader:
    """The DataLoader a TARGET names (see the module docstring)."""
    path = Path(target)
    if path.is_dir() or path.suffix == ".rec":
        return _image_loader(path, batch_size, workers, thread_pool)
    module_name, colon, function_name = target.partition(":")
    if not colon or not function_name:
        raise SystemExit(
            f"gluondata bench: {target!r} is neither a folder, a .rec file nor module:function"
        )
    if "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, "")  # a module in the current folder, as `python -m` finds it
    module = importlib.import_module(module_name)
    loader = getattr(module, function_name)()
    if not isinstance(loader, DataLoader):
        raise SystemExit(
            f"gluondata bench: {target} returned {type(loader).__name__}, not a DataLoader"
        )
    return loader


def _image_loader(path: Path, batch_size: int, workers: int | str, thread_pool: bool) -> DataLoader:
    from .vision import ImageFolderDataset, ImageRecordDataset
    from .vision import transforms as T

    if not path.exists():
        raise SystemExit(f"gluondata bench: {path} does not exist")
    dataset = ImageFolderDataset(str(path)) if path.is_dir() else ImageRecordDataset(str(path))
    augment = T.Compose(
        [
            T.RandomResizedCrop(224),
            T.RandomFlipLeftRight(),
            T.ToTensor(),
            T.Normalize(_MEAN, _STD),
        ]
    )
    return DataLoader(
        dataset.transform_first(augment),
        batch_size=batch_size,
        shuffle=True,
        num_workers=workers if workers == "auto" else int(workers),
        thread_pool=thread_pool,
    )


def bench(loader: DataLoader, epochs: int, show_progress: bool = True) -> list[LoaderStats]:
    """Iterate ``epochs`` epochs with a progress bar (samples/s); return each epoch's stats."""
    from tqdm import tqdm

    results = []
    for epoch in range(epochs):
        with tqdm(
            total=len(loader), desc=f"epoch {epoch}", unit="batch", disable=not show_progress
        ) as bar:
            shown = time.perf_counter()
            for _ in loader:
                bar.update(1)
                if time.perf_counter() - shown > _POSTFIX_SECONDS:
                    shown = time.perf_counter()
                    rate = loader.stats().samples_per_second
                    bar.set_postfix_str(f"{rate:,.0f} samples/s", refresh=False)
            bar.set_postfix_str(f"{loader.stats().samples_per_second:,.0f} samples/s")
        results.append(loader.stats())
    return results


def plot(results: list[LoaderStats], path: str) -> None:
    """Draw samples/s over time (all epochs) and each epoch's stage breakdown into ``path``."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise ImportError(
            "gluondata bench --plot needs matplotlib: pip install 'gluondata[plot]'"
        ) from err
    figure, (rates_axis, stages_axis) = plt.subplots(1, 2, figsize=(11, 4))
    offset = 0.0
    for stats in results:
        window = max(stats.wall_seconds / 40, 0.05)
        rates = arrival_rates(stats.arrivals, window)
        rates_axis.plot(
            [offset + t for t, _ in rates], [r for _, r in rates], label=f"epoch {stats.epoch}"
        )
        offset += stats.wall_seconds
    rates_axis.set(xlabel="seconds", ylabel="samples/s", title="throughput")
    rates_axis.legend()
    bottom = [0.0] * len(results)
    labels = [str(stats.epoch) for stats in results]
    for stage in results[0].stages:
        seconds = [stats.stages[stage].total_seconds for stats in results]
        stages_axis.bar(labels, seconds, bottom=bottom, label=stage)
        bottom = [b + s for b, s in zip(bottom, seconds, strict=True)]
    stages_axis.set(xlabel="epoch", ylabel="seconds (all workers)", title="stages")
    stages_axis.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def run(args: argparse.Namespace) -> int:
    """Run the benchmark the command line describes."""
    loader = load_target(args.target, args.batch_size, args.workers, args.thread_pool)
    try:
        results = bench(loader, args.epochs, show_progress=not args.json)
    finally:
        loader.close()
    if args.plot:
        plot(results, args.plot)
    if args.json:
        print(json.dumps([stats.as_dict() for stats in results], indent=2))
        return 0
    for stats in results[:-1]:
        print(f"epoch {stats.epoch}: {stats.samples_per_second:,.0f} samples/s")
    print(results[-1])
    if args.plot:
        print(f"plot: {args.plot}")
    return 0
