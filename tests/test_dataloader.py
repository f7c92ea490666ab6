"""DataLoader: validation, order, executors, errors, timeouts, determinism."""

import contextlib
import random
import threading
import time

import numpy as np
import pytest

from gluondata import (
    ArrayDataset,
    BatchSampler,
    DataLoader,
    Dataset,
    SequentialSampler,
    SimpleDataset,
)
from gluondata import random as gdrandom

EXECUTORS = [
    pytest.param({}, id="inline"),
    pytest.param({"num_workers": 2, "thread_pool": True}, id="threads"),
    pytest.param({"num_workers": 2}, id="processes"),
]


class Numbers(Dataset):
    """Sample i is (i as float32 vector, i); a per-sample path (no __getitems__)."""

    def __init__(self, n=20):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, idx):
        return np.full(3, idx, np.float32), idx


class Failing(Numbers):
    def __getitem__(self, idx):
        if idx == 7:
            raise KeyError(f"no sample {idx}")
        return super().__getitem__(idx)


class Sleepy(Numbers):
    def __getitem__(self, idx):
        if idx == 4:
            time.sleep(3)
        return super().__getitem__(idx)


class Noisy(Numbers):
    """Uses numpy's and Python's global RNGs and the per-sample generator."""

    def __getitem__(self, idx):
        return (
            np.float64(np.random.rand()),
            random.random(),
            gdrandom.generator().random(),
            idx,
        )


def labels(loader):
    return [b[1].tolist() for b in loader]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "batch_size must be specified"),
        ({"batch_size": 2, "shuffle": True, "sampler": SequentialSampler(4)}, "shuffle must not"),
        ({"batch_size": 2, "batch_sampler": [[0]]}, "must not be specified if batch_sampler"),
        ({"shuffle": True, "batch_sampler": [[0]]}, "must not be specified if batch_sampler"),
        ({"sampler": SequentialSampler(4), "batch_sampler": [[0]]}, "must not be specified"),
        ({"last_batch": "keep", "batch_sampler": [[0]]}, "must not be specified"),
        ({"batch_size": 2, "last_batch": "bogus"}, "rollover"),
        ({"batch_size": 2, "timeout": 0}, "timeout must be positive"),
        ({"batch_size": 2, "num_workers": -1}, "num_workers"),
    ],
)
def test_argument_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DataLoader(SimpleDataset(list(range(4))), **kwargs)


@pytest.mark.parametrize("executor", EXECUTORS)
def test_batches_come_in_sampler_order(executor):
    loader = DataLoader(Numbers(23), batch_size=4, **executor)
    with loader:
        batches = list(loader)
    assert len(batches) == len(loader) == 6
    assert [b[1].tolist() for b in batches] == [
        list(range(i, min(i + 4, 23))) for i in range(0, 23, 4)
    ]
    assert batches[0][0].shape == (4, 3) and batches[0][0].dtype == np.float32


@pytest.mark.parametrize("executor", EXECUTORS)
def test_rollover_through_the_loader_matches_mxnet(executor):
    loader = DataLoader(SimpleDataset(list(range(10))), 4, last_batch="rollover", **executor)
    with loader:
        trace = [(len(loader), [b.tolist() for b in loader]) for _ in range(3)]
    assert trace == [
        (2, [[0, 1, 2, 3], [4, 5, 6, 7]]),
        (3, [[8, 9, 0, 1], [2, 3, 4, 5], [6, 7, 8, 9]]),
        (2, [[0, 1, 2, 3], [4, 5, 6, 7]]),
    ]


def test_discard_and_batch_sampler():
    loader = DataLoader(SimpleDataset(list(range(10))), 4, last_batch="discard")
    assert [b.tolist() for b in loader] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    sampler = BatchSampler(SequentialSampler(5), 2)
    assert [
        b.tolist() for b in DataLoader(SimpleDataset(list(range(5))), batch_sampler=sampler)
    ] == [
        [0, 1],
        [2, 3],
        [4],
    ]


