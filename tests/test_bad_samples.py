"""on_bad_sample='replace': failed samples are replaced, reported and budgeted."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gluondata import (
    ArrayDataset,
    BadSampleWarning,
    DataLoader,
    Dataset,
    TooManyBadSamplesError,
)
from gluondata._loader.bad_samples import substitute_index
from gluondata.random import generator

MODES = [
    {"num_workers": 0},
    {"num_workers": 2, "thread_pool": True},
    {"num_workers": 2},
]


class Flaky(Dataset):
    """Sample i is (i, a random draw); the indices in ``bad`` raise."""

    def __init__(self, n, bad):
        self.n = n
        self.bad = frozenset(bad)

    def __len__(self):
        return self.n

    def __getitem__(self, idx):
        if idx in self.bad:
            raise OSError(f"cannot read sample {idx}")
        return np.int64(idx), generator().random()


def run(dataset, epochs=1, **kwargs):
    options = {"batch_size": 4, "shuffle": True, "seed": 3, "on_bad_sample": "replace"}
    options.update(kwargs)
    options = {k: v for k, v in options.items() if v is not None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BadSampleWarning)
        with DataLoader(dataset, **options) as loader:
            out = [[np.array(f) for f in batch] for _ in range(epochs) for batch in loader]
            return out, list(loader.bad_samples)


def test_a_failed_sample_is_replaced_and_the_batch_keeps_its_size():
    batches, bad = run(Flaky(20, {3, 11}), max_bad_fraction=0.5)
    assert [len(b[0]) for b in batches] == [4] * 5
    seen = np.concatenate([b[0] for b in batches])
    assert not {3, 11} & set(seen.tolist())
    assert sorted(s.index for s in bad) == [3, 11]
    assert all(s.epoch == 0 and "OSError: cannot read sample" in s.error for s in bad)
    for s in bad:  # the substitute is a function of (seed, epoch, index, attempt)
        assert s.substitute == substitute_index(3, 0, s.index, 0, 20)


def test_every_failure_is_a_warning_naming_the_index_and_its_error():
    loader = DataLoader(
        Flaky(20, {11}), batch_size=4, on_bad_sample="replace", max_bad_fraction=0.1
    )
    warning = r"index 11 failed .* replaced by index \d+: OSError"
    with loader, pytest.warns(BadSampleWarning, match=warning):
        assert sum(len(b[0]) for b in loader) == 20


@pytest.mark.parametrize("mode", MODES[1:], ids=["threads", "processes"])
def test_replacements_are_the_same_for_any_worker_count(mode):
    dataset = Flaky(30, {0, 7, 8, 29})
    expected = run(dataset, epochs=2, max_bad_fraction=0.5)
    got = run(dataset, epochs=2, max_bad_fraction=0.5, **mode)
    assert got[1] == expected[1]
    for a, b in zip(got[0], expected[0], strict=True):
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x, y)


def test_a_failing_substitute_is_reported_and_the_next_one_tried():
    seed = next(
        s
        for s in range(100)
        if len({5, substitute_index(s, 0, 5, 0, 10), substitute_index(s, 0, 5, 1, 10)}) == 3
    )
    first, second = (substitute_index(seed, 0, 5, k, 10) for k in (0, 1))
    options = {"batch_sampler": [[5]], "seed": seed, "shuffle": None, "batch_size": None}
    options["max_bad_fraction"] = 1
    batches, report = run(Flaky(10, {5, first}), **options)
    assert batches[0][0].tolist() == [second]
    assert [(r.index, r.substitute) for r in report] == [(5, first), (first, second)]


@pytest.mark.parametrize("mode", MODES, ids=["inline", "threads", "processes"])
def test_over_budget_raises_and_names_the_failures(mode):
    loader = DataLoader(
        Flaky(40, {1, 2, 3}),
        batch_size=4,
        on_bad_sample="replace",
        max_bad_fraction=0.05,  # 2 of 40
        **mode,
    )
    with loader, warnings.catch_warnings():
        warnings.simplefilter("ignore", BadSampleWarning)
        it = iter(loader)
        with pytest.raises(
            TooManyBadSamplesError, match=r"3 of the dataset.s 40 samples failed .*=0.05 allows"
        ):
            next(it)
        assert len(list(it)) == 9  # the later, clean batches still come
        assert {s.index for s in loader.bad_samples} >= {1, 2, 3}


def test_the_budget_is_per_epoch():
    batches, bad = run(Flaky(40, {5, 6}), epochs=3, max_bad_fraction=0.05)
    assert len(batches) == 30
    assert sorted((s.epoch, s.index) for s in bad) == [(e, i) for e in range(3) for i in (5, 6)]


def test_a_sample_with_no_good_substitute_raises_its_own_error():
    loader = DataLoader(
        Flaky(4, {0, 1, 2, 3}), batch_sampler=[[2]], on_bad_sample="replace", max_bad_fraction=1
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BadSampleWarning)
        with pytest.raises(OSError, match=r"^cannot read sample 2\n") as info:
            list(loader)
    assert any("10 samples tried in its place (the last" in n for n in info.value.__notes__)
    assert len(loader.bad_samples) == 10  # reported, although the batch failed


def test_a_failure_leaves_the_other_samples_draws_alone():
    clean, _ = run(Flaky(12, ()), batch_size=12, shuffle=False)
    for bad in ({0}, {11}, {0, 5, 6}):
        got, report = run(Flaky(12, bad), batch_size=12, shuffle=False, max_bad_fraction=1)
        for position in set(range(12)) - bad:
            assert got[0][1][position] == clean[0][1][position]
        for position, r in ((i, r) for i in sorted(bad) for r in report if r.index == i):
            if r.substitute not in bad:  # a substitute is drawn as in its own place
                assert got[0][1][position] == clean[0][1][r.substitute]
                break


class Batched(Flaky):
    """Flaky with a batched fetch that fails whenever a bad index, or ``broken``, is in it."""

    def __init__(self, n, bad, broken=False):
        super().__init__(n, bad)
        self.broken = broken

    def __getitems__(self, indices):
        if self.broken or self.bad & set(indices):
            generator(int(indices[0])).random()  # draws, then fails
            raise RuntimeError("the batched read failed")
        return [(np.int64(i), generator(int(i)).random()) for i in indices]


def test_a_failed_batched_fetch_is_retried_without_its_draws():
    clean, _ = run(Batched(8, ()), batch_size=8, shuffle=False)
    got, report = run(Batched(8, {3}), batch_size=8, shuffle=False, max_bad_fraction=1)
    assert [r.index for r in report] == [3]
    for position in (0, 1, 2, 4, 5, 6, 7):
        assert got[0][1][position] == clean[0][1][position]


def test_a_broken_batched_fetch_is_an_error_not_a_bad_sample():
    with pytest.raises(RuntimeError, match="the batched read failed"):
        run(Batched(8, (), broken=True), batch_size=4)


def test_samples_replaced_in_a_batch_that_then_fails_are_still_reported():
    def fail(samples):
        raise ValueError("cannot batch")

    loader = DataLoader(
        Flaky(8, {1}), batch_size=4, batchify_fn=fail, on_bad_sample="replace", max_bad_fraction=1
    )
    with warnings.catch_warnings(), pytest.raises(ValueError, match="cannot batch"):
        warnings.simplefilter("ignore", BadSampleWarning)
        list(loader)
    assert [s.index for s in loader.bad_samples] == [1]


@pytest.mark.parametrize(("failures", "raises"), [(29, False), (30, True)])
def test_the_budget_is_the_fraction_of_the_dataset_exactly(failures, raises):
    data = Flaky(100, set(range(50, 50 + failures)))
    if raises:
        with pytest.raises(TooManyBadSamplesError):
            run(data, batch_size=100, max_bad_fraction=0.29)
    else:
        assert len(run(data, batch_size=100, max_bad_fraction=0.29)[1]) >= failures


def test_a_dataset_without_len_works_under_the_default_policy():
    class NoLen:
        def __getitem__(self, idx):
            return idx

    with DataLoader(NoLen(), batch_sampler=[[0, 1], [2, 3]]) as loader:
        assert [b.tolist() for b in loader] == [[0, 1], [2, 3]]


class FalsyError(Exception):
    def __len__(self):
        return 0


class RaisesFalsy(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, idx):
        raise FalsyError("boom")


def test_a_falsy_exception_from_a_worker_process_arrives():
    loader = DataLoader(RaisesFalsy(), batch_size=2, num_workers=1)
    with loader, pytest.raises(FalsyError, match="boom"):
        next(iter(loader))


def test_a_one_sample_dataset_has_no_substitute():
    with pytest.raises(OSError) as info:
        run(Flaky(1, {0}), max_bad_fraction=1)
    assert any("no other sample" in note for note in info.value.__notes__)


@given(
    seed=st.integers(0, 2**32),
    index=st.integers(0, 50),
    attempt=st.integers(0, 9),
    length=st.integers(2, 52),
)
def test_a_substitute_is_never_the_failed_index_itself(seed, index, attempt, length):
    index %= length
    substitute = substitute_index(seed, 0, index, attempt, length)
    assert 0 <= substitute < length and substitute != index


def test_raise_stays_the_default():
    with DataLoader(Flaky(8, {6}), batch_size=4) as loader, pytest.raises(OSError, match="6"):
        list(loader)
    assert loader.bad_samples == []


def test_a_batched_dataset_falls_back_to_samples_to_find_the_bad_one():
    def fragile(x, y):
        if y == 13:
            raise ValueError("label 13 is corrupt")
        return x, y

    data = ArrayDataset(np.arange(32.0), np.arange(32)).transform(fragile)
    batches, bad = run(data, batch_size=8, max_bad_fraction=0.1)
    assert [len(b[1]) for b in batches] == [8] * 4
    assert [(s.index, s.error) for s in bad] == [(13, "ValueError: label 13 is corrupt")]


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="on_bad_sample must be one of"):
        DataLoader(Flaky(4, ()), batch_size=2, on_bad_sample="skip")
    with pytest.raises(ValueError, match="max_bad_fraction"):
        DataLoader(Flaky(4, ()), batch_size=2, max_bad_fraction=1.5)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 40),
    batch_size=st.integers(1, 9),
    bad=st.sets(st.integers(0, 39), max_size=8),
    last_batch=st.sampled_from(["keep", "discard", "rollover"]),
)
def test_batches_keep_their_shape_and_hold_only_good_samples(n, batch_size, bad, last_batch):
    bad = {i for i in bad if i < n}
    if len(bad) == n:
        return
    clean, _ = run(Flaky(n, ()), epochs=2, batch_size=batch_size, last_batch=last_batch)
    got, report = run(
        Flaky(n, bad), epochs=2, batch_size=batch_size, last_batch=last_batch, max_bad_fraction=1
    )
    assert [len(b[0]) for b in got] == [len(b[0]) for b in clean]
    for b_clean, b_got in zip(clean, got, strict=True):
        for want, have in zip(b_clean[0].tolist(), b_got[0].tolist(), strict=True):
            assert have not in bad
            assert have == want or want in bad
    assert {s.index for s in report} >= {i for b in clean for i in b[0].tolist()} & bad


def test_a_corrupt_image_in_a_folder_is_replaced_and_named(tmp_path):
    from test_image_draft import photo

    from gluondata.vision import ImageFolderDataset
    from gluondata.vision import transforms as T

    for k in range(2):
        (tmp_path / f"c{k}").mkdir()
        for i in range(4):
            (tmp_path / f"c{k}" / f"{i}.jpg").write_bytes(photo(64, 48, seed=4 * k + i))
    broken = tmp_path / "c1" / "2.jpg"
    broken.write_bytes(broken.read_bytes()[:300])
    data = ImageFolderDataset(tmp_path).transform_first(T.Compose([T.Resize(16), T.ToTensor()]))
    batches, bad = run(data, num_workers=2, max_bad_fraction=0.2)
    assert [b[0].shape for b in batches] == [(4, 3, 16, 16)] * 2
    assert [s.index for s in bad] == [6]
    assert str(broken) in bad[0].error and bad[0].error.startswith("ImageDecodeError")
