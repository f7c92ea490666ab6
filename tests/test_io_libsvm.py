"""LibSVMIter (MXNet's documented examples, parsing rules, parts) and NDArrayIter on CSR input."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gluondata import io

sparse = pytest.importorskip("scipy.sparse")

DATA = "1.0 0:0.5 2:1.2\n-2.0\n-3.0 0:0.6 1:2.4 2:1.2\n4 2:-1.2\n"
LABEL = "1.0\n-2.0 0:0.125\n-3.0 2:1.2\n4 1:1.0 2:-1.2\n"
DENSE = np.array([[0.5, 0, 1.2], [0, 0, 0], [0.6, 2.4, 1.2], [0, 0, -1.2]], np.float32)


@pytest.fixture
def files(tmp_path: Path) -> tuple[str, str]:
    (tmp_path / "data.t").write_text(DATA)
    (tmp_path / "label.t").write_text(LABEL)
    return str(tmp_path / "data.t"), str(tmp_path / "label.t")


def test_mxnet_documented_example(files) -> None:
    data, _ = files
    it = io.LibSVMIter(data_libsvm=data, data_shape=(3,), batch_size=3)
    first = it.next()
    assert sparse.isspmatrix_csr(first.data[0]) and first.data[0].dtype == np.float32
    np.testing.assert_array_equal(first.data[0].toarray(), DENSE[:3])
    np.testing.assert_array_equal(first.label[0], [1, -2, -3])
    assert first.pad == 0
    second = it.next()
    np.testing.assert_array_equal(second.data[0].toarray(), DENSE[[3, 0, 1]])
    np.testing.assert_array_equal(second.label[0], [4, 1, -2])
    assert second.pad == 2
    with pytest.raises(StopIteration):
        it.next()
    it.reset()  # round_batch: the next epoch continues after the borrowed rows
    np.testing.assert_array_equal(it.next().index, [2, 3, 0])
    assert it.getdata().shape == (3, 3)  # a C++ iterator in MXNet: the one array
    assert it.provide_data[0].shape == (3, 3) and it.provide_label[0].shape == (3,)


def test_label_file_gives_csr_labels(files) -> None:
    data, label = files
    it = io.LibSVMIter(data, (3,), label_libsvm=label, label_shape=(3,), batch_size=3)
    batch = it.next()
    np.testing.assert_array_equal(
        batch.label[0].toarray(), np.float32([[0, 0, 0], [0.125, 0, 0], [0, 0, 1.2]])
    )
    assert it.provide_label[0].shape == (3, 3)
    with pytest.raises(ValueError, match="larger than"):
        io.LibSVMIter(data, (3,), label_libsvm=label, batch_size=3)
    with pytest.raises(ValueError, match=r"\(1,\) without"):
        io.LibSVMIter(data, (3,), label_shape=(3,), batch_size=3)


def test_comments_blank_lines_weights_qid_and_unsorted_indices(tmp_path: Path) -> None:
    path = tmp_path / "c.t"
    path.write_text(
        "# a header comment\n\n1 2:2.0 0:1.0   # trailing comment\n   \n"
        "0:0.5 qid:7 1:3\n\t# indented comment\n2 \r\n"
    )
    it = io.LibSVMIter(str(path), (3,), batch_size=3)
    batch = it.next()
    np.testing.assert_array_equal(batch.data[0].toarray(), [[1, 0, 2], [0, 3, 0], [0, 0, 0]])
    np.testing.assert_array_equal(batch.label[0], [1, 0, 2])
    assert batch.data[0].has_sorted_indices


def test_one_based_indices_by_uri_argument_or_detection(tmp_path: Path) -> None:
    path = tmp_path / "one.t"
    path.write_text("1 1:1.0 3:3.0\n0 2:2.0\n")
    expected = [[1, 0, 3], [0, 2, 0]]
    for suffix in ("?indexing_mode=1", "?indexing_mode=-1"):
        it = io.LibSVMIter(str(path) + suffix, (3,), batch_size=2)
        np.testing.assert_array_equal(it.next().data[0].toarray(), expected)
    with pytest.raises(ValueError, match=r"line 1: feature index 3 is outside \[0, 3\)"):
        io.LibSVMIter(str(path), (3,), batch_size=2)  # zero-based by default, as MXNet


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("x 0:1", "could not convert"),
        ("1 0:1 2", "expected index:value, found '2'"),
        ("1 0:a", "could not convert"),
        ("1,2 0:1", "several labels"),
        ("1 -1:2", "outside"),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.t"
    path.write_text(f"1 0:1\n# fine\n{line}\n")
    with pytest.raises(ValueError, match=message) as info:
        io.LibSVMIter(str(path), (3,), batch_size=1)
    assert "bad.t" in str(info.value) and "line 3" in str(info.value)


def test_parts_split_bytes_and_cover_every_row_once(tmp_path: Path) -> None:
    rows = [f"{i} {i % 5}:{i}.5\n" for i in range(23)]
    path = tmp_path / "parts.t"
    path.write_text("".join(rows))
    seen = []
    for part in range(3):
        it = io.LibSVMIter(str(path), (5,), batch_size=1, num_parts=3, part_index=part)
        seen.extend(float(b.label[0][0]) for b in it)
    assert seen == list(range(23))
    # dmlc's rule: a cut at byte k*ceil(total/3) sends its line to the part before
    step = -(-len("".join(rows).encode()) // 3)
    starts = np.cumsum([0] + [len(r) for r in rows[:-1]])
    first_of_part1 = int(np.argmax(starts > step))
    it = io.LibSVMIter(str(path), (5,), batch_size=1, num_parts=3, part_index=1)
    assert float(it.next().label[0][0]) == first_of_part1


def test_folder_and_round_batch_false(tmp_path: Path) -> None:
    (tmp_path / "a.t").write_text("1 0:1\n2 1:2\n")
    (tmp_path / "b.t").write_text("3 2:3\n")
    it = io.LibSVMIter(str(tmp_path), (3,), batch_size=2, round_batch=False)
    batches = list(it)
    assert [b.pad for b in batches] == [0, 1]
    np.testing.assert_array_equal(batches[1].data[0].toarray(), [[0, 0, 3], [0, 0, 0]])
    np.testing.assert_array_equal(batches[1].label[0], [3, 0])
    with pytest.raises(FileNotFoundError, match="data_libsvm"):
        io.LibSVMIter(str(tmp_path / "missing.t"), (3,))


def test_ndarrayiter_csr_batches_equal_dense_ones() -> None:
    rng = np.random.default_rng(0)
    dense = rng.random((23, 7)).astype(np.float32)
    dense[dense < 0.6] = 0
    labels = np.arange(23, dtype=np.float32)
    csr = sparse.csr_matrix(dense)
    with pytest.raises(NotImplementedError, match="discard"):
        io.NDArrayIter(csr, labels, batch_size=5)
    sparse_it = io.NDArrayIter(csr, labels, batch_size=5, last_batch_handle="discard")
    dense_it = io.NDArrayIter(dense, labels, batch_size=5, last_batch_handle="discard")
    pairs = list(zip(sparse_it, dense_it, strict=True))
    assert len(pairs) == 23 // 5
    for s, d in pairs:
        assert sparse.issparse(s.data[0]) and s.data[0].format == "csr"
        np.testing.assert_array_equal(s.data[0].toarray(), d.data[0])
        np.testing.assert_array_equal(s.label[0], d.label[0])
    assert sparse_it.provide_data[0].shape == (5, 7)
    shuffled = io.NDArrayIter(
        csr, labels, batch_size=5, shuffle=True, last_batch_handle="discard", seed=3
    )
    for batch in shuffled:
        rows = batch.label[0].astype(int)
        np.testing.assert_array_equal(batch.data[0].toarray(), dense[rows])


def test_without_scipy_the_error_names_the_extra(files, monkeypatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "scipy.sparse", None)
    with pytest.raises(ImportError, match=r"gluondata\[sparse\]"):
        io.LibSVMIter(files[0], (3,), batch_size=3)


@settings(max_examples=20, deadline=None)
@given(
    dense=hnp.arrays(
        np.float32,
        st.tuples(st.integers(1, 6), st.integers(1, 5)),
        elements=st.sampled_from([0.0, 0.0, 1.5, -2.25, 1e-7, 3e8]),
    ),
    qid=st.booleans(),
    weight=st.booleans(),
)
def test_written_rows_read_back_exactly(tmp_path_factory, dense, qid, weight) -> None:
    path = tmp_path_factory.mktemp("svm") / "rows.t"
    lines = []
    for i, row in enumerate(dense):
        label = f"{i}:0.5" if weight else f"{i}"
        fields = [label] + (["qid:3"] if qid else [])
        # indices in decreasing order, on purpose
        fields += [f"{j}:{float(row[j])!r}" for j in np.flatnonzero(row)[::-1]]
        lines.append(" ".join(fields))
    path.write_text("\n".join(lines) + "\n")
    it = io.LibSVMIter(str(path), (dense.shape[1],), batch_size=len(dense))
    batch = it.next()
    np.testing.assert_array_equal(batch.data[0].toarray(), dense)
    np.testing.assert_array_equal(batch.label[0], np.arange(len(dense)))


@pytest.mark.parametrize("round_batch", [True, False])
def test_state_dict_resumes_with_the_same_batches(tmp_path: Path, round_batch: bool) -> None:
    lines = [f"{i % 3} {i % 7}:{i + 1} {(i * 3) % 7}:0.5" for i in range(11)]
    (tmp_path / "d.t").write_text("\n".join(lines) + "\n")
    make = functools.partial(
        io.LibSVMIter, str(tmp_path / "d.t"), (7,), batch_size=4, round_batch=round_batch
    )

    def batches(it, epochs):
        out = []
        for _ in range(epochs):
            out += [(b.data[0].toarray().tolist(), b.label[0].tolist(), b.pad) for b in it]
            it.reset()
        return out

    expected = batches(make(), 3)
    for stop in range(len(expected)):
        it, got = make(), []
        while len(got) < stop:
            for b in it:
                got.append((b.data[0].toarray().tolist(), b.label[0].tolist(), b.pad))
                if len(got) == stop:
                    break
            else:
                it.reset()
        state = json.loads(json.dumps(it.state_dict()))
        resumed = make()
        resumed.load_state_dict(state)
        rest = []
        while len(got) + len(rest) < len(expected):
            rest += [(b.data[0].toarray().tolist(), b.label[0].tolist(), b.pad) for b in resumed]
            resumed.reset()
        assert got + rest[: len(expected) - len(got)] == expected, stop
    with pytest.raises(ValueError, match="batch_size"):
        io.LibSVMIter(str(tmp_path / "d.t"), (7,), batch_size=3).load_state_dict(state)