def test_plain_lists_and_arrays_work_as_datasets():
    assert [b.tolist() for b in DataLoader(list(range(5)), 2)] == [[0, 1], [2, 3], [4]]
    assert DataLoader(np.arange(6).reshape(3, 2), 3).__iter__().__next__().shape == (3, 2)


def test_shuffle_visits_everything_in_a_new_order_each_epoch():
    loader = DataLoader(ArrayDataset(np.arange(100)), 10, shuffle=True, seed=3)
    first = np.concatenate(list(loader)).tolist()
    second = np.concatenate(list(loader)).tolist()
    assert sorted(first) == sorted(second) == list(range(100))
    assert first != second
    again = DataLoader(ArrayDataset(np.arange(100)), 10, shuffle=True, seed=3)
    assert np.concatenate(list(again)).tolist() == first


@pytest.mark.parametrize("executor", EXECUTORS[:2])
def test_several_iterators_are_independent(executor):
    loader = DataLoader(Numbers(12), batch_size=3, **executor)
    a, b = iter(loader), iter(loader)
    assert next(a)[1].tolist() == [0, 1, 2]
    assert next(b)[1].tolist() == [0, 1, 2]
    assert next(a)[1].tolist() == [3, 4, 5]
    assert [x[1].tolist() for x in b] == [[3, 4, 5], [6, 7, 8], [9, 10, 11]]
    loader.close()


def test_custom_batchify_fn_gets_the_samples():
    loader = DataLoader(Numbers(4), batch_size=2, batchify_fn=lambda s: [x[1] for x in s])
    assert list(loader) == [[0, 1], [2, 3]]


@pytest.mark.parametrize("executor", EXECUTORS)
def test_error_keeps_type_and_message_and_names_the_index(executor):
    loader = DataLoader(Failing(12), batch_size=4, **executor)
    with loader:
        it = iter(loader)
        assert next(it)[1].tolist() == [0, 1, 2, 3]
        with pytest.raises(KeyError, match="no sample 7") as info:
            next(it)
        notes = " ".join(getattr(info.value, "__notes__", []))
        assert "dataset index 7" in notes and "batch 1 of epoch 0" in notes
        # the iterator goes on past the bad batch, and the loader stays usable
        assert next(it)[1].tolist() == [8, 9, 10, 11]
        assert next(iter(loader))[1].tolist() == [0, 1, 2, 3]


def test_error_in_a_worker_process_carries_the_worker_traceback():
    loader = DataLoader(Failing(8), batch_size=8, num_workers=2)
    with loader, pytest.raises(KeyError) as info:
        list(loader)
    notes = "\n".join(info.value.__notes__)
    assert "traceback in worker process" in notes
    assert "in __getitem__" in notes and "dataset index 7" in notes


def test_error_in_batchify_names_the_batch():
    def broken(samples):
        raise RuntimeError("bad batchify")

    with pytest.raises(RuntimeError, match="bad batchify") as info:
        list(DataLoader(Numbers(4), batch_size=2, batchify_fn=broken))
    assert "batch 0 of epoch 0" in " ".join(info.value.__notes__)


@pytest.mark.parametrize("executor", EXECUTORS[1:])
def test_timeout_names_the_batch_and_the_loader_recovers(executor):
    loader = DataLoader(Sleepy(8), batch_size=2, timeout=0.5, **executor)
    start = time.monotonic()
    with pytest.raises(TimeoutError, match=r"batch 2 of epoch 0 \(indices \[4, 5\]\)"):
        list(loader)
    assert time.monotonic() - start < 2.5
    fast = DataLoader(Numbers(8), batch_size=2, timeout=5, **executor)
    assert len(list(fast)) == 4
    loader.close()
    fast.close()


def test_thread_timeout_replaces_the_stuck_thread():
    loader = DataLoader(Sleepy(8), batch_size=2, timeout=0.5, num_workers=1, thread_pool=True)
    with pytest.raises(TimeoutError, match="worker thread 0"):
        list(loader)
    # index 4 sleeps again; but batches without it run on the stand-in thread
    loader_iter = iter(loader)
    assert next(loader_iter)[1].tolist() == [0, 1]
    loader.close()


