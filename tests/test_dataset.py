"""Datasets: Gluon's semantics for the combinators, ArrayDataset, batched fetch."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gluondata import ArrayDataset, Dataset, RandomSampler, SampleColumns, SimpleDataset


class Squares(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, idx):
        if not 0 <= idx < 6:
            raise IndexError(idx)
        return idx * idx


def test_dataset_iterates_and_lists():
    assert list(Squares()) == [0, 1, 4, 9, 16, 25]
    assert repr(Squares()) == "Squares(len=6)"


def test_transform_unpacks_tuples_but_not_lists():
    pairs = SimpleDataset([(1, 2), (3, 4)])
    assert list(pairs.transform(lambda a, b: a + b)) == [3, 7]
    lists = SimpleDataset([[1, 2], [3, 4]])
    assert list(lists.transform(len)) == [2, 2]


def test_lazy_transform_reruns_and_eager_transform_freezes():
    calls = []

    def record(x):
        calls.append(x)
        return x * 2

    lazy = SimpleDataset(list(range(3))).transform(record)
    assert calls == []
    assert lazy[1] == 2 and lazy[1] == 2
    assert calls == [1, 1]
    calls.clear()
    eager = SimpleDataset(list(range(3))).transform(record, lazy=False)
    assert calls == [0, 1, 2]
    assert isinstance(eager, SimpleDataset)
    assert list(eager) == [0, 2, 4] and calls == [0, 1, 2]


def test_transform_first_touches_only_the_first_field():
    ds = SimpleDataset([(1, "a", 9), (2, "b", 8)]).transform_first(lambda x: -x)
    assert list(ds) == [(-1, "a", 9), (-2, "b", 8)]
    whole = SimpleDataset([1, 2]).transform_first(lambda x: -x)
    assert list(whole) == [-1, -2]


def test_filter_scans_once_and_refetches_transformed_samples():
    ds = SimpleDataset(list(range(10))).transform(lambda x: x * 2).filter(lambda x: x > 10)
    assert list(ds) == [12, 14, 16, 18]
    assert len(ds) == 4


def test_shard_spreads_the_remainder_over_the_first_shards():
    ds = SimpleDataset(list(range(10)))
    assert [list(ds.shard(3, i)) for i in range(3)] == [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert [len(ds.shard(4, i)) for i in range(4)] == [3, 3, 2, 2]


@pytest.mark.parametrize(("num_shards", "index"), [(0, 0), (3, 3), (3, -1)])
def test_shard_rejects_bad_arguments(num_shards, index):
    with pytest.raises(ValueError, match="shard"):
        SimpleDataset([1, 2, 3]).shard(num_shards, index)


@given(length=st.integers(0, 200), num_shards=st.integers(1, 17))
def test_shards_cover_the_dataset_exactly_once(length, num_shards):
    ds = SimpleDataset(list(range(length)))
    shards = [list(ds.shard(num_shards, i)) for i in range(num_shards)]
    assert [i for s in shards for i in s] == list(range(length))
    sizes = [len(s) for s in shards]
    assert max(sizes) - min(sizes) <= 1
    assert sizes == sorted(sizes, reverse=True)


def test_take():
    ds = SimpleDataset(list(range(5)))
    assert list(ds.take(3)) == [0, 1, 2]
    assert list(ds.take(None)) == list(range(5))
    assert list(ds.take(50)) == list(range(5))
    assert list(ds.take(0)) == []
    with pytest.raises(ValueError, match="count"):
        ds.take(-1)


def test_sample_is_a_fixed_permutation_and_checks_the_type():
    ds = SimpleDataset(list(range(20)))
    sampled = ds.sample(RandomSampler(20, seed=1))
    assert list(sampled) == list(sampled)
    assert sorted(sampled) == list(range(20))
    assert sampled[-1] == list(sampled)[-1]
    with pytest.raises(TypeError, match="Invalid sampler type"):
        ds.sample([0, 1])


def test_array_dataset_zips_and_unwraps_a_single_array():
    x, y = np.arange(12).reshape(4, 3), ["a", "b", "c", "d"]
    ds = ArrayDataset(x, y)
    sample = ds[2]
    assert isinstance(sample, tuple)
    assert sample[0].tolist() == [6, 7, 8] and sample[1] == "c"
    assert ArrayDataset(y)[1] == "b"
    assert len(ds) == 4
    assert "ndarray int64 (4, 3)" in repr(ds) and "list[4]" in repr(ds)


def test_array_dataset_accepts_other_datasets():
    ds = ArrayDataset(Squares(), list(range(6)))
    assert ds[3] == (9, 3)


def test_array_dataset_length_mismatch_names_the_lengths():
    with pytest.raises(ValueError, match=r"\[4, 4, 3\]"):
        ArrayDataset(np.zeros(4), [1, 2, 3, 4], np.zeros(3))
    with pytest.raises(ValueError, match="at least one"):
        ArrayDataset()


def test_getitems_fetches_numpy_columns_with_one_fancy_index():
    x, y = np.arange(20.0).reshape(10, 2), np.arange(10) * 10
    batch = ArrayDataset(x, y, list("abcdefghij")).__getitems__([3, 1, 4])
    assert isinstance(batch, SampleColumns)
    assert batch.columns[0].tolist() == [[6.0, 7.0], [2.0, 3.0], [8.0, 9.0]]
    assert batch.columns[1].tolist() == [30, 10, 40]
    assert batch.columns[2] == ["d", "b", "e"]
    row = batch[1]
    assert row[0].tolist() == [2.0, 3.0] and row[1] == 10 and row[2] == "b"
    assert len(batch) == 3


@given(st.lists(st.integers(-12, 11), max_size=12))
def test_getitems_on_numpy_columns_matches_getitem_in_the_caller_and_in_a_slot(indices):
    from gluondata._loader.alloc import Arena, arena

    x, y = np.arange(20.0).reshape(10, 2), np.arange(10) * 10
    ds = ArrayDataset(x, y)
    valid = all(-10 <= i < 10 for i in indices)
    for slot in (None, Arena(bytearray(4096))):
        with arena(slot):
            if not valid:
                bad = min(indices) if min(indices) < -10 else max(indices)
                with pytest.raises(IndexError, match=f"index {bad} is out of range .* length 10"):
                    ds.__getitems__(indices)
                continue
            batch = ds.__getitems__(indices)
        assert batch.columns[0].tolist() == [x[i].tolist() for i in indices]
        assert batch.columns[1].tolist() == [int(y[i]) for i in indices]
        assert batch.columns[0].shape == (len(indices), 2)


def test_getitems_survives_sampling_and_matches_getitem():
    x = np.arange(30).reshape(10, 3)
    ds = ArrayDataset(x).shard(3, 1)
    assert hasattr(ds, "__getitems__")
    batch = ds.__getitems__([0, 2])
    assert batch.columns[0].tolist() == [ds[0].tolist(), ds[2].tolist()]
    assert not hasattr(Squares().shard(2, 0), "__getitems__")


def test_simple_dataset_over_array_has_a_batched_fetch():
    ds = SimpleDataset(np.arange(10) * 2)
    assert ds.__getitems__([1, 5]).columns[0].tolist() == [2, 10]


def test_transform_keeps_the_batched_fetch_and_its_results():
    from gluondata import DataLoader
    from gluondata import random as gdrandom

    def jitter(x, y):
        return x + gdrandom.generator().random(), y

    x, y = np.arange(20.0), np.arange(20)
    batched = ArrayDataset(x, y).transform(jitter)
    assert hasattr(batched, "__getitems__")

    class PerSample(Dataset):
        def __len__(self):
            return 20

        def __getitem__(self, idx):
            return x[idx], y[idx]

    per_sample = PerSample().transform(jitter)
    assert not hasattr(per_sample, "__getitems__")
    a = [b[0].tolist() for b in DataLoader(batched, 5, shuffle=True, seed=2)]
    b = [b[0].tolist() for b in DataLoader(per_sample, 5, shuffle=True, seed=2)]
    assert a == b


def test_an_error_in_a_batched_transform_names_the_index():
    from gluondata import DataLoader

    def picky(x):
        if x == 7:
            raise ValueError("seven")
        return x

    loader = DataLoader(SimpleDataset(np.arange(10)).transform(picky), batch_size=5)
    with pytest.raises(ValueError, match="seven") as info:
        list(loader)
    assert "dataset index 7" in " ".join(info.value.__notes__)


def test_chained_transforms_continue_one_random_stream_per_sample():
    from gluondata import DataLoader
    from gluondata import random as gdrandom

    def first(v):
        return v, gdrandom.generator().random()

    def second(v, a):
        return v, a, gdrandom.generator().random()

    for base in (SimpleDataset([0, 1]), SimpleDataset(np.arange(2))):
        _, a, b = next(iter(DataLoader(base.transform(first).transform(second), 2, seed=5)))
        for i in range(2):
            stream = np.random.default_rng([5, 0, i])
            assert [a[i], b[i]] == [stream.random(), stream.random()]


def test_a_batched_fetch_writes_large_samples_into_the_batch_as_they_come():
    """Each transformed sample is copied into the batch and dropped before the next is made."""
    import weakref

    from gluondata import DataLoader

    alive = [0]
    most_alive = []

    def gone():
        alive[0] -= 1

    def widen(row):
        out = np.repeat(row, 4096).astype(np.float64)  # 128 KiB: written into the batch
        alive[0] += 1
        weakref.finalize(out, gone)
        most_alive.append(alive[0])
        return out

    x = np.arange(24.0).reshape(12, 2)
    loader = DataLoader(ArrayDataset(x).transform(widen), batch_size=6)
    batches = [batch.copy() for batch in loader]
    np.testing.assert_array_equal(np.concatenate(batches), np.repeat(x, 4096, axis=1))
    assert max(most_alive) <= 2, most_alive  # not the batch's six at once


def test_a_batched_fetch_that_fails_in_a_worker_leaves_its_slot_as_it_was():
    """A failed batched try's columns are given back; the samples loaded one by one fit."""
    from gluondata import DataLoader

    def widen_unless_seven(row):
        if row[0] == 7:
            raise ValueError("sample 7 is bad")
        return np.repeat(row, 16384).astype(np.float64)  # 128 KiB: written into the slot

    x = np.arange(16.0).reshape(16, 1)
    loader = DataLoader(
        ArrayDataset(x).transform(widen_unless_seven),
        batch_size=4,
        num_workers=1,
        on_bad_sample="replace",
        max_bad_fraction=0.5,
        seed=5,
    )
    with pytest.warns(UserWarning), loader:
        for _ in range(2):
            batches = [batch.copy() for batch in loader]
            assert sum(len(b) for b in batches) == 16
            assert all(row[0] != 7 for batch in batches for row in batch)
        assert not loader._executor._ring.grew


def test_a_sampled_dataset_streams_samples_only_where_its_source_does():
    from gluondata import DataLoader

    x = np.arange(60.0).reshape(20, 3)
    columns = ArrayDataset(x).shard(3, 1)
    assert not hasattr(columns, "_getitems_into")  # its batched fetch gives columns already
    streamed = ArrayDataset(x).transform(lambda row: np.repeat(row * 2, 8192)).shard(3, 1)
    assert hasattr(streamed, "_getitems_into")
    got = np.concatenate([b.copy() for b in DataLoader(streamed, batch_size=3)])
    np.testing.assert_array_equal(got, np.repeat(x[7:14] * 2, 8192, axis=1))  # shard 1 of 3
