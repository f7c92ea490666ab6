"""The measurement protocol shared by every contender's runner.

Runners execute in different virtualenvs (gluondata's and each peer's), so this module needs
only the standard library, numpy and psutil (through ``memory``). Protocol (the project's
WORKLOADS.md): build the loader, run one warm-up epoch (its time-to-first-batch, counted from the
start of the loader's construction, is reported separately), then time ``epochs`` epochs; the
consumer only touches batch shapes. Memory is sampled during the timed epochs (see ``memory``).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from memory import MemorySampler, TreeUsage, tree_usage

ERROR_CHARS = 160  # an error is shown in a table cell: its first line, cut to this length
Result = dict[str, Any]
_batch_cap: int | None = None  # the command line's --max-batches, applied by measure()
WorkloadFn = Callable[[argparse.Namespace], Result]


@dataclass(frozen=True)
class Config:
    """One row of a workload's table: a contender run with extra command-line arguments.

    Attributes
    ----------
    contender : str
        Key of the runner (``"numpy"``, ``"gluondata"``, ``"torch"``, ``"mxnet"``, ``"tf"``,
        ``"grain"`` or ``"spdl"``).
    dataset : str
        What the row's dataset is, as shown in the table.
    workers : int
        ``num_workers`` passed to the loader.
    mode : str
        How the workers run (``"processes"`` or ``"threads"``); empty for 0 workers.
    args : tuple of str
        Extra runner arguments selecting this configuration.
    """

    contender: str
    dataset: str
    workers: int
    mode: str = ""
    args: tuple[str, ...] = field(default_factory=tuple)

    def with_pillow(self) -> Config:
        """The same gluondata row with the Pillow image backend (``--image-backend pillow``)."""
        return replace(
            self,
            dataset=f"{self.dataset} with the Pillow backend",
            args=(*self.args, "--image-backend", "pillow"),
        )


@dataclass(frozen=True)
class Target:
    """A goal read off a workload's table: ``row``'s throughput ≥ ``factor`` x ``reference``'s.

    Attributes
    ----------
    text : str
        The goal as shown under the table.
    row, reference : Config
        The two rows compared (both must be in the workload's ``configs``).
    factor : float
        The ratio to reach.
    """

    text: str
    row: Config
    reference: Config
    factor: float


@dataclass(frozen=True)
class Workload:
    """A workload as the driver sees it.

    Attributes
    ----------
    key : str
        Command-line name (``"w1"``); also the name of its data directory.
    title : str
        Heading of its table in RESULTS.md.
    unit : str
        Unit of the throughput column.
    make_data : callable
        Writes the workload's data into the given directory (idempotent).
    configs : tuple of Config
        The rows, in the order they are run.
    per_sample : float
        Units delivered per sample (1 for samples/s; bytes per sample / 1e9 for GB/s).
    epochs : int
        Timed epochs per run unless the command line says otherwise.
    batch_bytes : int
        Bytes of one batch; when set, the table also gives memory in batches.
    note : str
        A sentence printed under the table's title (e.g. a target to read the table against).
    targets : tuple of Target
        Goals checked under the table.
    extra : callable, optional
        Measures something outside the loader protocol on the workload's data directory after the
        rows have run; returns markdown printed under the table.
    """

    key: str
    title: str
    unit: str
    make_data: Callable[[Path], None]
    configs: tuple[Config, ...]
    per_sample: float = 1.0
    epochs: int = 5
    batch_bytes: int = 0
    note: str = ""
    targets: tuple[Target, ...] = ()
    extra: Callable[[Path], str] | None = None


def parse_args(
    add_options: Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.Namespace:
    """Parse the command line common to all runners.

    Parameters
    ----------
    add_options : callable, optional
        Adds runner-specific options to the parser.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", required=True, help="workload key, e.g. w1")
    parser.add_argument("--workers", type=int, default=0, help="num_workers of the loader")
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs after the warm-up")
    parser.add_argument("--data", required=True, help="directory made by benchmarks/run.py")
    parser.add_argument(
        "--max-batches",
        type=int,
        default=None,
        help="cut every epoch at this many batches (rows too slow for the workload's epoch)",
    )
    if add_options is not None:
        add_options(parser)
    return parser.parse_args()


def _touch(batch: Any) -> int:
    """Read the shapes of a batch (a list/tuple of arrays or one array); return its length."""
    shapes = [a.shape for a in batch] if isinstance(batch, (list, tuple)) else [batch.shape]
    return int(shapes[0][0])


def _epoch(
    loader: Iterable[Any],
    max_batches: int,
    start: float,
    sync: Callable[[], None] | None,
    at_end: Callable[[], None] | None = None,
) -> tuple[float, float, int]:
    """Consume up to ``max_batches`` batches; return (time to first batch, total time, samples).

    Times count from ``start``. The iterator is released only after the clock stops, so that
    tearing down an epoch cut short is not charged to anyone; ``at_end`` runs in between (the
    workers of loaders that stop them with the iterator are still alive then).
    """
    it = iter(loader)
    first = 0.0
    samples = 0
    for n, batch in enumerate(it, 1):
        samples += _touch(batch)
        if n == 1:
            first = time.perf_counter() - start
        if n == max_batches:
            break
    if sync is not None:
        sync()
    elapsed = time.perf_counter() - start
    if at_end is not None:
        at_end()
    del it
    return first, elapsed, samples


def measure(
    make_loader: Callable[[], Iterable[Any]],
    epochs: int,
    max_batches: int,
    sync: Callable[[], None] | None = None,
) -> Result:
    """Run the protocol on the loader built by ``make_loader``.

    Parameters
    ----------
    make_loader : callable
        Builds the loader (timed as part of the warm-up's time-to-first-batch).
    epochs : int
        Timed epochs after the warm-up.
    max_batches : int
        Batches per epoch; iteration stops after this many.
    sync : callable, optional
        Waits for outstanding asynchronous work before an epoch's clock stops.

    Returns
    -------
    dict
        ``ttfb_s`` and ``warmup_s`` of the warm-up epoch, ``epoch_s`` (one entry per timed epoch)
        and ``samples`` (per epoch); memory in bytes (see ``memory``): ``main_delta`` (peak
        ``RssAnon`` of the main process during the timed epochs minus its value after the
        warm-up), ``tree_peak`` and ``tree_uss_peak`` (peak PSS and USS summed over all
        processes), ``peak_parts`` (the PSS peak split into main, workers and shared memory),
        ``epoch_pss`` (all processes' PSS at the end of each timed epoch) and ``workers`` (the
        workers' PSS without shared memory then; None entries without worker processes).
    """
    if _batch_cap is not None:
        max_batches = min(max_batches, _batch_cap)
    start = time.perf_counter()
    loader = make_loader()
    ttfb, warmup, samples = _epoch(loader, max_batches, start, sync)
    epoch_s: list[float] = []
    ends: list[TreeUsage] = []
    with MemorySampler() as memory:
        for _ in range(epochs):
            _, elapsed, got = _epoch(
                loader,
                max_batches,
                time.perf_counter(),
                sync,
                lambda: ends.append(tree_usage()),
            )
            if got != samples:
                raise RuntimeError(f"epoch delivered {got} samples, the warm-up {samples}")
            epoch_s.append(elapsed)
    peak = memory.peak
    assert peak is not None  # the sampler samples on entry
    return {
        "ttfb_s": ttfb,
        "warmup_s": warmup,
        "epoch_s": epoch_s,
        "samples": samples,
        "main_delta": memory.main_peak - memory.baseline,
        "tree_peak": memory.tree_peak,
        "tree_uss_peak": memory.uss_peak,
        "peak_parts": {
            "main": peak.main,
            "workers": peak.workers,
            "shared": peak.shared,
            "processes": peak.processes,
        },
        "epoch_pss": [e.pss for e in ends],
        "workers": [e.workers if e.processes > 1 else None for e in ends],
        "memory_samples": memory.samples,
    }


def main(
    workloads: dict[str, WorkloadFn],
    library: str,
    version: str,
    add_options: Callable[[argparse.ArgumentParser], None] | None = None,
) -> None:
    """Run one workload as the command line asks and print the result as one JSON line.

    An exception is reported as ``{"error": "<type>: <first line of message>"}`` (at most
    ``ERROR_CHARS`` characters) with exit status 1, so that the driver can show it in the table
    instead of failing the whole run.
    """
    args = parse_args(add_options)
    global _batch_cap
    _batch_cap = args.max_batches
    info = {
        "library": library,
        "version": version,
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    try:
        result = {**info, **workloads[args.workload](args)}
    except Exception as exc:
        lines = str(exc).strip().splitlines()
        message = f"{type(exc).__name__}: {lines[0] if lines else ''}"
        if len(message) > ERROR_CHARS:
            message = message[:ERROR_CHARS] + "..."
        print(json.dumps({**info, "error": message}))
        sys.stdout.flush()
        raise
    print(json.dumps(result))


TF_USER = "user `__getitem__` via `tf.numpy_function`"
GRAIN_USER = "user `__getitem__`, `grain.DataLoader`"
GRAIN_NATIVE = "user `__getitem__`, `MapDataset` (+ `mp_prefetch`)"
SPDL_USER = "user `__getitem__`, `spdl.dataloader.DataLoader`"


def new_peers(
    workers: int, native: bool = True, max_batches: int | None = None
) -> tuple[Config, ...]:
    """The tf.data, Grain and SPDL rows running the user's ``__getitem__`` with ``workers``.

    tf.data maps it with ``num_parallel_calls=workers`` (threads); Grain's DataLoader and its
    ``MapDataset`` pipeline (``native``) run it in worker processes; SPDL in threads (it has no
    0-worker mode, so it appears with workers only). ``max_batches`` cuts the per-sample
    loaders' epochs short (said in the row's dataset label), for workloads whose epoch would take
    them minutes. Grain's ``MapDataset`` row always runs whole epochs: its iterator reads ahead
    into a buffer of 500 elements (here batches) in background threads, which fills while the
    harness is between epochs, so a cut epoch timed that buffer rather than the pipeline (W1 once
    showed 2.21M samples/s for a pipeline that sustains 0.05-0.1M).
    """
    cap = () if max_batches is None else ("--max-batches", str(max_batches))
    cut = "" if max_batches is None else f" (epochs cut at {max_batches} batches)"
    mode = "processes" if workers else ""
    rows = [
        Config(
            "tf", TF_USER + cut, workers, "threads" if workers else "", ("--dataset", "user", *cap)
        ),
        Config("grain", GRAIN_USER + cut, workers, mode, ("--dataset", "user", *cap)),
    ]
    if native:
        rows.append(
            Config("grain", GRAIN_NATIVE, workers, mode, ("--dataset", "native"))
        )
    if workers:
        rows.append(
            Config("spdl", SPDL_USER + cut, workers, "threads", ("--dataset", "user", *cap))
        )
    return tuple(rows)
