"""NDArrayIter: MXNet 1.9.1's traces for pad, discard and roll_over, shuffling, inputs."""

import numpy as np
import pytest

from gluondata import io


def trace(it, epochs=3):
    """Per epoch: [(data as ints, pad, label as ints)] with reset() between epochs."""
    out = []
    for _ in range(epochs):
        out.append(
            [(b.data[0].astype(int).tolist(), b.pad, b.label[0].astype(int).tolist()) for b in it]
        )
        it.reset()
    return out


def ten(mode, n=10, batch_size=4, **kwargs):
    return io.NDArrayIter(
        np.arange(n, dtype=np.float32),
        np.arange(n),
        batch_size=batch_size,
        last_batch_handle=mode,
        **kwargs,
    )


# Recorded with MXNet 1.9.1: NDArrayIter(arange(10), arange(10), batch_size=4, mode)
MXNET_PAD = [([0, 1, 2, 3], 0), ([4, 5, 6, 7], 0), ([8, 9, 0, 1], 2)]
MXNET_DISCARD = [([0, 1, 2, 3], 0), ([4, 5, 6, 7], 0)]
MXNET_ROLL_OVER = [
    [([0, 1, 2, 3], 0), ([4, 5, 6, 7], 0)],
    [([8, 9, 0, 1], 2), ([2, 3, 4, 5], 0), ([6, 7, 8, 9], 0)],
    [([0, 1, 2, 3], 0), ([4, 5, 6, 7], 0)],
]


def strip_labels(epochs):
    for epoch in epochs:
        for data, _, label in epoch:
            assert data == label
    return [[(data, pad) for data, pad, _ in epoch] for epoch in epochs]


def test_pad_discard_roll_over_reproduce_mxnet_over_three_epochs():
    assert strip_labels(trace(ten("pad"))) == [MXNET_PAD] * 3
    assert strip_labels(trace(ten("discard"))) == [MXNET_DISCARD] * 3
    assert strip_labels(trace(ten("roll_over"))) == MXNET_ROLL_OVER


def test_roll_over_pad_counts_the_rolled_over_examples():
    # MXNet 1.9.1, 11 examples: the third epoch starts with the two left by the second
    assert strip_labels(trace(ten("roll_over", n=11))) == [
        [([0, 1, 2, 3], 0), ([4, 5, 6, 7], 0)],
        [([8, 9, 10, 0], 3), ([1, 2, 3, 4], 0), ([5, 6, 7, 8], 0)],
        [([9, 10, 0, 1], 2), ([2, 3, 4, 5], 0), ([6, 7, 8, 9], 0)],
    ]


def test_pad_tiles_a_dataset_smaller_than_the_batch():
    it = io.NDArrayIter(np.arange(3, dtype=np.float32), batch_size=8)
    assert [(b.data[0].astype(int).tolist(), b.pad) for b in it] == [([0, 1, 2, 0, 1, 2, 0, 1], 5)]


def test_no_second_pass_without_reset_and_hard_reset_drops_the_roll_over():
    it = ten("pad")
    assert len(list(it)) == 3 and list(it) == []
    it = ten("roll_over")
    list(it)
    it.hard_reset()
    assert [b.pad for b in it] == [0, 0]


def test_fine_protocol_gives_the_pad_of_a_short_last_batch():
    it = io.NDArrayIter(np.arange(5, dtype=np.float32), batch_size=2)
    pads = []
    while it.iter_next():
        data = it.getdata()[0]
        pads.append((data.tolist(), it.getpad()))
    assert pads == [([0, 1], 0), ([2, 3], 0), ([4, 0], 1)]
    assert it.getindex() is None


def test_global_shuffle_reproduces_mxnet_order():
    # MXNet 1.9.1 after np.random.seed(3): NDArrayIter(arange(10), 4, shuffle=True, 'roll_over')
    np.random.seed(3)
    it = io.NDArrayIter(np.arange(10), batch_size=4, shuffle=True, last_batch_handle="roll_over")
    epochs = []
    for _ in range(3):
        epochs.append([(b.data[0].tolist(), b.pad) for b in it])
        it.reset()
    assert epochs == [
        [([5, 4, 1, 2], 0), ([9, 6, 7, 0], 0)],
        [([3, 8, 1, 2], 2), ([4, 9, 3, 8], 0), ([6, 0, 5, 7], 0)],
        [([4, 7, 1, 3], 0), ([6, 5, 0, 2], 0)],
    ]


