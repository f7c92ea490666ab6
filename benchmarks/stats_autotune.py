"""What ``DataLoader.stats()`` costs, and how ``num_workers='auto'`` compares with fixed settings.

Usage::

    python benchmarks/stats_autotune.py overhead [--rounds 3]
    python benchmarks/stats_autotune.py interleaved [--pairs 200]
    python benchmarks/stats_autotune.py auto [--rounds 2]

``overhead`` runs W1 and W3 with the stats switched off (the epoch recorder and the stage
clock replaced by nothing, before any worker forks: what remains is one clock read and a few
``is None`` tests per batch) and on, alternating, each in a fresh process. ``interleaved``
runs W1 with ``ArrayDataset`` and 0 workers (the cheapest batch there is, so the worst case) in
one process, stats on and off (``DataLoader._record_stats``) in alternate epochs, ``--pairs``
times each, and compares the medians of their wall and CPU times. ``auto`` runs W1, W3 and W5
with ``num_workers`` 0, 1, 2 and ``'auto'``. Each run is the protocol of WORKLOADS.md (one
warm-up epoch, then the median of the timed epochs; the consumer touches nothing). Data comes
from ``benchmarks/run.py`` (``benchmarks/data``).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"

# name: (workload, dataset, loader options, timed epochs)
CASES = {
    "w1-user-0": ("w1", "user", {"num_workers": 0}, 5),
    "w1-user-2": ("w1", "user", {"num_workers": 2}, 5),
    "w1-array-0": ("w1", "array", {"num_workers": 0}, 5),
    "w1-array-2": ("w1", "array", {"num_workers": 2}, 5),
    "w3-native-2": ("w3", "native", {"num_workers": 2}, 3),
}


def _loader(workload: str, dataset: str, options: dict) -> tuple[object, int]:
    """The workload's gluondata DataLoader and its batches per epoch."""
    sys.path[:0] = [str(HERE), str(HERE / "peers")]
    import gluondata_runner as runner
    from workloads import w1, w3, w5

    from gluondata import ArrayDataset, DataLoader

    if workload == "w1":
        x, y = w1.load(DATA / "w1")
        data = ArrayDataset(x, y) if dataset == "array" else runner.UserTable(x, y)
        return DataLoader(data, batch_size=w1.BATCH_SIZE, shuffle=True, **options), w1.EPOCH_BATCHES
    if workload == "w3":
        from gluondata.vision import ImageFolderDataset

        data = ImageFolderDataset(str(w3.folder(DATA / "w3"))).transform_first(
            runner._image_transform()
        )
        return DataLoader(data, batch_size=w3.BATCH_SIZE, shuffle=True, **options), w3.EPOCH_BATCHES
    data = runner.UserPairs(DATA / "w5")
    loader = DataLoader(
        data, batch_size=w5.BATCH_SIZE, shuffle=True, last_batch="rollover", **options
    )
    return loader, w5.EPOCH_BATCHES


def _switch_stats_off() -> None:
    import gluondata._loader.fetch as fetch
    import gluondata._loader.pool.worker as worker
    import gluondata.dataloader as dataloader

    dataloader.EpochRecorder = _NoRecorder
    fetch.next_record = worker.next_record = lambda: None


class _NoRecorder:
    def __new__(cls, *args: object, **kwargs: object) -> None:
        return None


def measure(workload: str, dataset: str, options: dict, epochs: int, stats: bool = True) -> dict:
    """One warm-up epoch, then ``epochs`` timed ones: samples/s of each, and CPU per sample.

    The CPU time is the main process's and the workers' over all epochs (the workers' is
    known once they exit): less sensitive than wall time to other programs on the machine.
    """
    import gluondata

    if not stats:
        _switch_stats_off()
    loader, max_batches = _loader(workload, dataset, options)
    rates = []
    total_samples = 0
    cpu_start = time.process_time()
    with loader:
        for epoch in range(epochs + 1):
            samples, start = 0, time.perf_counter()
            for count, batch in enumerate(loader, 1):
                samples += len(batch[0])
                if count == max_batches:
                    break
            if epoch:
                rates.append(samples / (time.perf_counter() - start))
            total_samples += samples
        report = loader.stats() if stats else None
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = time.process_time() - cpu_start + children.ru_utime + children.ru_stime
    return {
        "gluondata": gluondata.__file__,
        "rate": statistics.median(rates),
        "best": max(rates),
        "cpu_us_per_sample": 1e6 * cpu / total_samples,
        "rates": rates,
        "num_workers": None if report is None else report.num_workers,
        "autotune": None if report is None else report.autotune,
    }


