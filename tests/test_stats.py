"""DataLoader.stats(): stage times, waiting vs working, the verdict; auto workers; progress."""

import threading
import time

import numpy as np
import pytest
from PIL import Image

from gluondata import ArrayDataset, DataLoader, Dataset, LoaderStats
from gluondata import _stages as stages
from gluondata._loader.stats import arrival_rates, judge
from gluondata._stages import STAGES, WEIGHT, thread_clock, timed
from gluondata.vision import ImageFolderDataset
from gluondata.vision import transforms as T


class SlowSamples(Dataset):
    """Each sample takes ``seconds`` to load."""

    def __init__(self, length: int, seconds: float) -> None:
        self.length, self.seconds = length, seconds

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> np.ndarray:
        time.sleep(self.seconds)
        return np.full(4, i, np.float32)


def test_a_slow_dataset_and_a_fast_loop_is_input_bound():
    loader = DataLoader(SlowSamples(40, 0.002), batch_size=4)
    for _ in loader:
        pass
    stats = loader.stats()
    assert stats.verdict == "input-bound"
    assert stats.batches == 10 and stats.samples == 40
    assert stats.waiting_fraction > 0.8
    assert stats.stages["getitem"].total_seconds >= 40 * 0.002 * 0.9
    assert stats.stages["getitem"].p50_ms >= 4 * 2 * 0.9
    assert "num_workers" in stats.advice  # the calling thread: workers would help


@pytest.mark.parametrize("workers", [0, 2])
def test_sampling_of_cheap_batches_does_not_carry_over_to_the_next_loader(workers):
    """A cheap loader leaves its thread skipping batches; the next loader still times its own."""
    for _ in DataLoader(SlowSamples(40, 0.0), batch_size=4):  # cheap: timed 1 in 16
        pass
    assert thread_clock().skip > 0
    loader = DataLoader(SlowSamples(8, 0.002), batch_size=4, num_workers=workers)
    for _ in loader:
        pass
    stats = loader.stats()
    assert stats.stages["getitem"].total_seconds >= 8 * 0.002 * 0.9
    if workers:  # the first batch travels pickled, and its record says so
        assert stats.pickled_batches >= 1


def test_a_slow_loop_over_fast_batches_is_compute_bound():
    loader = DataLoader(
        SlowSamples(48, 0.0), batch_size=4, num_workers=2, thread_pool=True, prefetch=4
    )
    for _ in loader:
        time.sleep(0.02)
    stats = loader.stats()
    assert stats.verdict == "compute-bound", stats
    assert stats.elsewhere_seconds > 12 * 0.02 * 0.9
    assert stats.waiting_fraction < 0.05
    assert stats.executor == "threads" and stats.num_workers == 2


def test_worker_processes_report_every_stage_shared_memory_and_bad_samples():
    class Flaky(SlowSamples):
        def __getitem__(self, i):
            if i == 3:
                raise ValueError("broken sample")
            return super().__getitem__(i)

    loader = DataLoader(
        Flaky(64, 0.0),
        batch_size=8,
        num_workers=2,
        on_bad_sample="replace",
        max_bad_fraction=0.1,
        seed=0,
    )
    with pytest.warns(UserWarning, match="index 3"):
        batches = list(loader)
    stats = loader.stats()
    assert len(batches) == stats.batches == 8
    assert stats.bad_samples == 1
    assert stats.worker_restarts == 0
    assert stats.shm_budget_bytes and stats.shm_budget_bytes > 0
    assert stats.executor == "processes"
    assert set(stats.stages) == set(STAGES)
    assert stats.stages["handover"].total_seconds > 0
    # the first batch's size is unknown until it returns: it travels pickled
    assert 1 <= stats.pickled_batches < 8
    text = str(stats)
    for word in ("getitem", "batchify", "handover", "verdict", "shared memory", "restarts"):
        assert word in text
    data = stats.as_dict()
    assert data["bad_samples"] == 1 and "arrivals" not in data


def test_stats_can_be_read_during_an_epoch():
    loader = DataLoader(SlowSamples(20, 0.0), batch_size=2)
    iterator = iter(loader)
    next(iterator)
    next(iterator)
    assert loader.stats().batches == 2
    for _ in iterator:
        pass
    assert loader.stats().batches == 10


def test_cheap_batches_in_the_loop_are_timed_one_in_16_and_counted_all():
    x = np.arange(1003 * 2, dtype=np.float32).reshape(1003, 2)
    loader = DataLoader(ArrayDataset(x), batch_size=10)  # 101 batches, the last of 3
    began = time.perf_counter()
    for _ in loader:
        pass
    wall = time.perf_counter() - began
    stats = loader.stats()
    assert stats.batches == 101 and stats.samples == 1003
    assert len(loader._recorder.asked_ns) < 101 // 8  # most were only counted
    assert sum(n for _, n in stats.arrivals) <= 1003
    assert 0 < stats.waited_seconds <= stats.wall_seconds <= wall
    assert stats.stages["getitem"].total_seconds > 0
    for stopped_at in (1, 40):  # an epoch left early ends about where its last batch came
        iterator = iter(loader)
        for _ in range(stopped_at):
            next(iterator)
        began = time.perf_counter()
        del iterator
        time.sleep(0.05)
        stats = loader.stats()
        assert stats.batches == stopped_at and stats.samples == 10 * stopped_at
        assert stats.wall_seconds < time.perf_counter() - began


def test_stats_before_any_epoch_is_an_error():
    with pytest.raises(RuntimeError, match="iterate"):
        DataLoader(SlowSamples(4, 0), batch_size=2).stats()


