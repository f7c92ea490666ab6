"""Faults a long run meets, against real worker processes: each index exactly once, or one error."""

import faulthandler
import gc
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from gluondata import (
    DataLoader,
    Dataset,
    SampleCrashedWorkerError,
    WorkerDiedError,
)


class Numbers(Dataset):
    """Sample i is i; a few milliseconds each, so that kills land mid-epoch."""

    def __init__(self, n, seconds=0.0):
        self.n, self.seconds = n, seconds

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if self.seconds:
            time.sleep(self.seconds)
        return np.int64(i)


class Segfaults(Numbers):
    """Loading one index crashes the process, every time (a bug in a C decoder)."""

    def __init__(self, n, lethal):
        super().__init__(n)
        self.lethal = lethal

    def __getitem__(self, i):
        if i == self.lethal:
            faulthandler.disable()  # pytest's crash dump of this deliberate segfault is noise
            os.kill(os.getpid(), signal.SIGSEGV)
        return super().__getitem__(i)


class BatchedExit(Segfaults):
    """As Segfaults, also through a batched ``__getitems__`` (then the index is unknown)."""

    def __getitems__(self, indices):
        return [self[i] for i in indices]


class DiesOnceAt(Numbers):
    """Each listed index kills its worker the first time it is read (marker files remember)."""

    def __init__(self, n, folder, indices, seconds=0.0):
        super().__init__(n, seconds)
        self.folder, self.indices = str(folder), set(indices)

    def __getitem__(self, i):
        marker = os.path.join(self.folder, f"died-{i}")
        if i in self.indices and not os.path.exists(marker):
            Path(marker).touch()
            os._exit(3)
        return super().__getitem__(i)


def flat(batches):
    return [int(i) for batch in batches for i in np.asarray(batch).ravel()]


@pytest.fixture(autouse=True)
def _only_this_tests_workers():
    """Other tests' loaders may still have workers until collected: remember them, leave them."""
    gc.collect()
    global _OTHERS
    _OTHERS = {p.pid for p in psutil.Process().children()}
    yield


_OTHERS: set[int] = set()


def workers_of():
    """The worker processes started by this test's loaders."""
    return [p for p in psutil.Process().children() if p.pid not in _OTHERS]


# -- a sample that kills its worker every time -------------------------------------


def test_a_sample_that_kills_its_worker_twice_is_an_error_naming_it_and_the_signal():
    with DataLoader(Segfaults(16, lethal=5), batch_size=4, num_workers=2) as loader:
        it = iter(loader)
        assert next(it).tolist() == [0, 1, 2, 3]
        with pytest.raises(SampleCrashedWorkerError, match=r"dataset index 5 .*SIGSEGV"):
            next(it)
        # the epoch goes on: the healthy batches, the dead workers' prefetched ones included
        assert [b.tolist() for b in it] == [[8, 9, 10, 11], [12, 13, 14, 15]]


def test_with_replace_a_lethal_sample_is_a_bad_sample_and_later_epochs_do_not_die_on_it():
    loader = DataLoader(
        Segfaults(32, lethal=9),
        batch_size=4,
        num_workers=2,
        on_bad_sample="replace",
        max_bad_fraction=0.1,
        max_worker_restarts=2,  # the two deaths on index 9, in the first epoch only
        seed=3,
    )
    with loader, pytest.warns(UserWarning, match="index 9"):
        first = flat(loader)
        workers = {p.pid for p in workers_of()}
        second = flat(loader)
        assert {p.pid for p in workers_of()} == workers  # no worker died in epoch 2
    assert len(first) == len(second) == 32
    assert 9 not in first and 9 not in second
    assert sorted(set(first) | {9}) == list(range(32))  # the rest, once (one substitute repeats)
    assert [b.index for b in loader.bad_samples] == [9, 9]
    assert all("SIGSEGV" in b.error for b in loader.bad_samples)


def test_a_worker_dying_inside_getitems_is_pinned_on_the_sample_one_by_one():
    loader = DataLoader(
        BatchedExit(16, lethal=6),
        batch_size=4,
        num_workers=1,
        on_bad_sample="replace",
        max_bad_fraction=0.1,
        seed=0,
    )
    with loader, pytest.warns(UserWarning, match="index 6"):
        got = flat(loader)
    assert len(got) == 16 and 6 not in got
    assert [b.index for b in loader.bad_samples] == [6]


class CrashesInBatchify:
    def __call__(self, samples):
        if int(samples[0]) == 8:
            faulthandler.disable()
            os.kill(os.getpid(), signal.SIGSEGV)
        return np.stack(samples)


def test_a_batch_that_kills_its_worker_twice_outside_any_sample_fails_alone():
    loader = DataLoader(Numbers(16), batch_size=4, num_workers=2, batchify_fn=CrashesInBatchify())
    with loader:
        it = iter(loader)
        assert [next(it).tolist() for _ in range(2)] == [[0, 1, 2, 3], [4, 5, 6, 7]]
        with pytest.raises(SampleCrashedWorkerError, match=r"batch 2 of epoch 0.*SIGSEGV"):
            next(it)
        assert next(it).tolist() == [12, 13, 14, 15]


# -- past the restart budget -------------------------------------------------------


