"""Sharding without processes: the global order dealt to shards, masks, auto-detection."""

import itertools
import json

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gluondata import ArrayDataset, BatchSampler, DataLoader, MaskedBatch, RandomSampler
from gluondata._loader.shards import ShardedBatchSampler
from gluondata.distributed import resolve_shards, world


def shard_epochs(length, batch_size, num_shards, last_batch, epochs, seed=3):
    """Per epoch, per shard: the (indices, valid) batches."""
    samplers = [
        ShardedBatchSampler(RandomSampler(length, seed=seed), batch_size, last_batch, num_shards, r)
        for r in range(num_shards)
    ]
    result = []
    for _ in range(epochs):
        lengths = {len(s) for s in samplers}
        assert len(lengths) == 1
        epoch = [list(s.masked_batches()) for s in samplers]
        assert {len(batches) for batches in epoch} == lengths
        result.append(epoch)
    return result


@settings(max_examples=150, deadline=None)
@given(
    length=st.integers(0, 60),
    batch_size=st.integers(1, 7),
    num_shards=st.integers(1, 5),
    last_batch=st.sampled_from(["keep", "discard", "rollover"]),
)
def test_union_of_shards_is_the_single_process_epoch(length, batch_size, num_shards, last_batch):
    """Step k of all shards together is batch k of one loader with batch_size * num_shards."""
    single = BatchSampler(RandomSampler(length, seed=3), batch_size * num_shards, last_batch)
    for epoch in shard_epochs(length, batch_size, num_shards, last_batch, epochs=3):
        expected = [sorted(batch) for batch in single]
        steps = [
            sorted(np.concatenate([batches[k][0][batches[k][1]] for batches in epoch]).tolist())
            for k in range(len(epoch[0]))
        ]
        assert steps == expected
        for batches in epoch:
            for k, (indices, valid) in enumerate(batches):
                assert len(indices) == len(valid) <= batch_size
                # padding: at most one sample, at the end of a shard's last batch, keep only
                assert valid.sum() >= len(valid) - 1
                if not valid.all():
                    assert last_batch == "keep" and k == len(batches) - 1 and not valid[-1]
            assert len({len(indices) for indices, _ in batches[:-1]} - {batch_size}) == 0


@settings(max_examples=60, deadline=None)
@given(length=st.integers(1, 60), batch_size=st.integers(1, 7), num_shards=st.integers(1, 5))
def test_keep_yields_each_index_exactly_once_and_equal_batch_shapes(length, batch_size, num_shards):
    (epoch,) = shard_epochs(length, batch_size, num_shards, "keep", epochs=1)
    valid = np.concatenate([i[v] for batches in epoch for i, v in batches])
    assert sorted(valid.tolist()) == list(range(length))
    # every shard's batches have the same sizes, step by step
    assert len({tuple(len(i) for i, _ in batches) for batches in epoch}) == 1


def test_one_shard_is_the_batch_sampler():
    for last_batch in ("keep", "discard", "rollover"):
        plain = BatchSampler(RandomSampler(23, seed=5), 4, last_batch)
        sharded = ShardedBatchSampler(RandomSampler(23, seed=5), 4, last_batch, 1, 0)
        for _ in range(3):
            assert len(plain) == len(sharded)
            assert list(plain) == list(sharded)


def test_rollover_carries_the_global_tail_on_every_shard():
    samplers = [ShardedBatchSampler(range(10), 2, "rollover", 2, r) for r in range(2)]
    first = [list(s) for s in samplers]
    assert first == [[[0, 2], [4, 6]], [[1, 3], [5, 7]]]  # 8 and 9 carried
    assert [len(s) for s in samplers] == [3, 3]  # 12 indices: 3 steps of 4
    second = [list(s) for s in samplers]
    assert second == [[[8, 0], [2, 4], [6, 8]], [[9, 1], [3, 5], [7, 9]]]


def test_masked_evaluation_over_shards_equals_one_process():
    values = np.random.default_rng(0).normal(size=37)
    data = ArrayDataset(values)
    single = sum(float(b.sum()) for b in DataLoader(data, batch_size=5, shuffle=True, seed=9))
    total, batches = 0.0, set()
    for rank in range(4):
        loader = DataLoader(
            data,
            batch_size=5,
            shuffle=True,
            seed=9,
            num_shards=4,
            shard_index=rank,
            with_mask=True,
        )
        outputs = list(loader)
        batches.add(len(outputs))
        assert all(isinstance(out, MaskedBatch) for out in outputs)
        total += sum(float(batch[mask].sum()) for batch, mask in outputs)
    assert batches == {2}
    assert total == pytest.approx(single, rel=1e-12)


