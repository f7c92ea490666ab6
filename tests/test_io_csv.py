"""CSVIter: MXNet 1.9.1's round_batch traces, dtypes, folders, errors, flat memory."""

import tracemalloc

import numpy as np
import pytest

from gluondata import io
from gluondata.io import _csv as _io_csv


@pytest.fixture
def five(tmp_path):
    """MXNet's probe files: 5 rows ``i, i + 0.5, 10 i`` and labels ``100 i``."""
    (tmp_path / "d.csv").write_text("".join(f"{i},{i + 0.5},{i * 10}\n" for i in range(5)))
    (tmp_path / "l.csv").write_text("".join(f"{i * 100}\n" for i in range(5)))
    return tmp_path


def trace(it, epochs=3):
    out = []
    for _ in range(epochs):
        out.append([(b.data[0][:, 0].astype(int).tolist(), b.pad) for b in it])
        it.reset()
    return out


def test_round_batch_reproduces_mxnet(five):
    it = io.CSVIter(
        data_csv=str(five / "d.csv"), data_shape=(3,), label_csv=str(five / "l.csv"), batch_size=2
    )
    assert it.provide_data == [("data", (2, 3))] and it.provide_label == [("softmax_label", (2,))]
    # MXNet 1.9.1: the last batch borrows row 0; the next epoch starts after it
    assert trace(it) == [
        [([0, 1], 0), ([2, 3], 0), ([4, 0], 1)],
        [([1, 2], 0), ([3, 4], 0)],
        [([0, 1], 0), ([2, 3], 0), ([4, 0], 1)],
    ]
    first = io.CSVIter(
        data_csv=str(five / "d.csv"), data_shape=(3,), label_csv=str(five / "l.csv"), batch_size=2
    ).next()
    assert first.data[0].tolist() == [[0, 0.5, 0], [1, 1.5, 10]]
    assert first.label[0].tolist() == [0, 100] and first.index.tolist() == [0, 1]
    assert first.data[0].dtype == np.float32


def test_without_round_batch_the_last_batch_is_padded(five):
    it = io.CSVIter(
        data_csv=str(five / "d.csv"),
        data_shape=(3,),
        label_csv=str(five / "l.csv"),
        batch_size=2,
        round_batch=False,
    )
    # MXNet 1.9.1: [row 4, <stale row 3>] with pad 1 in every epoch; here the padding is zeros
    assert trace(it) == [[([0, 1], 0), ([2, 3], 0), ([4, 0], 1)]] * 3
    it.reset()
    last = list(it)[-1]
    assert last.data[0].tolist() == [[4, 4.5, 40], [0, 0, 0]]
    assert last.label[0].tolist() == [400, 0] and last.index.tolist() == [4, -1]


def test_round_batch_wraps_a_batch_larger_than_the_file_once(five):
    it = io.CSVIter(data_csv=str(five / "d.csv"), data_shape=(1, 3), batch_size=7)
    (batch,) = list(it)
    assert batch.pad == 2 and batch.data[0].shape == (7, 1, 3)
    assert batch.data[0][:, 0, 0].tolist() == [0, 1, 2, 3, 4, 0, 1]
    with pytest.raises(ValueError, match="fewer than the 10 needed"):
        next(io.CSVIter(data_csv=str(five / "d.csv"), data_shape=(3,), batch_size=15))


def test_dtypes_shapes_and_default_labels(five):
    (five / "l2.csv").write_text("".join(f"{i},{-i}\n" for i in range(5)))
    it = io.CSVIter(
        data_csv=str(five / "d.csv"),
        data_shape=(3,),
        label_csv=str(five / "l2.csv"),
        label_shape=(2,),
        batch_size=2,
        dtype="int64",
    )
    assert it.provide_label == [("softmax_label", (2, 2))]
    batch = it.next()
    assert batch.data[0].dtype == np.int64 and batch.data[0].tolist() == [[0, 0, 0], [1, 1, 10]]
    assert batch.label[0].tolist() == [[0, 0], [1, -1]]
    unlabelled = io.CSVIter(data_csv=str(five / "d.csv"), data_shape=(3,), batch_size=2)
    assert unlabelled.next().label[0].tolist() == [0, 0]
    assert (
        io.CSVIter(data_csv=str(five / "d.csv"), data_shape=(3,), batch_size=2, dtype="int32")
        .next()
        .data[0]
        .dtype
        == np.int32
    )


