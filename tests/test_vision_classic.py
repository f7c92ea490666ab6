"""MNIST, FashionMNIST, CIFAR10, CIFAR100 from small files written in the official formats."""

import gzip
import hashlib
import io
import struct
import tarfile

import numpy as np
import pytest

from gluondata import DataLoader
from gluondata.vision import CIFAR10, CIFAR100, MNIST, FashionMNIST
from gluondata.vision._download import check_sha1, download, repo_file_url


def write_idx(path, array, magic, compress=True):
    header = struct.pack(f">{1 + array.ndim}I", magic, *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    if compress:
        data = gzip.compress(data)
    path.write_bytes(data)


def mnist_files(root, n=5, prefix="train", compress=True):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    suffix = ".gz" if compress else ""
    write_idx(root / f"{prefix}-images-idx3-ubyte{suffix}", images, 2051, compress)
    write_idx(root / f"{prefix}-labels-idx1-ubyte{suffix}", labels, 2049, compress)
    return images, labels


@pytest.mark.parametrize("cls", [MNIST, FashionMNIST])
def test_mnist_reads_gzip_idx_files(tmp_path, cls):
    images, labels = mnist_files(tmp_path)
    dataset = cls(tmp_path)
    assert len(dataset) == 5
    img, label = dataset[2]
    assert img.shape == (28, 28, 1) and img.dtype == np.uint8
    np.testing.assert_array_equal(img[:, :, 0], images[2])
    assert label == labels[2] and label.dtype == np.int32


def test_mnist_test_split_plain_files_and_transform(tmp_path):
    _, labels = mnist_files(tmp_path, n=3, prefix="t10k", compress=False)
    dataset = MNIST(tmp_path, train=False, transform=lambda x, y: (x.astype(np.float32) / 255, y))
    img, label = dataset[1]
    assert img.dtype == np.float32 and label == labels[1]


def test_mnist_batches_come_from_a_batched_fetch(tmp_path):
    _, labels = mnist_files(tmp_path, n=10)
    batches = list(DataLoader(MNIST(tmp_path), batch_size=4))
    assert batches[0][0].shape == (4, 28, 28, 1)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), labels)


def test_a_transform_error_in_a_batch_names_the_dataset_index(tmp_path):
    images, _ = mnist_files(tmp_path, n=6)

    def transform(img, label):
        if np.array_equal(img[:, :, 0], images[4]):
            raise RuntimeError("bad sample")
        return img, label

    dataset = MNIST(tmp_path, transform=transform)
    with pytest.raises(RuntimeError, match="bad sample") as info:
        list(DataLoader(dataset, batch_size=3))
    assert any("dataset index 4" in note for note in info.value.__notes__)


def test_mnist_wrong_magic_or_size_names_the_file(tmp_path):
    mnist_files(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(5), 2051)
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte\.gz is not an idx file"):
        MNIST(tmp_path)
    header = struct.pack(">II", 2049, 9)
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(header + bytes(5)))
    with pytest.raises(ValueError, match="promises 9 bytes"):
        MNIST(tmp_path)


def cifar_records(n, label_bytes, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 100, (n, label_bytes)).astype(np.uint8)
    pixels = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    raw = np.concatenate([labels, pixels.reshape(n, -1)], axis=1).tobytes()
    return raw, labels, pixels.transpose(0, 2, 3, 1)


def test_cifar10_concatenates_the_five_batches(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"  # the official archive's layout
    folder.mkdir()
    expected = []
    for i in range(1, 6):
        raw, labels, images = cifar_records(2, 1, i)
        (folder / f"data_batch_{i}.bin").write_bytes(raw)
        expected.append((labels[:, 0], images))
    raw, _, test_images = cifar_records(3, 1, 9)
    (tmp_path / "test_batch.bin").write_bytes(raw)
    train = CIFAR10(tmp_path)
    assert len(train) == 10
    img, label = train[7]
    assert img.shape == (32, 32, 3) and img.dtype == np.uint8 and label.dtype == np.int32
    np.testing.assert_array_equal(img, expected[3][1][1])
    assert label == expected[3][0][1]
    test = CIFAR10(tmp_path, train=False)
    np.testing.assert_array_equal(test[2][0], test_images[2])


@pytest.mark.parametrize(("fine", "column"), [(False, 0), (True, 1)])
def test_cifar100_coarse_by_default_fine_on_request(tmp_path, fine, column):
    raw, labels, images = cifar_records(4, 2, 0)
    (tmp_path / "train.bin").write_bytes(raw)
    dataset = CIFAR100(tmp_path, fine_label=fine)
    assert [int(dataset[i][1]) for i in range(4)] == labels[:, column].tolist()
    np.testing.assert_array_equal(dataset[3][0], images[3])


def test_cifar_truncated_batch_names_the_file(tmp_path):
    raw, _, _ = cifar_records(2, 2, 0)
    (tmp_path / "test.bin").write_bytes(raw[:-5])
    with pytest.raises(ValueError, match=r"test\.bin holds 6143 bytes"):
        CIFAR100(tmp_path, train=False)


def test_missing_files_are_downloaded_and_checked(tmp_path, monkeypatch):
    """The download code path, served from a file:// repository."""
    repo = tmp_path / "repo"
    archive_dir = repo / "gluon" / "dataset" / "cifar100"
    archive_dir.mkdir(parents=True)
    raw, labels, _ = cifar_records(3, 2, 1)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("cifar-100-binary/train.bin")
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))
    archive = buffer.getvalue()
    (archive_dir / "cifar-100-binary.tar.gz").write_bytes(archive)
    monkeypatch.setenv("MXNET_GLUON_REPO", repo.as_uri())
    monkeypatch.setattr(
        CIFAR100, "_archive", ("cifar-100-binary.tar.gz", hashlib.sha1(archive).hexdigest())
    )
    dataset = CIFAR100(tmp_path / "data", fine_label=True)
    assert [int(dataset[i][1]) for i in range(3)] == labels[:, 1].tolist()


def test_download_rejects_a_wrong_sha1_and_leaves_nothing(tmp_path):
    source = tmp_path / "file.bin"
    source.write_bytes(b"payload")
    with pytest.raises(OSError, match="SHA-1"):
        download(source.as_uri(), str(tmp_path / "out"), "0" * 40, retries=1)
    assert list((tmp_path / "out").iterdir()) == []
    path = download(source.as_uri(), str(tmp_path / "out"), hashlib.sha1(b"payload").hexdigest())
    assert check_sha1(path, hashlib.sha1(b"payload").hexdigest())


def test_repo_url(monkeypatch):
    monkeypatch.delenv("MXNET_GLUON_REPO", raising=False)
    assert repo_file_url("gluon/dataset/mnist", "a.gz") == (
        "https://apache-mxnet.s3-accelerate.dualstack.amazonaws.com/gluon/dataset/mnist/a.gz"
    )
