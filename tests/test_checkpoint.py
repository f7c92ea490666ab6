"""DataLoader.state_dict / load_state_dict: resuming mid-epoch gives the uninterrupted batches."""

import json
import random
import threading
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gluondata import (
    ArrayDataset,
    BatchSampler,
    DataLoader,
    Dataset,
    IntervalSampler,
    RandomSampler,
    ReplaySampler,
    SequentialSampler,
)
from gluondata import random as gdrandom


class Noisy(Dataset):
    """Sample i holds i, a draw of its per-sample generator and one of numpy's global RNG."""

    def __init__(self, n=20):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, idx):
        return np.array([idx, gdrandom.generator().integers(1 << 30), np.random.randint(1 << 30)])


class Counting(Dataset):
    """Records every index read (thread-safe)."""

    def __init__(self, n):
        self.n = n
        self.read = []
        self._lock = threading.Lock()

    def __len__(self):
        return self.n

    def __getitem__(self, idx):
        with self._lock:
            self.read.append(int(idx))
        return np.int64(idx)


WORKERS = {
    "inline": {},
    "thread1": {"num_workers": 1, "thread_pool": True},
    "thread2": {"num_workers": 2, "thread_pool": True},
    "thread4": {"num_workers": 4, "thread_pool": True},
    "process2": {"num_workers": 2},
    "process4": {"num_workers": 4},
    "auto": {"num_workers": "auto", "thread_pool": True},
}


def _batches(loader, epochs):
    return [batch.tobytes() for _ in range(epochs) for batch in loader]


def _interrupted(make, stop, epochs, workers_after):
    """Batches of a run stopped after ``stop`` batches, saved, and resumed by a new loader."""
    loader = make({})
    received, state = [], None
    for _ in range(epochs):
        for batch in loader:
            received.append(batch.tobytes())
            if len(received) == stop:
                state = json.loads(json.dumps(loader.state_dict()))
                break
        if state is not None:
            break
    if state is None:
        return received
    with make(workers_after) as resumed:
        resumed.load_state_dict(state)
        for _ in range(state["epoch"], epochs):
            received += [batch.tobytes() for batch in resumed]
    return received


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    length=st.integers(1, 30),
    batch_size=st.integers(1, 7),
    last_batch=st.sampled_from(["keep", "discard", "rollover"]),
    shuffle=st.booleans(),
    stop_fraction=st.floats(0, 1),
    workers_before=st.sampled_from(["inline", "thread1", "thread2"]),
    workers_after=st.sampled_from(["inline", "thread1", "thread2", "thread4"]),
)
def test_resume_gives_the_uninterrupted_batches(
    length, batch_size, last_batch, shuffle, stop_fraction, workers_before, workers_after
):
    def make(workers):
        return DataLoader(
            Noisy(length),
            batch_size=batch_size,
            last_batch=last_batch,
            shuffle=shuffle,
            seed=11,
            **(workers or WORKERS[workers_before]),
        )

    epochs = 3
    with make({}) as reference_loader:
        reference = _batches(reference_loader, epochs)
    stop = round(stop_fraction * len(reference))
    assert _interrupted(make, stop, epochs, WORKERS[workers_after]) == reference


@pytest.mark.parametrize(
    "before, after",
    [("inline", "process2"), ("process2", "thread4"), ("process4", "inline"), ("inline", "auto")],
)
def test_resume_across_worker_processes(before, after):
    def make(workers):
        return DataLoader(
            Noisy(45),
            batch_size=4,
            last_batch="rollover",
            shuffle=True,
            seed=3,
            **(workers or WORKERS[before]),
        )

    with make({}) as reference_loader:
        reference = _batches(reference_loader, 2)
    assert _interrupted(make, 17, 2, WORKERS[after]) == reference


def test_state_is_small_json_and_independent_of_the_dataset_size():
    sizes = []
    for length in (1000, 1_000_000):
        loader = DataLoader(
            ArrayDataset(np.arange(length)),
            batch_size=64,
            shuffle=True,
            seed=1,
            last_batch="rollover",
        )
        it = iter(loader)
        next(it)
        sizes.append(len(json.dumps(loader.state_dict())))
        if length == 1000:
            for _ in it:
                pass
            state = loader.state_dict()
            assert state["epoch"] == 1 and state["batches"] == 0
            assert len(state["batch_sampler"]["carry"]) == 1000 % 64
    assert sizes[1] - sizes[0] < 10 and max(sizes) < 600


