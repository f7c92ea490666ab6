"""Batchify functions."""

from collections import namedtuple

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gluondata.batchify import (
    Append,
    AsList,
    Dict,
    Group,
    Pad,
    SampleColumns,
    Stack,
    default_batchify_fn,
)


def test_default_stacks_arrays_keeping_dtype():
    batch = default_batchify_fn([np.ones((2, 3), np.float16), np.zeros((2, 3), np.float16)])
    assert batch.shape == (2, 2, 3) and batch.dtype == np.float16


def test_default_turns_numbers_into_arrays():
    assert default_batchify_fn([1, 2]).dtype == np.int64
    assert default_batchify_fn([1.5, 2.0]).dtype == np.float64
    assert default_batchify_fn([True, False]).dtype == np.bool_
    assert default_batchify_fn([np.float32(1), np.float32(2)]).dtype == np.float32


def test_default_transposes_tuples_and_lists_into_a_list_of_fields():
    batch = default_batchify_fn([(np.zeros(2), 1, (3, 4.0)), (np.ones(2), 2, (5, 6.0))])
    assert isinstance(batch, list) and len(batch) == 3
    assert batch[0].tolist() == [[0, 0], [1, 1]]
    assert batch[1].tolist() == [1, 2]
    assert batch[2][0].tolist() == [3, 5] and batch[2][1].dtype == np.float64
    assert [a.tolist() for a in default_batchify_fn([[1, 2], [3, 4]])] == [[1, 3], [2, 4]]


def test_default_keeps_namedtuples_and_dicts_and_lists_strings():
    Pair = namedtuple("Pair", "x y")
    batch = default_batchify_fn([Pair(1, "a"), Pair(2, "b")])
    assert isinstance(batch, Pair) and batch.x.tolist() == [1, 2] and batch.y == ["a", "b"]
    batch = default_batchify_fn(
        [{"img": np.zeros(3), "name": "p"}, {"img": np.ones(3), "name": "q"}]
    )
    assert batch["img"].shape == (2, 3) and batch["name"] == ["p", "q"]
    assert default_batchify_fn([None, object]) == [None, object]


def test_default_ragged_arrays_say_to_use_pad():
    with pytest.raises(ValueError, match="Pad"):
        default_batchify_fn([np.zeros(3), np.zeros(4)])


def test_default_and_stack_take_sample_columns_as_they_are():
    x = np.arange(6).reshape(3, 2)
    columns = SampleColumns([x, [1, 2, 3]], as_tuple=True)
    batch = default_batchify_fn(columns)
    assert batch[0] is x and batch[1].tolist() == [1, 2, 3]
    assert Stack()(columns)[0] is x
    assert default_batchify_fn(SampleColumns([x], as_tuple=False)) is x


def test_stack_transposes_and_stacks():
    batch = Stack()([(np.zeros(2), 1), (np.ones(2), 2)])
    assert batch[0].shape == (2, 2) and batch[1].tolist() == [1, 2]


def test_pad_pads_every_axis_like_mxnet():
    out = Pad(val=-1)([np.ones((2, 4)), np.ones((1, 3)), np.ones((1, 2))])
    assert out.shape == (3, 2, 4)
    assert out[1].tolist() == [[1, 1, 1, -1], [-1, -1, -1, -1]]


def test_pad_round_to_dtype_and_lengths():
    out, lengths = Pad(round_to=4, dtype=np.float32, ret_length=True)([[1, 2, 3], [4]])
    assert out.shape == (2, 4) and out.dtype == np.float32
    assert lengths.tolist() == [3, 1] and lengths.dtype == np.int64


def test_pad_refuses_multi_field_samples():
    with pytest.raises(TypeError, match="Group"):
        Pad()([(np.zeros(2), 1)])


@given(
    st.lists(
        hnp.arrays(
            np.int32,
            hnp.array_shapes(min_dims=2, max_dims=2, min_side=0, max_side=5),
            elements=st.integers(-100, 100),
        ),
        min_size=1,
        max_size=6,
    ),
    st.integers(-5, 5),
    st.one_of(st.none(), st.integers(1, 4)),
)
def test_pad_round_trips(arrays, val, round_to):
    out = Pad(val=val, round_to=round_to)(arrays)
    for row, a in zip(out, arrays, strict=True):
        assert (row[: a.shape[0], : a.shape[1]] == a).all()
        mask = np.ones(row.shape, bool)
        mask[: a.shape[0], : a.shape[1]] = False
        assert (row[mask] == val).all()
    if round_to:
        assert all(n % round_to == 0 for n in out.shape[1:])


def test_append_expands_each_sample():
    out = Append()([np.zeros((2, 3)), np.ones((4, 3))])
    assert [a.shape for a in out] == [(1, 2, 3), (1, 4, 3)]
    out = Append(expand=False)([np.zeros(2)])
    assert out[0].shape == (2,)
    assert Append(batch_axis=1)([np.zeros((2, 3))])[0].shape == (2, 1, 3)


def test_group_applies_one_function_per_field():
    data = [(np.ones(3), np.ones(2), "a"), (np.zeros(1), np.zeros(2), "b")]
    padded, stacked, names = Group(Pad(), Stack(), AsList())(data)
    assert padded.shape == (2, 3) and stacked.shape == (2, 2) and names == ["a", "b"]
    assert len(Group([Pad(), Stack(), AsList()])(data)) == 3
    with pytest.raises(ValueError, match="3 fields"):
        Group(Stack(), Stack())(data)
    with pytest.raises(TypeError):
        Group(Stack(), 3)


def test_group_on_sample_columns_passes_each_column():
    x = np.arange(6).reshape(3, 2)
    out = Group(Stack(), AsList())(SampleColumns([x, ["a", "b", "c"]], as_tuple=True))
    assert out[0] is x and out[1] == ["a", "b", "c"]


def test_dict_batchifies_per_key():
    out = Dict({"a": Stack(), "b": AsList()})([{"a": 1, "b": "x", "c": 0}, {"a": 2, "b": "y"}])
    assert out["a"].tolist() == [1, 2] and out["b"] == ["x", "y"] and "c" not in out