def test_worker_init_fn_runs_once_per_thread():
    seen = []
    lock = threading.Lock()

    def init(worker_id):
        with lock:
            seen.append(worker_id)

    loader = DataLoader(Numbers(8), 2, num_workers=3, thread_pool=True, worker_init_fn=init)
    list(loader)
    list(loader)
    loader.close()
    assert sorted(seen) == [0, 1, 2]


def test_prefetch_bounds_the_batches_in_flight():
    started = []

    class Slow(Numbers):
        def __getitem__(self, idx):
            started.append(idx)
            time.sleep(0.02)
            return super().__getitem__(idx)

    loader = DataLoader(Slow(40), 1, num_workers=2, thread_pool=True, prefetch=3)
    it = iter(loader)
    next(it)
    time.sleep(0.3)
    assert len(started) <= 1 + 3
    loader.close()


def run_noisy(**executor):
    loader = DataLoader(Noisy(24), batch_size=5, shuffle=True, seed=11, **executor)
    with loader:
        return [[np.asarray(f).tolist() for f in batch] for _ in range(2) for batch in loader]


def test_same_seed_gives_identical_batches_for_every_executor():
    reference = run_noisy()
    assert run_noisy(num_workers=2, thread_pool=True) == reference
    assert run_noisy(num_workers=2, thread_pool=True, prefetch=1) == reference
    assert run_noisy(num_workers=2) == reference
    assert run_noisy(num_workers=1) == reference
    # and the randomness is real: values differ between samples and epochs
    values = [v for batch in reference for v in batch[0]]
    assert len(set(values)) == len(values)


def test_seeding_leaves_the_callers_global_rngs_alone():
    np.random.seed(5)
    random.seed(5)
    expected = (np.random.rand(), random.random())
    np.random.seed(5)
    random.seed(5)
    run_noisy()
    assert (np.random.rand(), random.random()) == expected


def test_without_seed_workers_do_not_repeat_each_others_random_streams():
    loader = DataLoader(Noisy(16), batch_size=2, num_workers=2)
    with loader:
        values = [v for batch in loader for v in batch[0].tolist()]
    assert len(set(values)) == len(values)


def test_generator_outside_a_loader_and_in_batched_fetch():
    assert isinstance(gdrandom.generator(), np.random.Generator)

    class Batched(Numbers):
        def __getitems__(self, indices):
            with pytest.raises(ValueError, match="index"):
                gdrandom.generator()
            return [gdrandom.generator(index=i).random() for i in indices]

    a = list(DataLoader(Batched(4), 2, seed=1))
    b = list(DataLoader(Batched(4), 2, seed=1, num_workers=2, thread_pool=True))
    assert [x.tolist() for x in a] == [x.tolist() for x in b]


def test_close_then_iterate_again_starts_new_workers():
    loader = DataLoader(Numbers(6), 3, num_workers=2, thread_pool=True)
    assert len(list(loader)) == 2
    loader.close()
    assert len(list(loader)) == 2
    loader.close()


class PickyError(Exception):
    def __init__(self, a, b):
        super().__init__(f"{a}/{b}")


class RaisesPicky(Numbers):
    def __getitem__(self, idx):
        raise PickyError(idx, "x")


def test_an_error_that_does_not_pickle_still_reaches_the_loop_from_a_process():
    loader = DataLoader(RaisesPicky(4), batch_size=2, num_workers=1, timeout=20)
    with loader, pytest.raises(RuntimeError, match="PickyError: 0/x"):
        next(iter(loader))


class SlowThird(Numbers):
    def __getitem__(self, idx):
        if idx in (4, 5):
            time.sleep(0.4)
        return super().__getitem__(idx)


@pytest.mark.parametrize("executor", EXECUTORS[1:])
def test_out_of_order_yields_ready_batches_first_and_all_of_them(executor):
    with DataLoader(SlowThird(16), batch_size=2, in_order=False, **executor) as loader:
        order = [batch[1].tolist() for batch in loader]
    assert order.index([4, 5]) > 2
    assert sorted(order) == [[i, i + 1] for i in range(0, 16, 2)]