def _child(
    workload: str, dataset: str, options: dict[str, Any], epochs: int, stats: bool = True
) -> dict[str, Any]:
    spec = json.dumps([workload, dataset, options, epochs, stats])
    out = subprocess.run(
        [sys.executable, __file__, "child", spec],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def overhead(rounds: int) -> None:
    """Stats on against off, alternating; print a Markdown table."""
    rates: dict[tuple[str, str], list[float]] = {}
    cpu: dict[tuple[str, str], list[float]] = {}
    for _ in range(rounds):
        for name, (workload, dataset, options, epochs) in CASES.items():
            for variant in ("without", "with"):
                got = _child(workload, dataset, options, epochs, variant == "with")
                rates.setdefault((name, variant), []).append(got["best"])
                cpu.setdefault((name, variant), []).append(got["cpu_us_per_sample"])
                print(
                    name, variant, f"{got['best']:,.0f}", got["cpu_us_per_sample"], file=sys.stderr
                )
    print(
        "| case | samples/s without stats | with stats | change | CPU µs/sample without | "
        "with | change |"
    )
    print("|---|---|---|---|---|---|---|")
    for name in CASES:
        off, on = (statistics.median(rates[name, v]) for v in ("without", "with"))
        cpu_off, cpu_on = (statistics.median(cpu[name, v]) for v in ("without", "with"))
        print(
            f"| {name} | {off:,.0f} ({_spread(rates[name, 'without'])}) | "
            f"{on:,.0f} ({_spread(rates[name, 'with'])}) | {100 * (on / off - 1):+.1f}% | "
            f"{cpu_off:.2f} | {cpu_on:.2f} | {100 * (cpu_on / cpu_off - 1):+.1f}% |"
        )


def interleaved(pairs: int) -> None:
    """Stats on and off in alternate epochs of one W1 ``ArrayDataset`` loader; print a summary."""
    loader, max_batches = _loader("w1", "array", {"num_workers": 0})

    def epoch(stats: bool) -> tuple[float, float]:
        loader._record_stats = stats
        wall, cpu = time.perf_counter(), time.thread_time()
        for count, _ in enumerate(loader, 1):
            if count == max_batches:
                break
        return time.perf_counter() - wall, time.thread_time() - cpu

    epoch(True), epoch(False)  # warm-up
    times: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    for pair in range(pairs):
        for stats in (True, False) if pair % 2 else (False, True):
            times[stats].append(epoch(stats))
    print(f"W1 `ArrayDataset`, 0 workers, {pairs} pairs of {max_batches}-batch epochs:")
    for column, name in ((0, "wall"), (1, "CPU")):
        on = [t[column] for t in times[True]]
        off = [t[column] for t in times[False]]
        ratios = sorted(a / b for a, b in zip(on, off, strict=True))
        low, high = ratios[len(ratios) // 4], ratios[3 * len(ratios) // 4]
        print(
            f"  {name}: µs per batch with stats {1e6 * statistics.median(on) / max_batches:.2f}, "
            f"without {1e6 * statistics.median(off) / max_batches:.2f}: "
            f"{100 * (statistics.median(on) / statistics.median(off) - 1):+.2f}% "
            f"(paired ratios: median {100 * (statistics.median(ratios) - 1):+.2f}%, "
            f"quartiles {100 * (low - 1):+.2f}% to {100 * (high - 1):+.2f}%)"
        )


def auto(rounds: int) -> None:
    """Fixed 0, 1, 2 workers against 'auto' on W1, W3, W5; print a Markdown table."""
    cases = {
        "W1 user `__getitem__`": ("w1", "user", 5),
        "W1 `ArrayDataset`": ("w1", "array", 5),
        "W3 `ImageFolderDataset` + transforms": ("w3", "native", 3),
        "W5 user `__getitem__`": ("w5", "user", 5),
    }
    settings = [0, 1, 2, "auto"]
    results: dict[tuple[str, object], list[float]] = {}
    chosen: dict[str, list[str]] = {}
    for _ in range(rounds):
        for name, (workload, dataset, epochs) in cases.items():
            for workers in settings:
                got = _child(workload, dataset, {"num_workers": workers}, epochs)
                results.setdefault((name, workers), []).append(got["rate"])
                if workers == "auto":
                    chosen.setdefault(name, []).append(str(got["num_workers"]))
                print(name, workers, f"{got['rate']:,.0f}", got["autotune"], file=sys.stderr)
    print("| workload | 0 workers | 1 | 2 | `'auto'` (chose) | auto / best fixed |")
    print("|---|---|---|---|---|---|")
    for name in cases:
        fixed = [statistics.median(results[name, w]) for w in settings[:-1]]
        auto_rate = statistics.median(results[name, "auto"])
        print(
            f"| {name} | "
            + " | ".join(f"{r:,.0f}" for r in fixed)
            + f" | {auto_rate:,.0f} ({', '.join(chosen[name])}) | {auto_rate / max(fixed):.2f} |"
        )


def _spread(values: list[float]) -> str:
    return f"{min(values):,.0f}-{max(values):,.0f}"


def main() -> None:
    """Run the ``overhead`` or ``auto`` measurement named on the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    over = commands.add_parser("overhead")
    over.add_argument("--rounds", type=int, default=3)
    pairs = commands.add_parser("interleaved")
    pairs.add_argument("--pairs", type=int, default=200)
    tune = commands.add_parser("auto")
    tune.add_argument("--rounds", type=int, default=2)
    child = commands.add_parser("child")
    child.add_argument("spec")
    args = parser.parse_args()
    if args.command == "child":
        print(json.dumps(measure(*json.loads(args.spec))))
    elif args.command == "overhead":
        overhead(args.rounds)
    elif args.command == "interleaved":
        interleaved(args.pairs)
    else:
        auto(args.rounds)


if __name__ == "__main__":
    main()
