"""The process pool: shared-memory ring, crashes, signals, determinism (real processes)."""

import mmap
import os
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
    ArrayDataset,
    DataLoader,
    Dataset,
    SimpleDataset,
    get_worker_info,
)
from gluondata import random as gdrandom


class Rows(Dataset):
    """Sample i: a (64,) float32 row full of i, and the label i (per-sample path)."""

    def __init__(self, n=64):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, idx):
        return np.full(64, idx, np.float32), idx


def slot_mapping(array):
    """The mmap an array views, if it lives in a shared-memory slot."""
    base = array.base
    while isinstance(base, np.ndarray):
        base = base.base
    return getattr(base, "obj", None)


def test_batches_view_the_shared_slot_without_a_copy():
    with DataLoader(Rows(64), batch_size=8, num_workers=2, prefetch=2) as loader:
        batches = list(loader)
    # the batches sent before the first came back travel pickled (their size is
    # unknown); every later one is written in place and viewed, not copied
    in_slot = [isinstance(slot_mapping(b[0]), mmap.mmap) for b in batches]
    assert in_slot[2:] == [True] * 6, in_slot
    assert all(isinstance(slot_mapping(b[1]), mmap.mmap) for b in batches[2:])
    assert not batches[3][0].flags.owndata


def test_array_dataset_is_fetched_straight_into_the_slot():
    x = np.arange(4000, dtype=np.float32).reshape(1000, 4)
    with DataLoader(ArrayDataset(x), batch_size=100, num_workers=2) as loader:
        batches = list(loader)
    assert np.array_equal(np.concatenate(batches), x)
    assert isinstance(slot_mapping(batches[-1]), mmap.mmap)


def test_a_kept_batch_stays_valid_while_later_batches_arrive():
    with DataLoader(Rows(200), batch_size=4, num_workers=2) as loader:
        it = iter(loader)
        kept = [next(it) for _ in range(3)]
        rest = list(it)
    for k, (data, labels) in enumerate(kept):
        assert labels.tolist() == list(range(4 * k, 4 * k + 4))
        assert (data == labels[:, None]).all()
    assert len(rest) == 47


def test_keeping_every_batch_runs_to_the_end_within_the_budget():
    loader = DataLoader(Rows(400), batch_size=4, num_workers=2, shm_budget=64 * 1024)
    with loader:
        kept = list(loader)
        kept += list(loader)
    assert len(kept) == 200
    for k, (data, labels) in enumerate(kept):
        assert labels.tolist() == [i % 400 for i in range(4 * k, 4 * k + 4)]
        assert (data == labels[:, None]).all()


def test_slots_are_reused_when_batches_are_dropped():
    loader = DataLoader(Rows(400), batch_size=4, num_workers=2)
    with loader:
        for _ in range(3):
            for _batch in loader:
                pass
        ring = loader._executor._ring
        assert 0 < len(ring.blocks) <= 16


def test_strings_and_objects_travel_pickled():
    data = SimpleDataset([(f"name-{i}", {"n": i}, np.arange(3) + i) for i in range(10)])
    with DataLoader(data, batch_size=5, num_workers=2) as loader:
        names, meta, arrays = next(iter(loader))
    assert names == [f"name-{i}" for i in range(5)]
    assert meta["n"].tolist() == list(range(5))
    assert arrays.tolist()[4] == [4, 5, 6]


class KillsItselfOnce(Rows):
    """Kills its worker process with SIGKILL the first time it loads index 13."""

    def __init__(self, marker, n=64):
        super().__init__(n)
        self.marker = str(marker)

    def __getitem__(self, idx):
        if idx == 13 and not os.path.exists(self.marker):
            Path(self.marker).touch()
            os.kill(os.getpid(), signal.SIGKILL)
        return super().__getitem__(idx)


def test_a_killed_worker_is_replaced_and_every_index_arrives_once(tmp_path):
    loader = DataLoader(KillsItselfOnce(tmp_path / "killed"), batch_size=4, num_workers=2)
    with loader:
        start = time.monotonic()
        labels = [i for batch in loader for i in batch[1].tolist()]
        assert time.monotonic() - start < 10
        assert labels == list(range(64))
        assert (tmp_path / "killed").exists()
        assert [i for b in loader for i in b[1].tolist()] == list(range(64))


def test_worker_info_and_init_fn_in_processes():
    class WhoAmI(Rows):
        def __getitem__(self, idx):
            info = get_worker_info()
            return info.id, info.num_workers, os.getpid()

    def init(worker_id):
        assert get_worker_info().id == worker_id

    assert get_worker_info() is None
    with DataLoader(WhoAmI(40), batch_size=2, num_workers=2, worker_init_fn=init) as loader:
        rows = [r for batch in loader for r in zip(*[c.tolist() for c in batch], strict=True)]
    assert {r[0] for r in rows} <= {0, 1} and {r[1] for r in rows} == {2}
    assert os.getpid() not in {r[2] for r in rows}


def test_spawn_with_a_lambda_transform():
    data = SimpleDataset(list(range(12))).transform(lambda x: x * 3)
    with DataLoader(data, batch_size=4, num_workers=2, start_method="spawn") as loader:
        assert [b.tolist() for b in loader] == [[0, 3, 6, 9], [12, 15, 18, 21], [24, 27, 30, 33]]