def test_generator_calls_within_one_sample_continue_one_stream():
    with gdrandom.sample_context(1, 0, 5):
        first, second = gdrandom.generator().random(), gdrandom.generator().random()
    assert first != second
    with gdrandom.sample_context(1, 0, 5):
        assert gdrandom.generator().random() == first
    with gdrandom.sample_context(1, 1, 5):
        assert gdrandom.generator().random() != first


class SleepsOnceAt4(Numbers):
    def __init__(self, marker, n=8):
        super().__init__(n)
        self.marker = marker

    def __getitem__(self, idx):
        if idx == 4 and not self.marker.exists():
            self.marker.touch()
            time.sleep(3)
        return super().__getitem__(idx)


def test_after_a_thread_timeout_the_next_epoch_runs_on_the_stand_in(tmp_path):
    loader = DataLoader(
        SleepsOnceAt4(tmp_path / "slept"), 2, num_workers=1, thread_pool=True, timeout=0.5
    )
    with pytest.raises(TimeoutError):
        list(loader)
    start = time.monotonic()
    assert [b[1].tolist() for b in loader] == [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert time.monotonic() - start < 2
    loader.close()


def test_group_and_stack_see_tuples_from_a_simple_dataset():
    from gluondata.batchify import AsList, Group, Stack

    data = SimpleDataset([(1, "a"), (2, "b"), (3, "c")])
    numbers, names = next(iter(DataLoader(data, 3, batchify_fn=Group(Stack(), AsList()))))
    assert numbers.tolist() == [1, 2, 3] and names == ["a", "b", "c"]


class Draws(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, idx):
        return gdrandom.generator().random()


def test_shards_do_not_repeat_each_others_random_draws():
    shards = [np.concatenate(list(DataLoader(Draws().shard(2, k), 4, seed=3))) for k in (0, 1)]
    assert not np.array_equal(shards[0], shards[1])
    whole = np.concatenate(list(DataLoader(Draws(), 8, seed=3)))
    assert np.array_equal(np.concatenate(shards), whole)


def test_a_getitems_cannot_corrupt_the_sampler():
    from gluondata import FilterSampler

    class Scribbles(Numbers):
        def __getitems__(self, indices):
            with contextlib.suppress(ValueError):  # read-only: the write is refused
                indices[0] = 0
            return [self[i] for i in indices]

    sampler = FilterSampler(lambda s: s[1] % 2 == 0, Numbers(10))
    batches = [b[1].tolist() for b in DataLoader(Scribbles(10), sampler=sampler, batch_size=5)]
    assert batches == [[0, 2, 4, 6, 8]]
    assert list(sampler) == [0, 2, 4, 6, 8]


def test_random_draws_in_batchify_are_seeded_too():
    def mixup(samples):
        return np.random.rand()

    draws = [list(DataLoader(Numbers(6), 2, batchify_fn=mixup, seed=0)) for _ in range(2)]
    assert draws[0] == draws[1] and len(set(draws[0])) == 3


def test_set_epoch_repeats_an_epochs_order_and_draws():
    loader = DataLoader(Noisy(12), batch_size=4, shuffle=True, seed=5)
    epochs = [[b[2].tolist() for b in loader] for _ in range(3)]
    loader.set_epoch(1)
    assert [b[2].tolist() for b in loader] == epochs[1]


def test_gluon_only_arguments_are_accepted():
    loader = DataLoader(Numbers(4), 2, pin_device_id=1, auto_reload=True, try_nopython=False)
    assert len(list(loader)) == 2


class Sleeps(Numbers):
    def __getitem__(self, idx):
        time.sleep(0.05)
        return gdrandom.generator().random(), idx


def test_threads_run_seeded_batches_in_parallel_without_global_seeding():
    def timed(**kwargs):
        loader = DataLoader(Sleeps(16), 4, num_workers=4, thread_pool=True, seed=0, **kwargs)
        start = time.monotonic()
        batches = [b[0].tolist() for b in loader]
        loader.close()
        return time.monotonic() - start, batches

    serial, reference = timed()
    parallel, batches = timed(seed_global_rngs=False)
    assert batches == reference
    assert parallel < serial / 2