def test_seeded_shuffle_is_reproducible_and_keeps_data_with_labels():
    def epochs(seed):
        it = io.NDArrayIter(
            np.arange(20) * 10, np.arange(20), batch_size=5, shuffle=True, seed=seed
        )
        out = []
        for _ in range(2):
            batches = list(it)
            for b in batches:
                assert (b.data[0] == b.label[0] * 10).all()
            out.append(np.concatenate([b.label[0] for b in batches]).tolist())
            it.reset()
        return out

    first, again, other = epochs(7), epochs(7), epochs(8)
    assert first == again and first != other
    assert sorted(first[0]) == list(range(20)) and first[0] != first[1]


def test_mxnet_unit_test_counts():
    # MXNet's test_NDArrayIter: 1000 examples, batch 128
    data = np.ones((1000, 2, 2))
    labels = np.arange(1000) // 100
    counts = {}
    for mode in ("pad", "discard", "roll_over"):
        it = io.NDArrayIter(data, labels, 128, last_batch_handle=mode)
        batches = list(it)
        counts[mode] = len(batches)
        seen = np.concatenate([b.label[0] for b in batches])
        if mode == "pad":
            assert (seen == 0).sum() == 124 and (seen == 8).sum() == 100
        else:
            assert (seen == 0).sum() == 100 and (seen == 8).sum() == 96
        if mode == "roll_over":
            it.reset()
            first = it.next()
            assert first.pad == 104 and first.label[0][:104].tolist() == labels[896:].tolist()
    assert counts == {"pad": 8, "discard": 7, "roll_over": 7}


def test_inputs_lists_dicts_names_and_dtypes():
    it = io.NDArrayIter(
        {"b": np.zeros((5, 2)), "a": np.ones((5, 3), dtype=np.int32)},
        [np.zeros(5), np.ones(5)],
        batch_size=2,
    )
    assert it.provide_data == [("a", (2, 3)), ("b", (2, 2))]
    assert [d.dtype for d in it.provide_data] == [np.int32, np.float64]
    assert it.provide_label == [("_0_softmax_label", (2,)), ("_1_softmax_label", (2,))]
    batch = it.next()
    assert batch.data[0].dtype == np.int32 and batch.data[0].shape == (2, 3)
    many = io.NDArrayIter([np.zeros(4)] * 12, batch_size=2)
    assert [d.name for d in many.provide_data][:4] == ["_0_data", "_10_data", "_11_data", "_1_data"]
    plain = io.NDArrayIter([[1, 2], [3, 4]], batch_size=1, data_name="x")
    assert [d.name for d in plain.provide_data] == ["_0_x", "_1_x"]  # a list is a list of sources
    unlabelled = io.NDArrayIter(np.zeros((3, 1)), batch_size=3)
    assert unlabelled.provide_label == [] and unlabelled.next().label == []


def test_layout_puts_the_batch_axis_where_n_is():
    seqs = np.arange(5 * 7).reshape(5, 7)  # (T, N)
    it = io.NDArrayIter(seqs, batch_size=3, layout="TN", last_batch_handle="discard")
    assert it.provide_data[0].shape == (5, 3) and it.provide_data[0].layout == "TN"
    assert it.next().data[0].tolist() == seqs[:, :3].tolist()


def test_batches_are_copies_of_the_source():
    source = np.zeros((4, 2))
    batch = io.NDArrayIter(source, batch_size=2).next()
    batch.data[0] += 1
    assert not source.any()


def test_memory_maps_are_read_batch_by_batch(tmp_path):
    np.save(tmp_path / "x.npy", np.arange(12, dtype=np.float32).reshape(6, 2))
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    it = io.NDArrayIter(mapped, batch_size=4, last_batch_handle="discard")
    assert it.data[0][1] is mapped
    assert it.next().data[0].tolist() == [[0, 1], [2, 3], [4, 5], [6, 7]]


def test_errors():
    with pytest.raises(ValueError, match="last_batch_handle"):
        io.NDArrayIter(np.zeros(4), last_batch_handle="keep")
    with pytest.raises(ValueError, match="differ in length"):
        io.NDArrayIter(np.zeros(4), np.zeros(5))
    with pytest.raises(ValueError, match="roll_over"):
        io.NDArrayIter(np.zeros(3), batch_size=4, last_batch_handle="roll_over")
    with pytest.raises(ValueError, match="batch axis"):
        io.NDArrayIter(np.zeros(3), layout="CHW")
    with pytest.raises(TypeError, match="Python objects"):
        io.NDArrayIter(np.array([object(), object()]))
    with pytest.raises(ValueError, match="needs data"):
        io.NDArrayIter(None)