def test_past_the_budget_the_epoch_ends_with_one_prompt_error_and_the_next_starts_afresh(
    tmp_path,
):
    data = DiesOnceAt(24, tmp_path, indices=[5, 9, 13])
    with DataLoader(data, batch_size=4, num_workers=2, max_worker_restarts=1) as loader:
        it = iter(loader)
        delivered, start = [], time.monotonic()
        with pytest.raises(WorkerDiedError) as caught:
            for batch in it:
                delivered.append(batch.tolist())
        assert time.monotonic() - start < 10  # no timeout stall
        assert list(it) == []  # raised once; the epoch is over
        err = caught.value
        assert len(err.deaths) == 2 and all("code 3" in d for d in err.deaths)
        assert "max_worker_restarts=1" in str(err)
        lost = [i for _, _, indices in err.undelivered for i in indices]
        got = [i for b in delivered for i in b]
        assert not set(got) & set(lost)
        assert got == list(range(len(got)))  # in order, nothing twice
        assert flat(loader) == list(range(24))  # fresh workers, a fresh budget


class OnlyTheFirstStartsLive:
    """worker_init_fn: the first ``n`` workers live; every later one is killed as it starts."""

    def __init__(self, folder, n):
        self.folder, self.n = Path(folder), n

    def __call__(self, worker_id):
        started = len(list(self.folder.iterdir()))
        (self.folder / f"start-{os.getpid()}").touch()
        if started >= self.n:
            os.kill(os.getpid(), signal.SIGKILL)


def test_killing_each_replacement_as_it_starts_ends_the_epoch_cleanly(tmp_path):
    """The OOM killer takes a worker, then each replacement: one error, no plumbing error."""
    loader = DataLoader(
        Numbers(400, 0.002),
        batch_size=4,
        num_workers=2,
        worker_init_fn=OnlyTheFirstStartsLive(tmp_path, 2),
    )
    with loader:
        it = iter(loader)
        got = flat([next(it)])
        workers_of()[0].kill()
        start = time.monotonic()
        with pytest.raises(WorkerDiedError, match="max_worker_restarts=3") as caught:
            for batch in it:
                got += flat([batch])
        assert time.monotonic() - start < 15
        assert len(caught.value.deaths) == 4
        assert list(it) == []
        lost = [i for _, _, indices in caught.value.undelivered for i in indices]
        assert got == list(range(len(got))) and not set(got) & set(lost)


@pytest.mark.parametrize("workers", [2, 4])
def test_killing_every_worker_at_once_loses_nothing(workers):
    with DataLoader(
        Numbers(200, 0.002), batch_size=5, num_workers=workers, max_worker_restarts=workers
    ) as loader:
        it = iter(loader)
        got = flat([next(it)])
        for child in workers_of():
            child.kill()
        got += flat(it)
    assert got == list(range(200))


class KillFirstStarts:
    """worker_init_fn: the first ``n`` workers to start kill themselves (marker files count)."""

    def __init__(self, folder, n):
        self.folder, self.n = str(folder), n

    def __call__(self, worker_id):
        for k in range(self.n):
            try:
                os.close(os.open(os.path.join(self.folder, f"victim-{k}"), os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                continue
            os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_deaths_while_workers_start_lose_nothing(method, tmp_path):
    with DataLoader(
        Numbers(40),
        batch_size=4,
        num_workers=2,
        start_method=method,
        worker_init_fn=KillFirstStarts(tmp_path, 2),
        max_worker_restarts=2,
    ) as loader:
        got = flat(loader)
    assert len(list(tmp_path.glob("victim-*"))) == 2
    assert got == list(range(40))


def test_a_death_during_close_neither_raises_nor_hangs():
    loader = DataLoader(Numbers(400, 0.002), batch_size=4, num_workers=2)
    it = iter(loader)
    next(it)
    workers_of()[0].kill()
    start = time.monotonic()
    loader.close()
    assert time.monotonic() - start < 5
    assert all(not p.is_running() or p.status() == psutil.STATUS_ZOMBIE for p in workers_of())


# -- chaos -----------------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_chaos_random_kills_over_three_epochs_change_no_batch(workers):
    """Seeded kill -9 of random workers at random moments: the batches of num_workers=0.

    Kills are spaced by more batches than are in flight, so that no sample is
    under way at two kills (two deaths on one sample would make it lethal).
    """
    data = Numbers(240, 0.002)
    kwargs = {"batch_size": 6, "shuffle": True, "seed": 11, "last_batch": "rollover"}
    expected_loader = DataLoader(data, **kwargs)
    expected = [[b.tolist() for b in expected_loader] for _ in range(3)]
    rng = random.Random(workers)
    in_flight = 2 * workers
    kills = 0
    with DataLoader(
        data, num_workers=workers, prefetch=in_flight, max_worker_restarts=100, **kwargs
    ) as loader:
        for epoch in range(3):
            got = []
            next_kill = rng.randint(0, 3)
            for position, batch in enumerate(loader):
                got.append(batch.tolist())
                if position == next_kill:
                    time.sleep(rng.uniform(0, 0.01))
                    rng.choice(workers_of()).kill()
                    kills += 1
                    next_kill += rng.randint(in_flight + 2, in_flight + 6)
            assert got == expected[epoch], f"epoch {epoch}"
    assert kills >= 6


# -- start-up ----------------------------------------------------------------------


def test_a_script_without_a_main_guard_under_spawn_is_told_so_within_seconds(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(
        textwrap.dedent(
            """
            from gluondata import DataLoader, SimpleDataset

            loader = DataLoader(SimpleDataset(list(range(8))), batch_size=2, num_workers=2,
                                start_method="spawn")
            for batch in loader:
                pass
            """
        )
    )
    start = time.monotonic()
    run = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert run.returncode != 0
    assert time.monotonic() - start < 20  # (the check itself: within 5 s of the first death)
    last_line = run.stderr.strip().splitlines()[-1]
    assert "WorkerDiedError" in last_line
    assert 'if __name__ == "__main__":' in last_line and "train.py" in last_line
