"""Samplers: MXNet's traces and the exactly-once property."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gluondata import (
    BatchSampler,
    FilterSampler,
    IntervalSampler,
    RandomSampler,
    SequentialSampler,
    SimpleDataset,
)


def test_sequential_sampler_counts_from_start():
    assert list(SequentialSampler(5, 3)) == [3, 4, 5, 6, 7]
    assert len(SequentialSampler(5, 3)) == 5


def test_rollover_trace_matches_mxnet_over_four_epochs():
    sampler = BatchSampler(SequentialSampler(10), 3, "rollover")
    trace = []
    for _ in range(4):
        trace.append((len(sampler), list(sampler)))
    assert trace == [
        (3, [[0, 1, 2], [3, 4, 5], [6, 7, 8]]),
        (3, [[9, 0, 1], [2, 3, 4], [5, 6, 7]]),
        (4, [[8, 9, 0], [1, 2, 3], [4, 5, 6], [7, 8, 9]]),
        (3, [[0, 1, 2], [3, 4, 5], [6, 7, 8]]),
    ]


def test_keep_and_discard_traces():
    assert list(BatchSampler(SequentialSampler(7), 3, "keep")) == [[0, 1, 2], [3, 4, 5], [6]]
    assert len(BatchSampler(SequentialSampler(7), 3, "keep")) == 3
    assert list(BatchSampler(SequentialSampler(7), 3, "discard")) == [[0, 1, 2], [3, 4, 5]]
    assert len(BatchSampler(SequentialSampler(7), 3, "discard")) == 2


def test_invalid_last_batch_fails_at_construction():
    with pytest.raises(ValueError, match="'keep', 'discard', or 'rollover'"):
        BatchSampler(SequentialSampler(9), 3, "bogus")


def test_batch_size_must_be_positive():
    with pytest.raises(ValueError, match="batch_size"):
        BatchSampler(SequentialSampler(9), 0)


@given(
    length=st.integers(0, 60),
    batch_size=st.integers(1, 13),
    mode=st.sampled_from(["keep", "discard", "rollover"]),
    shuffle=st.booleans(),
    seed=st.integers(0, 2**32),
)
def test_every_index_exactly_once_per_epoch_over_three_epochs(
    length, batch_size, mode, shuffle, seed
):
    def make():
        return RandomSampler(length, seed=seed) if shuffle else SequentialSampler(length)

    sampler, twin = BatchSampler(make(), batch_size, mode), make()
    carried: list[int] = []
    for _ in range(3):
        expected_len = len(sampler)
        batches = list(sampler)
        stream = list(twin)  # the order the base sampler gave this epoch
        assert len(batches) == expected_len
        assert all(len(b) == batch_size for b in batches[:-1])
        flat = [i for b in batches for i in b]
        if mode == "keep":
            assert flat == stream
        elif mode == "discard":
            assert all(len(b) == batch_size for b in batches)
            assert flat == stream[: len(stream) - length % batch_size]
        else:
            assert not batches or len(batches[-1]) == batch_size
            left_over = sampler._prev
            assert flat + left_over == carried + stream
            assert len(left_over) < batch_size
            carried = left_over


@given(length=st.integers(1, 50), batch_size=st.integers(1, 9), epochs=st.integers(1, 6))
def test_rollover_loses_and_repeats_nothing_across_epochs(length, batch_size, epochs):
    sampler = BatchSampler(SequentialSampler(length), batch_size, "rollover")
    flat = [i for _ in range(epochs) for b in sampler for i in b]
    stream = [i for _ in range(epochs) for i in range(length)]
    assert flat == stream[: len(flat)]
    assert len(stream) - len(flat) == len(sampler._prev) < batch_size


def test_random_sampler_is_seeded_per_epoch_and_leaves_global_state_alone():
    state = np.random.get_state()[1].copy()
    a, b = RandomSampler(100, seed=7), RandomSampler(100, seed=7)
    first, second = list(a), list(a)
    assert first == list(b) and second == list(b)
    assert first != second
    assert sorted(first) == list(range(100))
    assert (np.random.get_state()[1] == state).all()
    a.set_epoch(0)
    assert list(a) == first


def test_random_sampler_without_seed_differs_between_instances():
    assert list(RandomSampler(50)) != list(RandomSampler(50))


def test_interval_sampler_with_and_without_rollover():
    assert list(IntervalSampler(13, 3)) == [0, 3, 6, 9, 12, 1, 4, 7, 10, 2, 5, 8, 11]
    assert len(IntervalSampler(13, 3)) == 13
    short = IntervalSampler(13, 3, rollover=False)
    assert list(short) == [0, 3, 6, 9, 12]
    assert len(short) == 5
    with pytest.raises(ValueError, match="interval"):
        IntervalSampler(3, 4)


@given(length=st.integers(1, 40), interval=st.integers(1, 40))
def test_interval_sampler_len_matches_iteration(length, interval):
    if interval > length:
        return
    for rollover in (True, False):
        sampler = IntervalSampler(length, interval, rollover)
        assert len(list(sampler)) == len(sampler)


def test_filter_sampler_keeps_matching_indices():
    sampler = FilterSampler(lambda x: x % 3 == 0, SimpleDataset(list(range(10))))
    assert list(sampler) == [0, 3, 6, 9]
    assert len(sampler) == 4