class Jittered(Rows):
    def __getitem__(self, idx):
        noise = gdrandom.generator().normal(size=3) + np.random.rand()
        return noise.astype(np.float32), idx


def run(**executor):
    loader = DataLoader(Jittered(30), batch_size=4, shuffle=True, seed=9, **executor)
    with loader:
        return [[a.tolist() for a in batch] for _ in range(2) for batch in loader]


@pytest.mark.parametrize(
    "executor",
    [
        {"num_workers": 1},
        {"num_workers": 2},
        {"num_workers": 4},
        {"num_workers": 2, "start_method": "spawn"},
        {"num_workers": 2, "thread_pool": True},
    ],
)
def test_identical_batches_for_any_worker_count_and_start_method(executor):
    assert run(**executor) == run()


def run_script(code, **kwargs):
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


LOOP = """
    import os, sys, time
    import numpy as np
    from gluondata import DataLoader, Dataset

    class Slow(Dataset):
        def __len__(self):
            return 10**6
        def __getitem__(self, i):
            time.sleep(0.001)
            return np.zeros((256, 256), np.float32)

    loader = DataLoader(Slow(), batch_size=8, num_workers=2)
    it = iter(loader)
    next(it)
    print("running", flush=True)
    {after}
"""


def children_of(pid):
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def wait_gone(processes, seconds):
    _gone, alive = psutil.wait_procs(processes, timeout=seconds)
    return alive


def test_ctrl_c_in_the_loop_stops_everything_within_two_seconds():
    proc = run_script(LOOP.format(after="for _ in it: pass"))
    assert proc.stdout.readline().strip() == "running"
    workers = children_of(proc.pid)
    assert len(workers) >= 2
    start = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=10)
    assert time.monotonic() - start < 2.5
    assert "KeyboardInterrupt" in proc.stderr.read()
    assert wait_gone(workers, 2) == []


def test_exiting_with_an_unfinished_iterator_does_not_hang():
    proc = run_script(LOOP.format(after="sys.exit(0)"))
    assert proc.wait(timeout=15) == 0


def test_kill_9_of_the_main_process_leaves_no_workers_and_no_shared_memory():
    before = set(os.listdir("/dev/shm")) if os.path.isdir("/dev/shm") else set()
    proc = run_script(LOOP.format(after="for _ in it: pass"))
    assert proc.stdout.readline().strip() == "running"
    workers = children_of(proc.pid)
    assert len(workers) >= 2
    proc.kill()
    proc.wait(timeout=10)
    assert wait_gone(workers, 5) == []
    after = set(os.listdir("/dev/shm")) if os.path.isdir("/dev/shm") else set()
    assert after <= before


def test_string_array_round_trips_and_indexes_like_a_list():
    from gluondata.strings import StringArray

    names = ["a.jpg", "ünïcode/β.png", "", "x" * 300, os.fsdecode(b"bad-\xff.jpg")]
    strings = StringArray(names)
    assert list(strings) == names and len(strings) == 5
    assert strings[-1] == names[-1] and strings[1] == names[1]
    assert list(strings[1:3]) == names[1:3]
    with pytest.raises(IndexError):
        strings[5]
    assert strings.nbytes < 400


def test_forked_workers_reading_a_string_array_stay_flat():
    """Reading a StringArray in workers does not copy its pages (a list's would be)."""
    from gluondata.strings import StringArray

    class Named(Dataset):
        def __init__(self, names):
            self.names = names

        def __len__(self):
            return len(self.names)

        def __getitem__(self, idx):
            return len(self.names[idx])

    def worker_rss_growth(names):
        with DataLoader(Named(names), batch_size=5000, num_workers=1) as loader:
            next(iter(loader))
            worker = psutil.Process(loader._executor._workers[0].process.pid)
            before = worker.memory_full_info().uss
            for _ in loader:
                pass
            return worker.memory_full_info().uss - before

    names = [f"folder/{i:07d}-some-long-file-name.jpg" for i in range(300_000)]
    list_growth = worker_rss_growth(names)
    array_growth = worker_rss_growth(StringArray(names))
    assert list_growth > 10 * 2**20
    assert array_growth < 4 * 2**20 < list_growth / 2


def test_without_memfd_slots_fall_back_to_temp_files_with_one_warning(monkeypatch):
    from gluondata._loader.pool import shm

    def refuse(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(shm.os, "memfd_create", refuse)
    monkeypatch.setattr(shm, "_warned_fallback", False)
    loader = DataLoader(Rows(64), batch_size=8, num_workers=2)
    with pytest.warns(RuntimeWarning, match="could not reserve") as warned, loader:
        labels = [i for _ in range(2) for batch in loader for i in batch[1].tolist()]
    assert labels == list(range(64)) * 2
    assert len([w for w in warned if "could not reserve" in str(w.message)]) == 1


def test_an_oversized_budget_is_clamped_to_available_memory():
    with pytest.warns(RuntimeWarning, match="shm_budget"):
        loader = DataLoader(Rows(8), batch_size=4, num_workers=1, shm_budget=1 << 50)
        assert len(list(loader)) == 2
    loader.close()


def test_a_loader_used_only_through_its_iterator_keeps_its_workers():
    labels = []
    for batch in DataLoader(Rows(40), batch_size=4, num_workers=2):
        labels += batch[1].tolist()
    assert labels == list(range(40))
