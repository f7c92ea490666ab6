"""Dataset.cache: samples computed once, one shared copy, a reusable file, a byte budget."""

from __future__ import annotations

import collections
import os
import pickle
import warnings

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

import gluondata as gd
from gluondata.random import generator


class CountingDataset(gd.Dataset):
    """Samples ``(array of i, i)``; each computation appends its index to a log file."""

    def __init__(self, log: str, length: int = 40, size: int = 256) -> None:
        self.log = log
        self.length = length
        self.size = size

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, idx: int):
        fd = os.open(self.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        os.write(fd, f"{idx}\n".encode())
        os.close(fd)
        return np.full(self.size, idx, np.float32), idx

    def computed(self) -> list[int]:
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return [int(line) for line in f]

    def __repr__(self) -> str:
        return f"CountingDataset({self.length})"


def test_each_sample_is_computed_once_across_worker_processes(tmp_path):
    source = CountingDataset(str(tmp_path / "log"))
    cached = source.cache()
    loader = gd.DataLoader(cached, batch_size=4, shuffle=True, num_workers=2)
    for _ in range(3):
        labels = sorted(int(y) for _, ys in loader for y in ys)
        assert labels == list(range(40))
    assert sorted(source.computed()) == list(range(40))
    # the workers filled it, and the main process sees their samples: one shared copy
    assert cached.cached_bytes > 40 * 256 * 4
    first = len(source.computed())
    assert np.array_equal(cached[7][0], np.full(256, 7, np.float32))
    assert len(source.computed()) == first


def test_spawned_workers_and_threads_share_the_same_cache(tmp_path):
    source = CountingDataset(str(tmp_path / "log"), length=12)
    cached = source.cache()
    spawned = gd.DataLoader(cached, batch_size=4, num_workers=1, start_method="spawn")
    threads = gd.DataLoader(cached, batch_size=4, num_workers=2, thread_pool=True)
    assert [int(y) for _, ys in spawned for y in ys] == list(range(12))
    assert [int(y) for _, ys in threads for y in ys] == list(range(12))
    assert sorted(source.computed()) == list(range(12))


def test_random_transforms_after_the_cache_draw_anew_each_epoch(tmp_path):
    source = CountingDataset(str(tmp_path / "log"), length=8, size=4)

    def jitter(x, y):
        return x + generator().random(x.shape).astype(np.float32), y

    ds = source.cache().transform(jitter)
    loader = gd.DataLoader(ds, batch_size=8, num_workers=2, seed=0)
    first, second = (next(iter(loader))[0] for _ in range(2))
    assert not np.allclose(first, second)
    assert np.array_equal(np.floor(first), np.floor(second))  # the cached part is the same
    assert sorted(source.computed()) == list(range(8))


def test_past_the_budget_samples_are_computed_each_time_with_one_warning(tmp_path):
    source = CountingDataset(str(tmp_path / "log"), length=20, size=1000)
    one_sample = len(pickle.dumps(source[0], protocol=pickle.HIGHEST_PROTOCOL))
    os.remove(source.log)
    cached = source.cache(max_bytes=5 * one_sample)
    with pytest.warns(RuntimeWarning, match="cache is full") as caught:
        for _ in range(2):
            assert [cached[i][1] for i in range(20)] == list(range(20))
    assert len([w for w in caught if "cache is full" in str(w.message)]) == 1
    assert cached.cached_bytes <= 5 * one_sample
    counts = collections.Counter(source.computed())
    # the five that fit (the first and last among them) are computed once, the rest on every read
    once = {i for i in range(20) if counts[i] == 1}
    assert len(once) == 5 and {0, 19} <= once
    assert all(counts[i] == 2 for i in set(range(20)) - once)


def test_a_cache_file_is_reused_by_a_later_run(tmp_path):
    path = tmp_path / "samples.cache"
    source = CountingDataset(str(tmp_path / "log"), length=10)
    cached = source.cache(path)
    assert [cached[i][1] for i in range(10)] == list(range(10))
    del cached
    before = len(source.computed())
    again = source.cache(path)  # a later run (its fingerprint reads the first and last sample)
    assert [again[i][1] for i in range(10)] == list(range(10))
    assert np.array_equal(again[3][0], np.full(256, 3, np.float32))
    assert len(source.computed()) - before == 2


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ("length", "holds 10 samples"),
        ("fingerprint", "fingerprint differs"),
        ("truncate", "truncated"),
        ("garbage", "not a gluondata cache"),
    ],
)
def test_a_stale_or_damaged_cache_file_is_rebuilt_never_served(tmp_path, damage, reason):
    path = tmp_path / "samples.cache"
    source = CountingDataset(str(tmp_path / "log"), length=10)
    cached = source.cache(path, fingerprint="v1")
    for i in range(10):
        cached[i]
    del cached
    if damage == "length":
        source.length = 11
    if damage == "truncate":
        os.truncate(path, os.path.getsize(path) - 100)
    if damage == "garbage":
        path.write_bytes(b"x" * os.path.getsize(path))
    fingerprint = "v2" if damage == "fingerprint" else "v1"
    with pytest.warns(RuntimeWarning, match=reason):
        rebuilt = source.cache(path, fingerprint=fingerprint)
    assert rebuilt.cached_bytes == 0
    before = len(source.computed())
    assert [rebuilt[i][1] for i in range(len(source))] == list(range(len(source)))
    assert len(source.computed()) - before == len(source)


def test_an_intact_cache_file_opens_without_a_warning(tmp_path):
    path = tmp_path / "samples.cache"
    source = CountingDataset(str(tmp_path / "log"), length=5)
    cached = source.cache(path, fingerprint="v1")
    for i in range(5):
        cached[i]
    del cached
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert source.cache(path, fingerprint="v1").cached_bytes > 0


def test_the_cache_is_a_plain_dataset_that_shards_and_indexes_like_its_source(tmp_path):
    cached = CountingDataset(str(tmp_path / "log"), length=10).cache()
    assert len(cached) == 10
    assert cached[-1][1] == 9
    with pytest.raises(IndexError, match="out of range"):
        cached[10]
    assert [s[1] for s in cached.shard(3, 1)] == [4, 5, 6]
    assert "cache" in repr(cached)
    with pytest.raises(ValueError, match="max_bytes"):
        CountingDataset(str(tmp_path / "log")).cache(max_bytes=-1)


_samples = st.lists(
    st.tuples(
        hnp.arrays(
            st.sampled_from([np.uint8, np.int64, np.float32]),
            hnp.array_shapes(min_dims=0, max_dims=3, max_side=5),
        ),
        st.integers(-(2**40), 2**40),
        st.text(max_size=5),
    ),
    min_size=1,
    max_size=20,
)


@settings(max_examples=40, deadline=None)
@given(
    samples=_samples,
    max_bytes=st.integers(0, 3000),
    order=st.randoms(use_true_random=False),
)
def test_the_cache_serves_exactly_what_the_source_gives_within_any_budget(
    samples, max_bytes, order
):
    indices = list(range(len(samples))) * 2
    order.shuffle(indices)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "cache is full"
        cached = gd.SimpleDataset(samples).cache(max_bytes=max_bytes)
        for i in indices:
            array, number, text = cached[i]
            assert array.dtype == samples[i][0].dtype
            assert np.array_equal(array, samples[i][0], equal_nan=array.dtype.kind == "f")
            assert (number, text) == samples[i][1:]
    assert cached.cached_bytes <= max_bytes
