"""Samples written into their batch's columns as they come (ColumnWriter), and what it saves."""

import ctypes
from collections import namedtuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gluondata import DataLoader, Dataset
from gluondata._loader.columns import STREAM_MIN_SAMPLE_BYTES, ColumnWriter, SampleColumns
from gluondata.batchify import Group, Pad, Stack, default_batchify_fn

ROW = STREAM_MIN_SAMPLE_BYTES // 4  # float32 elements in a sample just large enough to stream


def _written(samples):
    writer = ColumnWriter(len(samples))
    for sample in samples:
        writer.append(sample)
    return writer.result()


def _same(a, b):
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray)
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    else:
        assert a == b


def test_array_samples_become_one_column_that_stack_takes_as_it_is():
    samples = [np.full((2, ROW // 2), i, np.float32) for i in range(5)]
    columns = _written(samples)
    assert isinstance(columns, SampleColumns) and not columns.as_tuple
    batch = Stack()(columns)
    assert batch is columns.columns[0] or batch.base is columns.columns[0].base
    np.testing.assert_array_equal(batch, np.stack(samples))


def test_tuple_samples_keep_numbers_and_strings_in_lists():
    samples = [(np.full(ROW, i, np.float32), i, f"s{i}") for i in range(4)]
    columns = _written(samples)
    assert isinstance(columns, SampleColumns) and columns.as_tuple
    assert isinstance(columns.columns[0], np.ndarray)
    assert columns.columns[1] == [0, 1, 2, 3]
    _same(default_batchify_fn(columns), default_batchify_fn(samples))
    _same(Group(Stack(), Stack(), Stack())(columns), Group(Stack(), Stack(), Stack())(samples))


@pytest.mark.parametrize(
    "odd",
    [
        np.zeros(ROW + 1, np.float32),  # another shape
        np.zeros(ROW, np.float64),  # another dtype
        (np.zeros(ROW, np.float32),),  # another structure
    ],
)
def test_a_sample_that_does_not_fit_turns_the_batch_back_into_a_list(odd):
    samples = [np.full(ROW, i, np.float32) for i in range(3)]
    got = _written([*samples, odd])
    assert isinstance(got, list) and len(got) == 4
    for a, b in zip(got[:3], samples, strict=True):
        np.testing.assert_array_equal(a, b)
    assert got[3] is odd


def test_small_samples_namedtuples_and_dicts_are_kept_as_they_are():
    small = [np.zeros(4, np.float32) for _ in range(3)]
    assert _written(small) == small
    Pair = namedtuple("Pair", "x y")
    pairs = [Pair(np.zeros(ROW, np.float32), 1) for _ in range(2)]
    assert _written(pairs) == pairs
    dicts = [{"x": np.zeros(ROW, np.float32)} for _ in range(2)]
    assert _written(dicts) == dicts


def test_only_the_built_in_stacking_functions_take_columns():
    assert default_batchify_fn.takes_columns and Stack.takes_columns
    assert Group(Stack(), default_batchify_fn).takes_columns
    assert not Group(Stack(), Pad()).takes_columns
    assert not hasattr(Pad(), "takes_columns")


_field = st.sampled_from(
    [
        np.zeros(ROW, np.float32),
        np.ones(ROW, np.float32),
        np.zeros(ROW + 4, np.float32),
        np.ones(ROW, np.int32),
        np.ones(ROW, np.float64),
        3,
        2.5,
    ]
)
_sample = st.one_of(
    _field,
    st.tuples(_field, _field),
    st.lists(_field, min_size=1, max_size=3),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_sample, min_size=1, max_size=6))
def test_batches_are_what_they_were_with_the_samples_kept(samples):
    """default_batchify_fn gives the same batch (or the same error) either way."""
    try:
        expected = default_batchify_fn(samples)
    except (ValueError, TypeError) as err:
        with pytest.raises(type(err)):
            default_batchify_fn(_written(samples))
        return
    _same(default_batchify_fn(_written(samples)), expected)


SAMPLE_FLOATS = 1 << 18  # 1 MiB of float32


class _HeapAtEachSample(Dataset):
    """Each sample is a fresh 1 MiB array and the bytes the process's malloc had in use."""

    def __len__(self):
        return 64

    def __getitem__(self, i):
        sample = np.full(SAMPLE_FLOATS, i, np.float32)
        return sample, _malloc_in_use()


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            [
                "arena",
                "ordblks",
                "smblks",
                "hblks",
                "hblkhd",
                "usmblks",
                "fsmblks",
                "uordblks",
                "fordblks",
                "keepcost",
            ]
        )
    ]


def _malloc_in_use():
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = _MallInfo2
    info = libc.mallinfo2()
    return info.uordblks + info.hblkhd


def _has_mallinfo2():
    try:
        return hasattr(ctypes.CDLL("libc.so.6"), "mallinfo2")
    except OSError:
        return False


@pytest.mark.skipif(not _has_mallinfo2(), reason="needs glibc's mallinfo2 (glibc >= 2.33)")
@pytest.mark.parametrize("num_workers", [0, 2])
def test_a_workers_heap_does_not_grow_by_a_batch_as_its_samples_come(num_workers):
    """Each sample goes into the batch (in a worker: its slot) and is dropped at once."""
    batch_size = 16
    loader = DataLoader(_HeapAtEachSample(), batch_size=batch_size, num_workers=num_workers)
    for _ in range(2):  # the second epoch's batches go straight into slots
        for data, in_use in loader:
            np.testing.assert_array_equal(data[:, 0], data[:, -1])
            # from the second sample on (the batch array is made at the first, on the heap
            # without a slot), samples kept until the end would add a MiB each
            grown = in_use[1:].max() - in_use[1:].min()
            assert grown < 4 * SAMPLE_FLOATS * 4, in_use
    loader.close()