def test_resume_reads_nothing_before_the_position():
    dataset = Counting(1000)
    loader = DataLoader(dataset, batch_size=10, shuffle=True, seed=4)
    it = iter(loader)
    consumed = [next(it) for _ in range(90)]
    state = loader.state_dict()
    resumed_dataset = Counting(1000)
    resumed = DataLoader(
        resumed_dataset, batch_size=10, shuffle=True, seed=4, num_workers=2, thread_pool=True
    )
    resumed.load_state_dict(state)
    rest = list(resumed)
    assert len(rest) == 10
    seen_before = {int(i) for batch in consumed for i in batch}
    assert set(resumed_dataset.read) == set(range(1000)) - seen_before


def test_state_is_after_the_last_batch_received_not_the_prefetched_ones():
    loader = DataLoader(
        Noisy(40), batch_size=2, num_workers=2, thread_pool=True, prefetch=8, seed=1
    )
    it = iter(loader)
    next(it), next(it), next(it)
    time.sleep(0.2)  # the workers have computed batches ahead
    assert loader.state_dict()["batches"] == 3


def test_state_before_and_right_after_loading():
    loader = DataLoader(Noisy(10), batch_size=3, shuffle=True, seed=2)
    fresh = loader.state_dict()
    assert (fresh["epoch"], fresh["batches"]) == (0, 0)
    it = iter(loader)
    next(it)
    state = loader.state_dict()
    other = DataLoader(Noisy(10), batch_size=3, shuffle=True, seed=2)
    other.load_state_dict(state)
    assert other.state_dict() == state


def test_out_of_order_resume_skips_the_batches_already_received():
    """in_order=False: the state keeps the positions received ahead of the first missing one."""

    class SlowFirst(Noisy):
        def __getitem__(self, idx):
            if idx == 0:
                time.sleep(0.3)
            return np.array([idx, gdrandom.generator().integers(1 << 30)])

    def make(**workers):
        return DataLoader(
            SlowFirst(12), batch_size=2, seed=5, in_order=False, seed_global_rngs=False, **workers
        )

    with make() as reference_loader:
        reference = {batch.tobytes() for batch in reference_loader}
    loader = make(num_workers=2, thread_pool=True)
    it = iter(loader)
    first = next(it)  # batch 0 is slow: another batch arrives first
    state = json.loads(json.dumps(loader.state_dict()))
    assert state["batches"] == 0 and len(state["received_ahead"]) == 1
    it.close()
    resumed = make(num_workers=2)
    resumed.load_state_dict(state)
    rest = [batch.tobytes() for batch in resumed]
    assert len(rest) == 5 and first.tobytes() not in rest
    assert {first.tobytes(), *rest} == reference
    resumed.close()


@pytest.mark.parametrize(
    "change, field",
    [
        ({"dataset": Noisy(21)}, "dataset_length"),
        ({"batch_size": 5}, "batch_size"),
        ({"seed": 8}, "seed"),
        ({"last_batch": "discard"}, "last_batch"),
        ({"shuffle": False}, "sampler"),
    ],
)
def test_a_mismatched_state_is_refused_naming_the_field(change, field):
    options = {"dataset": Noisy(20), "batch_size": 4, "seed": 7, "shuffle": True}
    loader = DataLoader(**options)
    next(iter(loader))
    state = loader.state_dict()
    other = DataLoader(**{**options, **change})
    with pytest.raises(ValueError, match=f"'{field}'"):
        other.load_state_dict(state)


def test_a_state_of_a_newer_version_or_another_kind_is_refused():
    loader = DataLoader(Noisy(20), batch_size=4, seed=7)
    state = loader.state_dict()
    with pytest.raises(ValueError, match="'version' is 2"):
        loader.load_state_dict({**state, "version": 2})
    with pytest.raises(ValueError, match="'format'"):
        loader.load_state_dict({"epoch": 1})
    with pytest.raises(ValueError, match="no field 'batches'"):
        loader.load_state_dict({k: v for k, v in state.items() if k != "batches"})