def test_with_mask_without_shards_is_all_true():
    loader = DataLoader(ArrayDataset(np.arange(7)), batch_size=3, with_mask=True)
    assert [(b.tolist(), m.tolist()) for b, m in loader] == [
        ([0, 1, 2], [True] * 3),
        ([3, 4, 5], [True] * 3),
        ([6], [True]),
    ]


def test_masks_follow_their_batches_with_workers_out_of_order():
    data = ArrayDataset(np.arange(41))
    for in_order in (True, False):
        loader = DataLoader(
            data,
            batch_size=4,
            num_shards=3,
            shard_index=2,
            with_mask=True,
            num_workers=2,
            thread_pool=True,
            in_order=in_order,
        )
        pairs = {tuple(b.tolist()): m.tolist() for b, m in loader}
        assert pairs[(38, 0)] == [True, False]  # 41 dealt to 3 shards: shard 2 pads once
        assert sum(sum(m) for m in pairs.values()) == 13


def test_sharded_loader_defaults_to_seed_zero():
    loaders = [
        DataLoader(
            ArrayDataset(np.arange(20)), batch_size=2, shuffle=True, num_shards=2, shard_index=r
        )
        for r in range(2)
    ]
    assert [loader.seed for loader in loaders] == [0, 0]
    seen = sorted(i for loader in loaders for batch in loader for i in batch.tolist())
    assert seen == list(range(20))


@pytest.mark.parametrize(
    ("num_shards", "shard_index", "message"),
    [
        (None, 1, "needs num_shards"),
        (2, None, "needs an integer shard_index"),
        (2, 2, r"shard_index must be in 0..1"),
        (0, 0, "at least 1"),
        (2.5, 0, "must be integers"),
        ("auto", 1, "must be 'auto' or left out"),
    ],
)
def test_bad_shard_arguments_are_named(num_shards, shard_index, message):
    with pytest.raises(ValueError, match=message):
        DataLoader(
            ArrayDataset(np.arange(4)), batch_size=2, num_shards=num_shards, shard_index=shard_index
        )


@pytest.mark.parametrize(("batch_size", "last_batch"), [(2, "drop"), (0, "keep"), (-1, "keep")])
def test_a_sharded_loader_refuses_bad_batching_as_an_unsharded_one_does(batch_size, last_batch):
    data = ArrayDataset(np.arange(4))
    with pytest.raises(ValueError) as unsharded:
        DataLoader(data, batch_size=batch_size, last_batch=last_batch)
    with pytest.raises(ValueError) as sharded:
        DataLoader(data, batch_size=batch_size, last_batch=last_batch, num_shards=2, shard_index=0)
    assert str(sharded.value) == str(unsharded.value)


def test_a_sharded_batch_sampler_is_a_batch_sampler():
    sampler = ShardedBatchSampler(RandomSampler(10, seed=1), 3, "discard", 2, 1)
    assert isinstance(sampler, BatchSampler)
    assert (sampler.batch_size, sampler.last_batch, sampler.num_shards, sampler.shard_index) == (
        3,
        "discard",
        2,
        1,
    )
    sampler.set_epoch(4)
    assert sampler.state_dict()["sampler"] == {"seed": 1, "epoch": 4}


def test_shards_and_batch_sampler_do_not_mix():
    with pytest.raises(ValueError, match="batch_sampler"):
        DataLoader(
            ArrayDataset(np.arange(4)),
            batch_sampler=BatchSampler(range(4), 2),
            num_shards=2,
            shard_index=0,
        )


def test_auto_reads_the_launcher_environment(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.delenv("RANK", raising=False)
    assert world() == (1, 0)
    assert resolve_shards("auto", None) == (1, 0)
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "3")
    loader = DataLoader(ArrayDataset(np.arange(8)), batch_size=1, num_shards="auto")
    assert (loader.num_shards, loader.shard_index) == (4, 3)
    assert [b.tolist() for b in loader] == [[3], [7]]
    monkeypatch.setenv("RANK", "4")
    with pytest.raises(ValueError, match="RANK=4"):
        world()
    monkeypatch.delenv("RANK")
    with pytest.raises(ValueError, match="sets WORLD_SIZE but not RANK"):
        world()