def test_a_folder_is_read_file_after_file(tmp_path):
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "a.csv").write_text("1,2\n3,4\n")
    (tmp_path / "parts" / "b.csv").write_text("5,6")  # no final newline
    it = io.CSVIter(data_csv=str(tmp_path / "parts"), data_shape=(2,), batch_size=2)
    assert [b.data[0].tolist() for b in it] == [[[1, 2], [3, 4]], [[5, 6], [1, 2]]]


def test_blank_lines_spaces_and_trailing_commas_are_accepted(tmp_path):
    (tmp_path / "odd.csv").write_text(" 1 , 2\n\n3,4,\n")
    it = io.CSVIter(data_csv=str(tmp_path / "odd.csv"), data_shape=(2,), batch_size=1)
    assert [b.data[0].tolist() for b in it] == [[[1, 2]], [[3, 4]]]


def test_bad_rows_are_errors_naming_the_line(tmp_path):
    (tmp_path / "bad.csv").write_text("1,2,3\n\n4,x,6\n")
    with pytest.raises(ValueError, match=r"bad.csv'?: line 3: expected a number in column 2"):
        list(io.CSVIter(data_csv=str(tmp_path / "bad.csv"), data_shape=(3,), batch_size=1))
    (tmp_path / "short.csv").write_text("1,2,3\n4,6\n")
    with pytest.raises(ValueError, match=r"line 2: expected 3 comma-separated values.*found 2"):
        list(io.CSVIter(data_csv=str(tmp_path / "short.csv"), data_shape=(3,), batch_size=1))
    (tmp_path / "latin.csv").write_bytes(b"1,2,3\n4,\xe9,6\n")
    with pytest.raises(ValueError, match=r"line 2: expected UTF-8 text"):
        list(io.CSVIter(data_csv=str(tmp_path / "latin.csv"), data_shape=(3,), batch_size=1))
    (tmp_path / "wide.csv").write_text("1,2,3,4\n")
    with pytest.raises(ValueError, match=r"line 1: expected 3 .*found 4"):
        list(io.CSVIter(data_csv=str(tmp_path / "wide.csv"), data_shape=(3,), batch_size=1))


def test_label_rows_must_match_data_rows(five):
    (five / "three.csv").write_text("7\n8\n9\n")
    with pytest.raises(ValueError, match=r"three.csv' ends after 3 rows, before data_csv"):
        list(
            io.CSVIter(
                data_csv=str(five / "d.csv"),
                data_shape=(3,),
                label_csv=str(five / "three.csv"),
                batch_size=2,
            )
        )
    with pytest.raises(ValueError, match=r"d.csv' has more rows than the 3 of data_csv"):
        list(
            io.CSVIter(
                data_csv=str(five / "three.csv"),
                data_shape=(1,),
                label_csv=str(five / "d.csv"),
                label_shape=(3,),
                batch_size=2,
            )
        )
    with pytest.raises(FileNotFoundError, match="data_csv"):
        io.CSVIter(data_csv=str(five / "missing.csv"), data_shape=(1,))


def test_chunk_boundaries_do_not_change_the_rows(tmp_path, monkeypatch):
    rows = np.random.default_rng(0).uniform(-1e3, 1e3, (257, 5)).round(3)
    np.savetxt(tmp_path / "r.csv", rows, delimiter=",", fmt="%.3f")
    monkeypatch.setattr(_io_csv, "CHUNK_BYTES", 37)  # smaller than a line, not aligned to lines
    it = io.CSVIter(data_csv=str(tmp_path / "r.csv"), data_shape=(5,), batch_size=10)
    got = np.concatenate([b.data[0][: 10 - b.pad] for b in it])
    np.testing.assert_allclose(got, rows.astype(np.float32))


def test_streams_a_file_much_larger_than_the_memory_it_uses(tmp_path):
    path = tmp_path / "big.csv"
    block = "".join(f"{i % 97},{i % 13}.5,{i},{-i},0.25,1e3,7,8\n" for i in range(20000))
    with open(path, "w") as f:
        for _ in range(16):
            f.write(block)
    size = path.stat().st_size
    assert size > 10_000_000
    it = io.CSVIter(data_csv=str(path), data_shape=(8,), batch_size=500)
    tracemalloc.start()
    try:
        rows = total = 0
        for batch in it:
            rows += 500 - batch.pad
            total += float(batch.data[0][:, 2].sum())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows == 320000
    assert total == 16 * sum(range(20000))
    assert peak < size / 3, f"peak {peak / 2**20:.1f} MiB while reading {size / 2**20:.1f} MiB"