def test_image_decode_and_compose_report_their_own_stages(tmp_path):
    rng = np.random.default_rng(0)
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        for i in range(4):
            pixels = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / cls / f"{i}.jpg", quality=90)
    dataset = ImageFolderDataset(str(tmp_path)).transform_first(
        T.Compose([T.RandomResizedCrop(64), T.ToTensor()])
    )
    loader = DataLoader(dataset, batch_size=4, num_workers=2, thread_pool=True)
    for _ in loader:
        pass
    stages = loader.stats().stages
    assert stages["decode"].total_seconds > 0
    assert stages["transform"].total_seconds > 0


def test_inner_stages_are_not_counted_twice():
    @timed("decode")
    def decode():
        time.sleep(0.01)

    @timed("transform")
    def transform():
        decode()
        time.sleep(0.01)

    clock = thread_clock()
    clock.ns, clock.claimed = [0] * (WEIGHT + 1), 0
    transform()
    ns = dict(zip(STAGES, clock.ns[: len(STAGES)], strict=True))
    assert 0.009e9 < ns["decode"] < 0.05e9
    assert 0.009e9 < ns["transform"] < 0.05e9
    assert clock.claimed == ns["decode"] + ns["transform"]

    seen = []

    def elsewhere():  # a thread that never computed a batch has no clock: nothing is timed
        decode()
        seen.append(getattr(stages._local, "clock", None))

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    assert seen == [None]


def test_judge_advice_names_the_fix():
    common = dict(
        num_workers=2,
        cpus=4,
        stage_seconds={"getitem": 1.0, "decode": 0.0},
        dataset=None,
        batches=10,
    )
    verdict, advice = judge(
        waiting_fraction=0.5,
        executor="processes",
        utilisation=0.95,
        pickled_fraction=0.0,
        **common,
    )
    assert verdict == "input-bound" and "more workers" in advice
    verdict, advice = judge(
        waiting_fraction=0.5,
        executor="processes",
        utilisation=0.9,
        pickled_fraction=0.5,
        **common,
    )
    assert "shm_budget" in advice
    verdict, advice = judge(
        waiting_fraction=0.5,
        executor="processes",
        utilisation=0.2,
        pickled_fraction=0.0,
        **common,
    )
    assert "thread_pool=True" in advice
    common["cpus"] = 2
    common["stage_seconds"] = {"getitem": 0.1, "decode": 1.0}
    verdict, advice = judge(
        waiting_fraction=0.5,
        executor="processes",
        utilisation=0.9,
        pickled_fraction=0.0,
        **common,
    )
    assert "fused decode" in advice
    verdict, _ = judge(
        waiting_fraction=0.1,
        executor="processes",
        utilisation=0.9,
        pickled_fraction=0.0,
        **common,
    )
    assert verdict == "balanced"


def test_arrival_rates_bin_samples_into_windows():
    rates = arrival_rates([(0.05, 10), (0.15, 10), (0.16, 10), (0.35, 5)], 0.1)
    assert rates == [(0.1, 100.0), (0.2, 200.0), (0.30000000000000004, 0.0), (0.4, 50.0)]


def test_auto_picks_no_workers_for_array_dataset_and_keeps_the_batches():
    x = np.arange(40000 * 8, dtype=np.float32).reshape(40000, 8)
    y = np.arange(40000)
    # (seed_global_rngs=False: seeding numpy's global generator per batch is work that
    # workers would share out; ArrayDataset's batched fetch alone is cheaper than a hand-over)
    options = dict(batch_size=256, shuffle=True, seed=5, seed_global_rngs=False)
    fixed = DataLoader(ArrayDataset(x, y), **options)
    auto = DataLoader(ArrayDataset(x, y), num_workers="auto", **options)
    with auto:
        for _ in range(2):
            for a, b in zip(fixed, auto, strict=True):
                np.testing.assert_array_equal(a[0], b[0])
                np.testing.assert_array_equal(a[1], b[1])
        stats = auto.stats()
    assert stats.num_workers == 0
    assert stats.autotune is not None and stats.autotune.startswith("num_workers=0")
    assert "1w" in stats.autotune  # workers were measured, not assumed


def test_auto_workers_give_the_same_batches_as_fixed_ones():
    dataset = SlowSamples(24, 0.001)
    fixed_loader = DataLoader(dataset, batch_size=4, shuffle=True, seed=3)
    fixed = [b.copy() for b in fixed_loader]
    fixed_again = [b.copy() for b in fixed_loader]
    with DataLoader(
        dataset,
        batch_size=4,
        shuffle=True,
        seed=3,
        num_workers="auto",
        prefetch="auto",
        thread_pool=True,
    ) as auto:
        got = [b.copy() for b in auto]
        chosen = auto.stats().num_workers
        again = [b.copy() for b in auto]  # the choice is kept: no second measurement
        assert auto.stats().num_workers == chosen
    for a, b in zip(fixed + fixed_again, got + again, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_bad_num_workers_is_refused():
    with pytest.raises(ValueError, match="auto"):
        DataLoader(SlowSamples(4, 0), batch_size=2, num_workers="many")


def test_progress_shows_one_bar_per_epoch(capsys):
    loader = DataLoader(SlowSamples(8, 0), batch_size=2, progress=True)
    for _ in range(2):
        for _ in loader:
            pass
    err = capsys.readouterr().err
    assert "epoch 0" in err and "epoch 1" in err and "4/4" in err


def test_loader_stats_is_public():
    assert LoaderStats.__module__.startswith("gluondata")