def shard_loader(length, batch_size, num_shards, last_batch, rank):
    return DataLoader(
        ArrayDataset(np.arange(length)),
        batch_size=batch_size,
        shuffle=True,
        seed=3,
        last_batch=last_batch,
        num_shards=num_shards,
        shard_index=rank,
        with_mask=True,
    )


def loaders(length, batch_size, num_shards, last_batch):
    return [shard_loader(length, batch_size, num_shards, last_batch, r) for r in range(num_shards)]


def valid_of(batches):
    return [i for batch, mask in batches for i in batch[mask].tolist()]


@settings(max_examples=60, deadline=None)
@given(
    length=st.integers(0, 40),
    batch_size=st.integers(1, 4),
    before=st.integers(1, 4),
    after=st.integers(1, 4),
    last_batch=st.sampled_from(["keep", "discard", "rollover"]),
    data=st.data(),
)
def test_an_interrupted_epoch_resumes_on_another_number_of_ranks(
    length, batch_size, before, after, last_batch, data
):
    """N ranks stop after k steps of epoch 1 and save; M ranks load rank 0's state: each once."""
    old = loaders(length, batch_size, before, last_batch)
    for loader in old:  # epoch 0 (it may leave a rollover carry)
        list(loader)
    assume(len(old[0]) > 0)
    steps = data.draw(st.integers(0, len(old[0]) - 1), label="steps before the interruption")
    iterators = [iter(loader) for loader in old]
    done = [i for it in iterators for i in valid_of([next(it) for _ in range(steps)])]
    states = [json.loads(json.dumps(loader.state_dict())) for loader in old]
    epoch_stream = states[0]["batch_sampler"]["carry"] + epoch_order(length, 1)

    new = loaders(length, batch_size, after, last_batch)
    for loader in new:
        loader.load_state_dict(states[0])
    counts = {len(loader) for loader in new}
    rest = [list(loader) for loader in new]
    assert len(counts) == 1 and {len(batches) + steps for batches in rest} == counts
    seen = done + [i for batches in rest for i in valid_of(batches)]
    carried = [loader.state_dict()["batch_sampler"]["carry"] for loader in new]
    assert all(carry == carried[0] for carry in carried)
    if last_batch == "keep":
        assert sorted(seen) == sorted(epoch_stream)
    elif last_batch == "rollover":  # yielded or carried: each position of the stream once
        assert sorted(seen + carried[0]) == sorted(epoch_stream)
    else:
        assert len(seen) == len(set(seen)) and set(seen) <= set(epoch_stream)


def epoch_order(length, epoch):
    order = RandomSampler(length, seed=3)
    order.set_epoch(epoch)
    return order.epoch_indices().tolist()


@pytest.mark.parametrize("last_batch", ["keep", "discard", "rollover"])
def test_resuming_on_as_many_ranks_gives_the_same_remaining_batches(last_batch):
    for length, batch_size, num_shards in itertools.product(range(12), (1, 2, 3), (1, 2, 3)):
        whole = [list(loader) for loader in loaders(length, batch_size, num_shards, last_batch)]
        for steps in range(len(whole[0])):  # (after the last one, a state is the next epoch's)
            for shard, batches in enumerate(whole):
                saved = shard_loader(length, batch_size, num_shards, last_batch, shard)
                it = iter(saved)
                for _ in range(steps):
                    next(it)
                resumed = shard_loader(length, batch_size, num_shards, last_batch, shard)
                resumed.load_state_dict(saved.state_dict())
                rest = [(b.tolist(), m.tolist()) for b, m in resumed]
                assert rest == [(b.tolist(), m.tolist()) for b, m in batches[steps:]]


def test_a_state_saved_out_of_order_does_not_reshard():
    old = loaders(40, 2, 2, "keep")[0]
    it = iter(old)
    next(it)
    state = {**old.state_dict(), "received_ahead": [3]}  # as in_order=False may save
    new = loaders(40, 2, 4, "keep")[0]
    with pytest.raises(ValueError, match="saved with 2 shards and in_order=False"):
        new.load_state_dict(state)
    same = loaders(40, 2, 2, "keep")[0]
    same.load_state_dict(state)  # the same number of shards: fine