class Stateless:
    """A user sampler without state_dict."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n - 1, -1, -1))

    def __len__(self):
        return self.n


def test_a_sampler_without_state_is_named_at_state_dict():
    loader = DataLoader(Noisy(10), batch_size=3, sampler=Stateless(10), seed=1)
    assert len(list(loader)) == 4  # iterating needs no state
    with pytest.raises(TypeError, match=r"Stateless.*state_dict\(\).*ReplaySampler"):
        loader.state_dict()
    it = iter(loader)
    next(it)
    with pytest.raises(TypeError, match="Stateless"):
        loader.state_dict()


def test_replay_sampler_resumes_a_sampler_without_state():
    def make():
        return DataLoader(Noisy(10), batch_size=3, sampler=ReplaySampler(Stateless(10)), seed=1)

    reference = _batches(make(), 2)
    assert _interrupted(lambda workers: make(), 5, 2, {}) == reference


def test_a_batch_sampler_without_index_batches_is_skipped_by_counting():
    class Batches:
        def __init__(self):
            self.inner = BatchSampler(SequentialSampler(10), 3)

        def __iter__(self):
            return iter(self.inner)

        def __len__(self):
            return len(self.inner)

        def state_dict(self):
            return self.inner.state_dict()

        def load_state_dict(self, state):
            self.inner.load_state_dict(state)

    def make(workers):
        return DataLoader(Noisy(10), batch_sampler=Batches(), seed=1, **workers)

    reference = _batches(make({}), 2)
    assert _interrupted(make, 3, 2, {}) == reference


def test_bad_sample_budget_and_log_carry_over():
    class Broken(Noisy):
        def __getitem__(self, idx):
            if idx in (3, 14):
                raise OSError(f"corrupt sample {idx}")
            return super().__getitem__(idx)

    def make(workers=None):
        return DataLoader(
            Broken(20),
            batch_size=4,
            seed=2,
            on_bad_sample="replace",
            max_bad_fraction=0.05,
            **(workers or {}),
        )

    with pytest.warns(UserWarning):
        loader = make()
        it = iter(loader)
        received = [next(it).tobytes() for _ in range(2)]
        state = json.loads(json.dumps(loader.state_dict()))
    assert [failure[0] for failure in state["bad_samples"]] == [3]
    resumed = make({"num_workers": 2, "thread_pool": True})
    resumed.load_state_dict(state)
    # one failure was counted before the checkpoint: the second one is over the budget of 1
    with (
        pytest.raises(Exception, match="2 of the dataset's 20 samples failed"),
        pytest.warns(UserWarning),
    ):
        received += [batch.tobytes() for batch in resumed]
    resumed.close()


def test_set_epoch_forgets_a_loaded_position():
    loader = DataLoader(Noisy(10), batch_size=3, shuffle=True, seed=2)
    it = iter(loader)
    next(it)
    state = loader.state_dict()
    other = DataLoader(Noisy(10), batch_size=3, shuffle=True, seed=2)
    other.load_state_dict(state)
    other.set_epoch(0)
    assert len(list(other)) == 4


@given(length=st.integers(1, 40), batch_size=st.integers(1, 9), start=st.integers(0, 12))
def test_batch_sampler_starts_at_a_batch(length, batch_size, start):
    for last_batch in ("keep", "discard", "rollover"):
        sampler = BatchSampler(RandomSampler(length, seed=1), batch_size, last_batch)
        everything = [list(b) for b in sampler.index_batches()]
        sampler.load_state_dict({"sampler": {"seed": 1, "epoch": 0}, "carry": []})
        assert [list(b) for b in sampler.index_batches(start)] == everything[start:]


def test_sampler_states():
    sampler = RandomSampler(10, seed=3)
    list(sampler)
    state = sampler.state_dict()
    assert state == {"seed": 3, "epoch": 1}
    following = list(sampler)
    again = RandomSampler(10, seed=3)
    again.load_state_dict(state)
    assert list(again) == following
    with pytest.raises(ValueError, match="'seed'"):
        RandomSampler(10, seed=4).load_state_dict(state)
    with pytest.raises(ValueError, match="'carry'"):
        BatchSampler(SequentialSampler(10), 3).load_state_dict({"sampler": {}, "carry": [1]})


@given(length=st.integers(1, 40), interval=st.integers(1, 40), rollover=st.booleans())
def test_interval_sampler_indices_as_an_array(length, interval, rollover):
    interval = min(interval, length)
    sampler = IntervalSampler(length, interval, rollover)
    offsets = range(interval) if rollover else range(1)
    expected = [i for offset in offsets for i in range(offset, length, interval)]
    assert sampler.epoch_indices().tolist() == expected == list(sampler)
    assert len(sampler) == len(expected)


def test_random_stop_with_global_rngs_and_processes():
    rng = random.Random(0)
    make = lambda workers: DataLoader(  # noqa: E731
        Noisy(33), batch_size=5, shuffle=True, seed=9, last_batch="keep", **workers
    )
    with make({}) as reference_loader:
        reference = _batches(reference_loader, 2)
    stop = rng.randrange(1, len(reference))
    assert _interrupted(make, stop, 2, WORKERS["process2"]) == reference


TRAINING_SCRIPT = """
import json, os, sys, time
import numpy as np
from gluondata import DataLoader, Dataset
from gluondata import random as gdrandom

