"""Soak the worker pool: kill -9 random workers at random moments for N minutes.

Every epoch must deliver each index exactly once; the script counts batches,
kills, lost and repeated indices, and prints the memory of the main process
and the workers (USS and PSS, so shared pages count once) after the first
epoch and at the end.

    python benchmarks/soak.py --minutes 10 --workers 4
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import random
import time
from typing import Any

import numpy as np
import psutil

from gluondata import DataLoader, Dataset

_MIB = 2**20


class Payload(Dataset):
    """Sample i: a (128, 128) float32 array full of i (64 KiB), after a little work."""

    def __init__(self, n: int, seconds: float) -> None:
        self.n, self.seconds = n, seconds

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> np.ndarray:
        deadline = time.perf_counter() + self.seconds
        while time.perf_counter() < deadline:
            pass
        return np.full((128, 128), i, np.float32)


def memory() -> dict[str, float]:
    """MiB: the main process's USS and PSS, the workers' summed USS and PSS."""
    main = psutil.Process()
    workers = main.children()
    main_info = main.memory_full_info()
    worker_infos = []
    for worker in workers:
        with contextlib.suppress(psutil.NoSuchProcess):
            worker_infos.append(worker.memory_full_info())
    return {
        "main_uss": main_info.uss / _MIB,
        "main_pss": main_info.pss / _MIB,
        "workers_uss": sum(info.uss for info in worker_infos) / _MIB,
        "workers_pss": sum(info.pss for info in worker_infos) / _MIB,
        "all_pss": (main_info.pss + sum(info.pss for info in worker_infos)) / _MIB,
    }


def soak(minutes: float, workers: int, samples: int, batch_size: int, seed: int) -> dict[str, Any]:
    """Read epochs for ``minutes`` while killing random workers; count what went wrong."""
    rng = random.Random(seed)
    data = Payload(samples, 0.0005)
    in_flight = 2 * workers
    counts = {"epochs": 0, "batches": 0, "kills": 0, "lost": 0, "repeated": 0, "wrong": 0}
    first_memory = None
    stop_at = time.monotonic() + minutes * 60
    with DataLoader(
        data,
        batch_size=batch_size,
        shuffle=True,
        seed=seed,
        num_workers=workers,
        max_worker_restarts=10_000,
    ) as loader:
        while time.monotonic() < stop_at:
            seen: collections.Counter[int] = collections.Counter()
            since_kill, next_kill = 0, time.monotonic() + rng.uniform(0.2, 2.0)
            for batch in loader:
                labels = batch[:, 0, 0].astype(np.int64)
                seen.update(labels.tolist())
                counts["wrong"] += int((batch != batch[:, :1, :1]).any())
                counts["batches"] += 1
                since_kill += 1
                if time.monotonic() >= next_kill and since_kill > in_flight + 1:
                    children = psutil.Process().children()
                    if children:
                        time.sleep(rng.uniform(0, 0.005))
                        with contextlib.suppress(psutil.NoSuchProcess):
                            rng.choice(children).kill()
                            counts["kills"] += 1
                    since_kill, next_kill = 0, time.monotonic() + rng.uniform(0.2, 2.0)
            counts["epochs"] += 1
            counts["lost"] += samples - len(seen)
            counts["repeated"] += sum(n - 1 for n in seen.values())
            if first_memory is None:
                first_memory = memory()
        last_memory = memory()
    return {**counts, "memory_after_epoch_1": first_memory, "memory_at_end": last_memory}


def main() -> None:
    """Run the soak test from the command line; print its counts as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--samples", type=int, default=4096)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    start = time.monotonic()
    result = soak(args.minutes, args.workers, args.samples, args.batch_size, args.seed)
    minutes = (time.monotonic() - start) / 60
    print(
        f"{minutes:.1f} min, {args.workers} workers, pid {os.getpid()}: "
        f"{result['epochs']} epochs, {result['batches']} batches, {result['kills']} kills; "
        f"lost {result['lost']}, repeated {result['repeated']}, wrong batches {result['wrong']}"
    )
    for when in ("memory_after_epoch_1", "memory_at_end"):
        mem = result[when]
        print(
            f"{when}: main USS {mem['main_uss']:.0f} MiB, PSS {mem['main_pss']:.0f} MiB; "
            f"workers USS {mem['workers_uss']:.0f} MiB, PSS {mem['workers_pss']:.0f} MiB; "
            f"all processes PSS {mem['all_pss']:.0f} MiB"
        )


if __name__ == "__main__":
    main()
