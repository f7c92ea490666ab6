"""Resume cost: ``load_state_dict`` + first batch at 90% of an epoch vs a fresh first batch.

The dataset is a 10-million-sample ``ArrayDataset`` (float32 samples of 4 values and int64
labels), batch 256. For each configuration (shuffle or not, inline or 2 worker processes) the
script times, ``REPEATS`` times interleaved, on a loader built beforehand (construction is not
timed):

- *fresh*: ``next(iter(loader))``, the first batch of epoch 0;
- *resume 90%*: ``loader.load_state_dict(state)`` then ``next(iter(loader))``, where ``state`` is
  the loader's own ``state_dict()`` after 90% of an epoch's batches, taken once from a loop that
  ran through them;
- *replay 90%* (for scale, inline only): the same resume through ``ReplaySampler``, the documented
  O(n) opt-in for samplers without a state, which regenerates every index before the position.

Worker processes are started before the clock (one warm-up batch), so both rows measure the
sampler and the batch, not process start-up. Prints a markdown table (medians).

    python benchmarks/resume.py [--samples 10000000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from gluondata import (
    ArrayDataset,
    BatchSampler,
    DataLoader,
    RandomSampler,
    ReplaySampler,
    SequentialSampler,
)

BATCH = 256
FRACTION = 0.9


def _state_at(loader: DataLoader, fraction: float) -> dict:
    """The loader's state after ``fraction`` of an epoch's batches, by running through them."""
    stop = int(fraction * len(loader))
    for received, _ in enumerate(loader, 1):
        if received == stop:
            return loader.state_dict()
    raise AssertionError("the epoch ended before the stop point")


def _first_batch_seconds(loader: DataLoader, state: dict | None = None) -> float:
    """Seconds to ``load_state_dict(state)`` (or start epoch 0) and get the first batch."""
    start = time.perf_counter()
    if state is None:
        loader.set_epoch(0)
    else:
        loader.load_state_dict(state)
    next(iter(loader))
    return time.perf_counter() - start


def measure(samples: int, repeats: int) -> list[tuple[str, str, float, float, float | None]]:
    """Rows of (order, workers, fresh s, resume s, replay s) over ``repeats`` interleaved runs."""
    dataset = ArrayDataset(
        np.random.default_rng(0).random((samples, 4), dtype=np.float32),
        np.arange(samples, dtype=np.int64),
    )
    rows = []
    for shuffle in (False, True):
        for workers in (0, 2):

            def sampler(shuffle: bool = shuffle) -> object:
                inner = RandomSampler(samples, seed=1) if shuffle else SequentialSampler(samples)
                return BatchSampler(inner, BATCH)

            loader = DataLoader(dataset, batch_sampler=sampler(), seed=1, num_workers=workers)
            state = _state_at(loader, FRACTION)
            replay = None
            if workers == 0:
                replayed = BatchSampler(ReplaySampler(sampler().sampler), BATCH)
                replay_loader = DataLoader(dataset, batch_sampler=replayed, seed=1)
                replay_state = _state_at(replay_loader, FRACTION)
            fresh_times, resume_times, replay_times = [], [], []
            for _ in range(repeats):
                fresh_times.append(_first_batch_seconds(loader))
                resume_times.append(_first_batch_seconds(loader, state))
                if workers == 0:
                    replay_times.append(_first_batch_seconds(replay_loader, replay_state))
            loader.close()
            if replay_times:
                replay = statistics.median(replay_times)
            rows.append(
                (
                    "shuffled" if shuffle else "sequential",
                    f"{workers} processes" if workers else "inline",
                    statistics.median(fresh_times),
                    statistics.median(resume_times),
                    replay,
                )
            )
    return rows


def main(argv: list[str] | None = None) -> None:
    """Measure fresh, resumed and replayed first batches; print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    rows = measure(args.samples, args.repeats)
    print(
        "| order | workers | fresh epoch: first batch | load_state_dict + first batch at 90% "
        "| resume / fresh | replay by counting (ReplaySampler) at 90% |"
    )
    print("|---|---|---|---|---|---|")
    for order, workers, fresh, resume, replay in rows:
        replayed = "-" if replay is None else f"{replay * 1e3:.1f} ms"
        print(
            f"| {order} | {workers} | {fresh * 1e3:.1f} ms | {resume * 1e3:.1f} ms "
            f"| {resume / fresh:.2f}x | {replayed} |"
        )


if __name__ == "__main__":
    main()
