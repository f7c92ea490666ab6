"""Small differences from MXNet 1.9.1 that user code trips over (issue 13's first items)."""

import warnings

import numpy as np
import pytest

from gluondata import io, recordio


def write_records(tmp_path, keys, key_type=int):
    idx, rec = tmp_path / "r.idx", tmp_path / "r.rec"
    with recordio.MXIndexedRecordIO(idx, rec, "w", key_type=key_type) as writer:
        for n, key in enumerate(keys):
            writer.write_idx(key, f"record {n}".encode())
    return idx, rec


def test_csv_iter_getdata_and_getlabel_are_single_arrays_as_in_mxnet(tmp_path):
    (tmp_path / "d.csv").write_text("1,2\n3,4\n5,6\n")
    (tmp_path / "l.csv").write_text("0\n1\n2\n")
    it = io.CSVIter(
        data_csv=str(tmp_path / "d.csv"),
        data_shape=(2,),
        label_csv=str(tmp_path / "l.csv"),
        batch_size=2,
    )
    assert it.iter_next()
    data, label = it.getdata(), it.getlabel()
    assert isinstance(data, np.ndarray) and data.shape == (2, 2)
    assert isinstance(label, np.ndarray) and label.tolist() == [0, 1]
    batch = next(iter(io.CSVIter(data_csv=str(tmp_path / "d.csv"), data_shape=(2,), batch_size=2)))
    assert isinstance(batch.data, list) and batch.data[0].shape == (2, 2)  # a batch keeps lists


def test_python_iterators_keep_lists():
    it = io.NDArrayIter(np.arange(6.0).reshape(3, 2), np.arange(3), batch_size=2)
    assert it.iter_next()
    assert isinstance(it.getdata(), list) and isinstance(it.getlabel(), list)
    resized = io.ResizeIter(io.NDArrayIter(np.arange(4.0), batch_size=2), 1)
    assert resized.iter_next() and isinstance(resized.getdata(), list)


def test_a_batch_without_pad_has_pad_none():
    assert io.DataBatch([np.zeros(2)]).pad is None
    assert io.DataBatch([np.zeros(2)], pad=1).pad == 1


@pytest.mark.parametrize(("keys", "key_type"), [([4, 0, 9], int), (["cat", "dog"], str)])
def test_record_keys_are_plain_python_objects(tmp_path, keys, key_type):
    idx, rec = write_records(tmp_path, keys, key_type)
    reader = recordio.MXIndexedRecordIO(idx, rec, "r", key_type=key_type)
    assert reader.keys == keys and list(reader.keys) == keys
    assert all(type(k) is key_type for k in reader.keys)
    assert type(reader.keys[0]) is key_type and reader.keys[-1] == keys[-1]
    assert keys[1] in reader.keys and reader.read_idx(reader.keys[1]) == b"record 1"
    assert np.asarray(reader.keys).tolist() == keys


def test_a_repeated_key_warns_with_both_lines_and_the_last_one_wins(tmp_path):
    idx, rec = write_records(tmp_path, [7, 3, 7, 5])
    with pytest.warns(UserWarning, match=r"r\.idx: key 7 appears on line 1 and again on line 3"):
        reader = recordio.MXIndexedRecordIO(idx, rec, "r")
    assert reader.read_idx(7) == b"record 2"
    assert reader.keys == [7, 3, 7, 5]


def test_an_index_without_repeats_says_nothing(tmp_path):
    idx, rec = write_records(tmp_path, [2, 0, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        recordio.MXIndexedRecordIO(idx, rec, "r")


def test_an_empty_index_beside_records_warns(tmp_path):
    idx, rec = write_records(tmp_path, [0, 1])
    idx.write_text("")
    with pytest.warns(UserWarning, match=r"r\.idx is empty but .*r\.rec holds \d+ bytes"):
        reader = recordio.MXIndexedRecordIO(idx, rec, "r")
    assert len(reader.keys) == 0


@pytest.mark.parametrize("indexed", [False, True])
def test_a_directory_as_the_rec_path_is_named_as_such(tmp_path, indexed):
    folder = tmp_path / "data.rec"
    folder.mkdir()
    with pytest.raises(IsADirectoryError, match=r"data\.rec is a directory, not a RecordIO"):
        if indexed:
            recordio.MXIndexedRecordIO(tmp_path / "data.idx", folder, "r")
        else:
            recordio.MXRecordIO(folder, "r")


def test_image_record_iter_getdata_is_a_single_array(tmp_path):
    from io import BytesIO

    from PIL import Image

    idx, rec = tmp_path / "i.idx", tmp_path / "i.rec"
    with recordio.MXIndexedRecordIO(idx, rec, "w") as writer:
        for i in range(2):
            jpeg = BytesIO()
            Image.new("RGB", (20, 20), (i * 50, 10, 10)).save(jpeg, "JPEG")
            writer.write_idx(
                i, recordio.pack(recordio.IRHeader(0, float(i), i, 0), jpeg.getvalue())
            )
    it = io.ImageRecordIter(
        path_imgrec=str(rec),
        path_imgidx=str(idx),
        data_shape=(3, 16, 16),
        batch_size=2,
        preprocess_threads=0,
    )
    assert it.iter_next()
    assert it.getdata().shape == (2, 3, 16, 16) and it.getlabel().tolist() == [0.0, 1.0]
