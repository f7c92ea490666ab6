"""The process pool under forkserver, and a loader alive in a process that forks."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import psutil
import pytest

from gluondata import DataLoader, Dataset


class Squares(Dataset):
    def __len__(self):
        return 23

    def __getitem__(self, i):
        return np.full(3, i * i, dtype=np.int64)


def epoch(loader):
    return [batch.tolist() for batch in loader]


def test_forkserver_gives_the_batches_of_the_calling_thread():
    inline = epoch(DataLoader(Squares(), batch_size=4, shuffle=True, seed=3))
    with DataLoader(
        Squares(), batch_size=4, shuffle=True, seed=3, num_workers=2, start_method="forkserver"
    ) as loader:
        assert epoch(loader) == inline
        assert epoch(loader) != inline  # the next epoch: another order, same workers
        assert sorted(i for batch in epoch(loader) for i, _, _ in batch) == [
            i * i for i in range(23)
        ]


FORKSERVER_MAIN = """
    import sys, time
    import numpy as np
    from gluondata import DataLoader, Dataset

    class Slow(Dataset):
        def __len__(self):
            return 10**6
        def __getitem__(self, i):
            time.sleep(0.001)
            return np.zeros(4, np.float32)

    if __name__ == "__main__":
        loader = DataLoader(Slow(), batch_size=8, num_workers=2, start_method="forkserver")
        it = iter(loader)
        next(it)
        print("running", flush=True)
        for _ in it:
            pass
"""


def test_forkserver_workers_exit_soon_after_kill_9_of_the_main_process(tmp_path):
    script = tmp_path / "main.py"
    script.write_text(textwrap.dedent(FORKSERVER_MAIN))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "running"
    family = psutil.Process(proc.pid).children(recursive=True)
    assert len(family) >= 3  # the fork server and two workers
    proc.kill()
    proc.wait(timeout=10)
    _gone, alive = psutil.wait_procs(family, timeout=5)
    assert alive == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_leaves_the_parents_workers_alone():
    with DataLoader(Squares(), batch_size=4, num_workers=2, seed=1) as loader:
        expected = epoch(DataLoader(Squares(), batch_size=4, seed=1))
        it = iter(loader)
        first = next(it).tolist()
        workers = psutil.Process().children()
        for _ in range(2):
            pid = os.fork()
            if pid == 0:  # the child: its own loader works, then it exits normally
                code = 0
                try:
                    with DataLoader(Squares(), batch_size=4, num_workers=1, seed=1) as own:
                        code = 0 if epoch(own) == expected else 1
                finally:
                    os._exit(code)
            _, status = os.waitpid(pid, 0)
            assert os.waitstatus_to_exitcode(status) == 0
        assert all(w.is_running() for w in workers)
        assert [first, *(b.tolist() for b in it)] == expected


def test_a_forked_child_exiting_through_atexit_leaves_the_parents_workers_alone():
    code = textwrap.dedent("""
        import os, sys
        import numpy as np
        from gluondata import DataLoader, Dataset

        class Squares(Dataset):
            def __len__(self):
                return 23
            def __getitem__(self, i):
                return np.full(3, i * i, dtype=np.int64)

        loader = DataLoader(Squares(), batch_size=4, num_workers=2)
        it = iter(loader)
        first = next(it)
        for _ in range(2):
            pid = os.fork()
            if pid == 0:
                sys.exit(0)  # runs atexit, and the loader's finalizer, in the child
            os.waitpid(pid, 0)
        rest = [b for b in it]
        print(1 + len(rest))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "6" and "AssertionError" not in done.stderr


class WithALock(Dataset):
    """Index 1 and index 9 hold a lock, which cannot be pickled."""

    def __len__(self):
        return 12

    def __getitem__(self, i):
        import threading

        return (threading.Lock() if i in (1, 9) else np.zeros(2), i)


def test_a_result_that_cannot_be_pickled_fails_its_batch_at_once_and_the_worker_lives():
    import time

    with DataLoader(
        WithALock(), batch_size=2, num_workers=1, batchify_fn=list, timeout=30
    ) as loader:
        it = iter(loader)
        start = time.monotonic()
        seen, errors = [], []
        while True:
            try:
                seen.append([i for _, i in next(it)])
            except StopIteration:
                break
            except TypeError as err:
                errors.append(" ".join([str(err), *getattr(err, "__notes__", [])]))
        assert time.monotonic() - start < 10  # no timeout stall
        pids = [w.pid for w in psutil.Process().children()]
        assert seen == [[2, 3], [4, 5], [6, 7], [10, 11]]
        assert len(errors) == 2 and all("pickle" in e for e in errors)
        assert "indices [0, 1]" in errors[0] and "indices [8, 9]" in errors[1]
        assert "cannot cross to the main process" in errors[1]
        assert [w.pid for w in psutil.Process().children()] == pids  # no restart


@pytest.mark.parametrize("workers", [{"num_workers": 0}, {"num_workers": 2}])
def test_one_iterator_shared_by_threads_gives_each_batch_to_exactly_one(workers):
    from concurrent.futures import ThreadPoolExecutor

    class Many(Dataset):
        def __len__(self):
            return 400

        def __getitem__(self, i):
            return i

    with DataLoader(Many(), batch_size=4, **workers) as loader:
        it = iter(loader)

        def drain(_):
            return [int(i) for batch in it for i in batch]

        with ThreadPoolExecutor(4) as pool:
            got = [i for part in pool.map(drain, range(4)) for i in part]
    assert sorted(got) == list(range(400))


class CollectsInWorker(Dataset):
    """Sample i: the worker's private memory (USS) before and after a full collection."""

    def __len__(self):
        return 2

    def __getitem__(self, i):
        import gc

        me = psutil.Process()
        before = me.memory_full_info().uss
        gc.collect()
        return np.array([before, me.memory_full_info().uss, gc.get_freeze_count()])


def test_a_full_collection_in_a_forked_worker_leaves_the_main_processs_objects_shared():
    import gc

    heap = [[i] for i in range(400_000)]  # ~40 MiB of objects the collector tracks
    with DataLoader(CollectsInWorker(), batch_size=1, num_workers=1, start_method="fork") as loader:
        (before, after, frozen), _ = (batch[0] for batch in loader)
    assert gc.get_freeze_count() == 0  # the main process collects its objects as before
    assert frozen >= len(heap)  # the worker never does
    assert after - before < 4 * 2**20, (before, after)  # not copied page by page
    del heap


def test_a_program_that_froze_its_objects_keeps_them_frozen():
    import gc

    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with DataLoader(Squares(), batch_size=4, num_workers=1, start_method="fork") as loader:
            assert len(epoch(loader)) == 6
        assert gc.get_freeze_count() > frozen // 2  # not unfrozen (some died meanwhile)
    finally:
        gc.unfreeze()