class Noisy(Dataset):
    def __len__(self):
        return 203

    def __getitem__(self, idx):
        return np.array([idx, gdrandom.generator().integers(1 << 30), np.random.randint(1 << 30)])

workdir, workers, delay = sys.argv[1], json.loads(sys.argv[2]), float(sys.argv[3])
state_path, log_path = os.path.join(workdir, "state.json"), os.path.join(workdir, "batches.log")
loader = DataLoader(
    Noisy(), batch_size=8, shuffle=True, seed=7, last_batch="rollover", **workers
)
logged = []
if os.path.exists(state_path):
    with open(state_path) as f:
        saved = json.load(f)
    loader.load_state_dict(saved["loader"])
    with open(log_path) as f:
        logged = f.read().splitlines()[: saved["batches_logged"]]
with open(log_path, "w") as log:
    log.write("".join(line + "\\n" for line in logged))
    log.flush()
    for epoch in range(loader.state_dict()["epoch"], 3):
        for batch in loader:
            log.write(batch.tobytes().hex() + "\\n")
            log.flush()
            logged.append(None)
            if len(logged) % 3 == 0:  # a checkpoint every 3 batches
                with open(state_path + ".tmp", "w") as f:
                    json.dump({"loader": loader.state_dict(), "batches_logged": len(logged)}, f)
                os.replace(state_path + ".tmp", state_path)
            time.sleep(delay)
"""


def test_killed_training_resumes_from_its_last_state(tmp_path):
    import os
    import signal
    import subprocess
    import sys

    script = tmp_path / "train.py"
    script.write_text(TRAINING_SCRIPT)

    def start(workdir, workers, delay):
        workdir.mkdir(exist_ok=True)
        return subprocess.Popen(
            [sys.executable, str(script), str(workdir), json.dumps(workers), str(delay)]
        )

    reference_dir, killed_dir = tmp_path / "reference", tmp_path / "killed"
    start(reference_dir, {}, 0).wait(timeout=120)
    reference = (reference_dir / "batches.log").read_text().splitlines()
    per_epoch = 203 // 8  # 25 batches in each epoch (rollover)
    assert len(reference) in (3 * per_epoch, 3 * per_epoch + 1)

    kill_at = random.Random().randrange(per_epoch + 3, 2 * per_epoch)  # a batch of epoch 2
    training = start(killed_dir, {"num_workers": 2}, 0.02)
    log = killed_dir / "batches.log"
    deadline = time.monotonic() + 120
    while not log.exists() or len(log.read_text().splitlines()) < kill_at:
        assert training.poll() is None and time.monotonic() < deadline, "ended before the kill"
        time.sleep(0.005)
    os.kill(training.pid, signal.SIGKILL)
    training.wait(timeout=30)
    assert training.returncode == -signal.SIGKILL
    saved = json.loads((killed_dir / "state.json").read_text())
    assert saved["loader"]["epoch"] >= 1 and saved["batches_logged"] < len(reference)

    assert start(killed_dir, {"num_workers": 1, "thread_pool": True}, 0).wait(timeout=120) == 0
    assert log.read_text().splitlines() == reference


class KillsItsWorkerOnce(Noisy):
    """SIGKILLs its worker process the first time it loads index 13 (a marker file remembers)."""

    def __init__(self, marker, n=40):
        super().__init__(n)
        self.marker = str(marker)

    def __getitem__(self, idx):
        import os
        import signal

        if idx == 13 and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)
        return super().__getitem__(idx)


def test_resume_holds_when_a_worker_died_before_the_checkpoint(tmp_path):
    def make(workers, marker="absent"):
        dataset = KillsItsWorkerOnce(tmp_path / marker)
        return DataLoader(dataset, batch_size=3, shuffle=True, seed=6, **workers)

    (tmp_path / "absent").touch()  # the reference run kills nothing
    with make({}) as reference_loader:
        reference = _batches(reference_loader, 2)
    loader = make({"num_workers": 2}, marker="killed")
    received = []
    for batch in loader:  # the worker loading index 13 dies; its batches are re-run
        received.append(batch.tobytes())
        if len(received) == 10:
            break
    assert (tmp_path / "killed").exists()
    state = loader.state_dict()
    loader.close()
    with make({"num_workers": 2, "thread_pool": True}) as resumed:
        resumed.load_state_dict(state)
        for _ in range(state["epoch"], 2):
            received += [batch.tobytes() for batch in resumed]
    assert received == reference
