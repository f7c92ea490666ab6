"""MNISTIter: idx-ubyte files to batches, as MXNet's C++ iterator."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from gluondata import io


def _write_idx(path: Path, array: np.ndarray, magic: int) -> None:
    header = struct.pack(f">{1 + array.ndim}I", magic, *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


@pytest.fixture
def mnist(tmp_path: Path) -> tuple[str, str, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (50, 6, 5), dtype=np.uint8)
    labels = (np.arange(50) % 10).astype(np.uint8)
    _write_idx(tmp_path / "images-idx3-ubyte", images, 2051)
    _write_idx(tmp_path / "labels-idx1-ubyte.gz", labels, 2049)
    image, label = tmp_path / "images-idx3-ubyte", tmp_path / "labels-idx1-ubyte.gz"
    return str(image), str(label), images, labels


def test_batches_shapes_scale_and_single_arrays(mnist) -> None:
    image, label, images, labels = mnist
    it = io.MNISTIter(image=image, label=label, batch_size=16, shuffle=False)
    batches = list(it)
    assert len(batches) == 3  # 50 // 16: the short last batch is dropped
    first = batches[0]
    assert first.data[0].shape == (16, 1, 6, 5) and first.data[0].dtype == np.float32
    np.testing.assert_array_equal(first.data[0][:, 0], images[:16] / np.float32(256))
    np.testing.assert_array_equal(first.label[0], labels[:16])
    assert it.provide_data[0].shape == (16, 1, 6, 5) and it.provide_label[0].shape == (16,)
    it.reset()
    assert it.iter_next() and it.getdata().shape == (16, 1, 6, 5)  # the one array
    assert it.getlabel().shape == (16,)
    flat = io.MNISTIter(image=image, label=label, batch_size=10, flat=True, shuffle=False)
    assert flat.next().data[0].shape == (10, 30)


def test_shuffle_once_by_seed_and_data_matches_labels(mnist) -> None:
    image, label, images, labels = mnist
    it = io.MNISTIter(image=image, label=label, batch_size=10, seed=3)
    epoch1 = [b.index for b in it]
    it.reset()
    epoch2 = [(b.index, b.data[0], b.label[0]) for b in it]
    for first, (index, data, label_batch) in zip(epoch1, epoch2, strict=True):
        np.testing.assert_array_equal(first, index)  # MXNet shuffles once, at creation
        np.testing.assert_array_equal(data[:, 0], images[index] / np.float32(256))
        np.testing.assert_array_equal(label_batch, labels[index])
    assert not np.array_equal(np.concatenate(epoch1), np.arange(50))
    again = io.MNISTIter(image=image, label=label, batch_size=10, seed=3)
    np.testing.assert_array_equal(again.next().index, epoch1[0])


def test_parts_and_errors(mnist, tmp_path: Path) -> None:
    image, label, _, labels = mnist
    seen = []
    for part in range(3):
        it = io.MNISTIter(image, label, batch_size=1, shuffle=False, num_parts=3, part_index=part)
        seen.append([int(b.label[0][0]) for b in it])
    assert [len(s) for s in seen] == [16, 17, 17]  # int(50/3*k) bounds: 0, 16, 33, 50
    assert [x for part in seen for x in part] == labels.tolist()
    with pytest.raises(ValueError, match="part_index"):
        io.MNISTIter(image, label, num_parts=2, part_index=2)
    with pytest.raises(ValueError, match="not an idx file"):
        io.MNISTIter(image=label, label=label)
    with pytest.raises(ValueError, match="cannot read"):
        io.MNISTIter(image=str(tmp_path / "missing"), label=label)
