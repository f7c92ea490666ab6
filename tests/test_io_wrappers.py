"""ResizeIter, PrefetchingIter and DataLoaderIter: MXNet 1.9.1's traces and the edge cases."""

import threading

import numpy as np
import pytest

from gluondata import ArrayDataset, DataLoader, io


def five(batch_size=2, **kwargs):
    return io.NDArrayIter(np.arange(5, dtype=np.float32), batch_size=batch_size, **kwargs)


def trace(it, epochs):
    out = []
    for _ in range(epochs):
        out.append([(b.data[0].astype(int).tolist(), b.pad) for b in it])
        it.reset()
    return out


def test_resize_iter_reproduces_mxnet():
    # MXNet 1.9.1: 5 examples, batch 2, size 5 -> wraps around the inner iterator
    assert (
        trace(io.ResizeIter(five(), 5), 2)
        == [[([0, 1], 0), ([2, 3], 0), ([4, 0], 1), ([0, 1], 0), ([2, 3], 0)]] * 2
    )
    # reset_internal=False: each epoch continues where the last stopped
    assert trace(io.ResizeIter(five(), 4, reset_internal=False), 3) == [
        [([0, 1], 0), ([2, 3], 0), ([4, 0], 1), ([0, 1], 0)],
        [([2, 3], 0), ([4, 0], 1), ([0, 1], 0), ([2, 3], 0)],
        [([4, 0], 1), ([0, 1], 0), ([2, 3], 0), ([4, 0], 1)],
    ]


def test_resize_iter_copies_the_descriptions_and_the_fine_protocol_works():
    inner = five()
    inner.default_bucket_key = 7
    resized = io.ResizeIter(inner, 2)
    assert resized.provide_data == inner.provide_data and resized.batch_size == 2
    assert resized.default_bucket_key == 7
    assert resized.iter_next() and resized.getdata()[0].tolist() == [0, 1]
    assert resized.getpad() == 0 and resized.getlabel() == [] and resized.getindex() is None


def test_prefetching_iter_reproduces_mxnet():
    first = io.NDArrayIter({"d1": np.arange(5, dtype=np.float32)}, {"l1": np.arange(5)}, 2)
    second = io.NDArrayIter({"d2": np.arange(5, 10, dtype=np.float32)}, batch_size=2)
    it = io.PrefetchingIter([first, second], rename_data=[{"d1": "x1"}, {"d2": "x2"}])
    assert it.provide_data == [("x1", (2,)), ("x2", (2,))]
    assert it.provide_label == [("l1", (2,))] and it.batch_size == 2
    expected = [
        ([[0, 1], [5, 6]], [[0, 1]], 0),
        ([[2, 3], [7, 8]], [[2, 3]], 0),
        ([[4, 0], [9, 5]], [[4, 0]], 1),
    ]
    for _ in range(2):
        got = [
            (
                [d.astype(int).tolist() for d in b.data],
                [lab.astype(int).tolist() for lab in b.label],
                b.pad,
            )
            for b in it
        ]
        assert got == expected
        it.reset()
    batch = it.next()
    assert batch.provide_data == it.provide_data
    it.close()


def test_prefetching_iter_reads_ahead_in_a_thread():
    class Recorder(io.DataIter):
        def __init__(self):
            super().__init__(1)
            self.threads = set()
            self.count = 0

        def next(self):
            self.threads.add(threading.current_thread().name)
            self.count += 1
            if self.count > 3:
                raise StopIteration
            return io.DataBatch([np.full(1, self.count)], [])

    inner = Recorder()
    it = io.PrefetchingIter(inner)
    assert [b.data[0][0] for b in it] == [1, 2, 3]
    assert inner.threads == {"gluondata-prefetch-0"}
    it.close()
    assert not any(t.name == "gluondata-prefetch-0" for t in threading.enumerate())


def test_prefetching_iter_errors_reach_the_caller():
    class Broken(io.DataIter):
        def __init__(self):
            self.provide_data = [("data", (1,))]

        def next(self):
            raise OSError("disk on fire")

    it = io.PrefetchingIter(Broken())
    with pytest.raises(OSError, match="disk on fire"):
        it.next()
    assert list(it) == []  # the epoch ended with the error
    mismatched = io.PrefetchingIter([five(), five(batch_size=2, last_batch_handle="discard")])
    with pytest.raises(ValueError, match=r"do not line up|different lengths"):
        list(mismatched)
    mismatched.close()


def test_data_loader_iter_gives_data_batches():
    x, y = np.arange(10).reshape(5, 2), np.arange(5)
    it = io.DataLoaderIter(DataLoader(ArrayDataset(x, y), batch_size=2))
    assert it.batch_size == 2
    assert it.provide_data == [("data", (2, 2))] and it.provide_label == [("softmax_label", (2,))]
    assert it.provide_data[0].dtype == x.dtype.type
    for _ in range(2):
        got = [(b.data[0].tolist(), b.label[0].tolist(), b.pad) for b in it]
        # the short last batch is completed with its own examples and counted by pad
        assert got == [([[0, 1], [2, 3]], [0, 1], 0), ([[4, 5], [6, 7]], [2, 3], 0),
                       ([[8, 9], [8, 9]], [4, 4], 1)]  # fmt: skip
        it.reset()


def test_data_loader_iter_peeks_without_losing_the_first_batch():
    loader = DataLoader(ArrayDataset(np.arange(6)), batch_size=3, shuffle=True, seed=1)
    it = io.DataLoaderIter(loader, data_name="x")
    assert it.provide_data == [("x", (3,))] and it.provide_label == []
    it.reset()  # before the first batch: nothing is lost
    values = sorted(v for b in it for v in b.data[0].tolist())
    assert values == list(range(6))


def test_data_loader_iter_splits_tuples_and_dicts_by_name():
    def sample(i):
        return {"img": np.full(2, i), "mask": np.full(3, -i), "weight": float(i)}

    it = io.DataLoaderIter(
        DataLoader([sample(i) for i in range(4)], batch_size=2), data_name=["img", "mask"]
    )
    batch = it.next()
    assert [d.shape for d in batch.data] == [(2, 2), (2, 3)]
    assert [lab.tolist() for lab in batch.label] == [[0.0, 1.0]]
    assert it.provide_label == [("softmax_label", (2,))]
    triples = io.DataLoaderIter(
        DataLoader(ArrayDataset(np.zeros((4, 1)), np.ones(4), np.arange(4)), batch_size=4)
    )
    assert [d.name for d in triples.provide_label] == ["_0_softmax_label", "_1_softmax_label"]
    with pytest.raises(ValueError, match="label names"):
        io.DataLoaderIter(
            DataLoader(ArrayDataset(np.zeros((4, 1)), np.ones(4)), batch_size=4),
            label_name=["a", "b"],
        ).next()
