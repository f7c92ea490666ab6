"""DataDesc, DataBatch and the DataIter protocol (``mx.io``'s base classes)."""

import pickle

import numpy as np
import pytest

from gluondata import io


def test_datadesc_is_a_name_shape_tuple_with_dtype_and_layout():
    desc = io.DataDesc("x", (2, 3))
    assert desc == ("x", (2, 3))
    name, shape = desc
    assert (name, shape) == ("x", (2, 3))
    assert desc.dtype is np.float32 and desc.layout == "NCHW"
    assert repr(desc) == "DataDesc[x,(2, 3),<class 'numpy.float32'>,NCHW]"
    ntc = io.DataDesc("seq", [4, 8, 2], "int32", layout="TNC")
    assert ntc.shape == (4, 8, 2) and ntc.dtype == "int32" and ntc.layout == "TNC"
    copy = pickle.loads(pickle.dumps(ntc))
    assert copy == ntc and copy.dtype == "int32" and copy.layout == "TNC"


def test_datadesc_helpers():
    assert io.DataDesc.get_batch_axis(None) == 0
    assert io.DataDesc.get_batch_axis("NCHW") == 0
    assert io.DataDesc.get_batch_axis("TNC") == 1
    descs = io.DataDesc.get_list([("a", (1, 2)), ("b", (3,))], [("a", np.int8), ("b", np.float64)])
    assert descs == [("a", (1, 2)), ("b", (3,))]
    assert [d.dtype for d in descs] == [np.int8, np.float64]
    assert io.DataDesc.get_list([("a", (1,))], None)[0].dtype is np.float32


def test_databatch_str_and_checks():
    batch = io.DataBatch([np.zeros((2, 3)), np.zeros((2, 2))], [np.zeros(2)])
    assert str(batch) == "DataBatch: data shapes: [(2, 3), (2, 2)] label shapes: [(2,)]"
    assert str(io.DataBatch([np.zeros((2, 3))])) == (
        "DataBatch: data shapes: [(2, 3)] label shapes: None"
    )
    assert batch.pad is None and batch.index is None and batch.bucket_key is None
    with pytest.raises(TypeError, match="list of arrays"):
        io.DataBatch(np.zeros(3))
    with pytest.raises(TypeError, match="list of arrays"):
        io.DataBatch([np.zeros(3)], label=np.zeros(3))


class Countdown(io.DataIter):
    """The fine-grained protocol: iter_next + getdata/getlabel/getpad."""

    def __init__(self, batches):
        super().__init__(batch_size=2)
        self.batches = batches
        self.reset()

    def reset(self):
        self.left = self.batches

    def iter_next(self):
        self.left -= 1
        return self.left >= 0

    def getdata(self):
        return [np.full((2, 1), self.left)]

    def getlabel(self):
        return [np.full(2, -self.left)]

    def getpad(self):
        return 1 if self.left == 0 else 0


def test_dataiter_builds_batches_from_the_fine_protocol():
    it = Countdown(3)
    assert iter(it) is it
    batches = list(it)
    assert [b.data[0][0, 0] for b in batches] == [2, 1, 0]
    assert [b.label[0][0] for b in batches] == [-2, -1, 0]
    assert [b.pad for b in batches] == [0, 0, 1]
    assert all(b.index is None for b in batches)
    assert list(it) == []  # the epoch is over until reset()
    it.reset()
    assert len(list(it)) == 3


class Tutorial(io.DataIter):
    """MXNet's tutorial iterator: no super().__init__, properties, next/reset only."""

    def __init__(self, num_batches):
        self._provide_data = [("data", (4, 3))]
        self._provide_label = [("softmax_label", (4,))]
        self.num_batches = num_batches
        self.cur_batch = 0

    def __iter__(self):
        return self

    def reset(self):
        self.cur_batch = 0

    def __next__(self):
        return self.next()

    @property
    def provide_data(self):
        return self._provide_data

    @property
    def provide_label(self):
        return self._provide_label

    def next(self):
        if self.cur_batch < self.num_batches:
            self.cur_batch += 1
            return io.DataBatch([np.ones((4, 3))], [np.zeros(4)])
        raise StopIteration


def test_a_tutorial_subclass_works_and_wraps():
    it = Tutorial(3)
    assert it.batch_size == 0  # a class default, as the tutorial never sets it
    assert len(list(it)) == 3 and list(it) == []
    resized = io.ResizeIter(it, 5)
    assert resized.provide_data == [("data", (4, 3))]
    assert len(list(resized)) == 5  # wraps around the inner iterator


def test_provide_data_can_be_assigned():
    it = io.DataIter(batch_size=8)
    assert it.provide_data == [] and it.provide_label == []
    it.provide_data = [io.DataDesc("data", (8, 2))]
    assert it.provide_data[0].shape == (8, 2)
    assert it.iter_next() is False and it.getpad() is None and it.getindex() is None
    with pytest.raises(StopIteration):
        it.next()


@pytest.mark.parametrize(
    "make",
    [
        lambda size: io.NDArrayIter(np.zeros((4, 2)), batch_size=size),
        lambda size: io.CSVIter(data_csv="never-read.csv", data_shape=(2,), batch_size=size),
        lambda size: io.LibSVMIter(data_libsvm="never-read.t", data_shape=(2,), batch_size=size),
        lambda size: io.MNISTIter(image="never-read", label="never-read", batch_size=size),
    ],
    ids=["NDArrayIter", "CSVIter", "LibSVMIter", "MNISTIter"],
)
@pytest.mark.parametrize("size", [0, -3])
def test_the_iterators_refuse_a_batch_size_below_one_before_reading(make, size):
    with pytest.raises(ValueError, match=f"batch_size must be positive, got {size}"):
        make(size)
