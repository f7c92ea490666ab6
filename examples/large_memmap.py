"""Iterate a dataset far larger than the memory the loop may use, with flat memory.

The samples live in one memory-mapped ``.npy`` file; workers copy each sample
straight into the loader's shared-memory slots, and the main process reads
batches in place. The script prints the anonymous memory (heap, not the file's
page cache) of the main process and of the workers after every epoch: it stays
flat, whatever the size of the file.

    python examples/large_memmap.py --megabytes 2048 --epochs 3

(needs psutil, which the test extras install: ``pip install ".[test]"``)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

from gluondata import DataLoader, Dataset

SAMPLE_SHAPE = (3, 256, 256)


class MemmapRows(Dataset):
    """Sample ``i`` is a copy of row ``i`` of a memory-mapped ``.npy`` file."""

    def __init__(self, path: Path) -> None:
        self.rows = np.load(path, mmap_mode="r")

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, idx: int) -> np.ndarray:
        return np.array(self.rows[idx])


def write_rows(path: Path, megabytes: int) -> Path:
    """Write a float32 ``.npy`` of about ``megabytes`` MB, one sample at a time."""
    count = max(1, megabytes * 2**20 // (4 * int(np.prod(SAMPLE_SHAPE))))
    rows = np.lib.format.open_memmap(
        path, mode="w+", dtype=np.float32, shape=(count, *SAMPLE_SHAPE)
    )
    for i in range(count):
        rows[i] = i
    rows.flush()
    return path


def anonymous_mib(process: psutil.Process) -> float:
    """Anonymous resident memory of ``process`` in MiB (Linux; 0 elsewhere)."""
    try:
        status = Path(f"/proc/{process.pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main(argv: list[str] | None = None) -> list[tuple[float, float]]:
    """Run the example; return (main, workers) anonymous MiB after each epoch."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=1024)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    me = psutil.Process()
    readings = []
    with tempfile.TemporaryDirectory(prefix="gluondata-memmap-") as tmp:
        path = write_rows(Path(tmp) / "rows.npy", args.megabytes)
        dataset = MemmapRows(path)
        loader = DataLoader(
            dataset, batch_size=args.batch_size, shuffle=True, num_workers=args.workers, seed=0
        )
        with loader:
            for epoch in range(args.epochs):
                start, delivered = time.perf_counter(), 0
                for batch in loader:
                    assert (batch[:, 0, 0, 0] == batch[:, -1, -1, -1]).all()
                    delivered += batch.nbytes
                seconds = time.perf_counter() - start
                workers = sum(anonymous_mib(child) for child in me.children())
                readings.append((anonymous_mib(me), workers))
                print(
                    f"epoch {epoch}: {delivered / 2**30:.2f} GiB in {seconds:.2f} s; "
                    f"anonymous memory: main {readings[-1][0]:.0f} MiB, workers {workers:.0f} MiB"
                )
    return readings


if __name__ == "__main__":
    main()
