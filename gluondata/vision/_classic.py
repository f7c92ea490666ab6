"""MNIST, FashionMNIST, CIFAR10 and CIFAR100 from their official files.

The files are read from ``root`` (gzip or plain idx-ubyte for MNIST, the
binary batches for CIFAR); missing ones are downloaded from MXNet's
repository (``$MXNET_GLUON_REPO``) and checked against their SHA-1. Files
already present are used as they are. The whole dataset is two numpy arrays
(images ``(N, H, W, C)`` uint8 and labels int32), shared by forked workers.
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._loader.columns import SampleColumns
from ..dataset import Dataset
from ..image._idx import IDX_IMAGES, IDX_LABELS, read_idx
from ._download import data_dir, download, repo_file_url
from ._encoded import per_sample

__all__ = ["CIFAR10", "CIFAR100", "MNIST", "FashionMNIST"]

FileSpec = tuple[str, str]  # (file name, SHA-1)


class _DownloadedDataset(Dataset):
    """``(data[i], label[i])`` from arrays loaded once; ``transform(data, label)`` if given."""

    _namespace = ""

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        train: bool = True,
        transform: Callable[..., Any] | None = None,
    ) -> None:
        if root is None:
            root = os.path.join(data_dir(), "datasets", self._namespace)
        self._root = os.path.expanduser(os.fspath(root))
        self._train = train
        self._transform = transform
        self._data, self._label = self._get_data()

    def _get_data(self) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self._label)

    def __getitem__(self, idx: int) -> Any:
        if self._transform is not None:
            return self._transform(self._data[idx], self._label[idx])
        return self._data[idx], self._label[idx]

    def __getitems__(self, indices: Sequence[int]) -> Any:
        if self._transform is None:
            positions = np.asarray(indices, dtype=np.intp)
            return SampleColumns([self._data[positions], self._label[positions]], as_tuple=True)
        return per_sample(indices, indices, lambda idx, _: self[idx], [])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._root!r}, len={len(self)})"


class MNIST(_DownloadedDataset):
    """The MNIST handwritten digits: ``(28, 28, 1)`` uint8 images, int32 labels 0-9.

    Parameters
    ----------
    root : str or path-like, default ``$MXNET_HOME/datasets/mnist``
        Folder with ``train-images-idx3-ubyte.gz`` and the others (the files
        may also be un-gzipped, without ``.gz``).
    train : bool, default True
        The 60000 training samples, or the 10000 test samples.
    transform : callable, optional
        ``transform(image, label)``; its result is the sample.

    Raises
    ------
    ValueError
        For a file whose header is not the idx format's (naming it).
    """

    _namespace = "mnist"
    _train_data: FileSpec = (
        "train-images-idx3-ubyte.gz",
        "6c95f4b05d2bf285e1bfb0e7960c31bd3b3f8a7d",
    )
    _train_label: FileSpec = (
        "train-labels-idx1-ubyte.gz",
        "2a80914081dc54586dbdf242f9805a6b8d2a15fc",
    )
    _test_data: FileSpec = ("t10k-images-idx3-ubyte.gz", "c3a25af1f52dad7f726cce8cacb138654b760d48")
    _test_label: FileSpec = (
        "t10k-labels-idx1-ubyte.gz",
        "763e7fa3757d93b0cdec073cef058b2004252c17",
    )

    def _get_data(self) -> tuple[np.ndarray, np.ndarray]:
        data, label = (
            (self._train_data, self._train_label)
            if self._train
            else (self._test_data, self._test_label)
        )
        labels = read_idx(self._fetch(label), IDX_LABELS)
        images = read_idx(self._fetch(data), IDX_IMAGES)
        if len(images) != len(labels):
            raise ValueError(
                f"{data[0]} has {len(images)} images but {label[0]} has {len(labels)} labels"
            )
        return images[..., None], labels.astype(np.int32)

    def _fetch(self, spec: FileSpec) -> str:
        name, sha1 = spec
        for candidate in (name, name.removesuffix(".gz")):
            path = os.path.join(self._root, candidate)
            if os.path.exists(path):
                return path
        return download(repo_file_url(f"gluon/dataset/{self._namespace}", name), self._root, sha1)


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: the MNIST format and sizes, 10 clothing classes.

    Parameters are :class:`MNIST`'s; the default root is
    ``$MXNET_HOME/datasets/fashion-mnist``.
    """

    _namespace = "fashion-mnist"
    _train_data = ("train-images-idx3-ubyte.gz", "0cf37b0d40ed5169c6b3aba31069a9770ac9043d")
    _train_label = ("train-labels-idx1-ubyte.gz", "236021d52f1e40852b06a4c3008d8de8aef1e40b")
    _test_data = ("t10k-images-idx3-ubyte.gz", "626ed6a7c06dd17c0eec72fa3be1740f146a2863")
    _test_label = ("t10k-labels-idx1-ubyte.gz", "17f9ab60e7257a1620f4ad76bbbaf857c3920701")


class CIFAR10(_DownloadedDataset):
    """CIFAR-10: ``(32, 32, 3)`` uint8 RGB images, int32 labels 0-9.

    Parameters
    ----------
    root : str or path-like, default ``$MXNET_HOME/datasets/cifar10``
        Folder with ``data_batch_1.bin`` ... ``data_batch_5.bin`` and
        ``test_batch.bin`` (directly or in ``cifar-10-batches-bin/``, as the
        official archive extracts).
    train : bool, default True
        The 50000 training samples (batches 1-5 in order) or the 10000 test ones.
    transform : callable, optional
        ``transform(image, label)``.
    """

    _namespace = "cifar10"
    _subdir = "cifar-10-batches-bin"
    _archive: FileSpec = ("cifar-10-binary.tar.gz", "fab780a1e191a7eda0f345501ccd62d20f7ed891")
    _train_files: tuple[FileSpec, ...] = (
        ("data_batch_1.bin", "aadd24acce27caa71bf4b10992e9e7b2d74c2540"),
        ("data_batch_2.bin", "c0ba65cce70568cd57b4e03e9ac8d2a5367c1795"),
        ("data_batch_3.bin", "1dd00a74ab1d17a6e7d73e185b69dbf31242f295"),
        ("data_batch_4.bin", "aab85764eb3584312d3c7f65fd2fd016e36a258e"),
        ("data_batch_5.bin", "26e2849e66a845b7f1e4614ae70f4889ae604628"),
    )
    _test_files: tuple[FileSpec, ...] = (
        ("test_batch.bin", "67eb016db431130d61cd03c7ad570b013799c88c"),
    )
    _label_bytes = 1

    def _label_column(self) -> int:
        return 0

    def _get_data(self) -> tuple[np.ndarray, np.ndarray]:
        files = self._train_files if self._train else self._test_files
        paths = [self._find(name) for name, _ in files]
        if any(p is None for p in paths):
            self._download_archive()
            paths = [self._find(name) for name, _ in files]
        missing = [name for (name, _), p in zip(files, paths, strict=True) if p is None]
        if missing:
            raise FileNotFoundError(f"{', '.join(missing)} not found in {self._root}")
        batches = [self._read_batch(p) for p in paths if p is not None]
        data = np.concatenate([b[0] for b in batches])
        label = np.concatenate([b[1] for b in batches])
        return data, label

    def _find(self, name: str) -> str | None:
        for folder in (self._root, os.path.join(self._root, self._subdir)):
            path = os.path.join(folder, name)
            if os.path.exists(path):
                return path
        return None

    def _download_archive(self) -> None:
        name, sha1 = self._archive
        url = repo_file_url(f"gluon/dataset/{self._namespace}", name)
        archive = download(url, self._root, sha1)
        with tarfile.open(archive) as tar:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(self._root, filter="data")
            else:  # Python before 3.10.12 / 3.11.4
                tar.extractall(self._root)  # the archive's SHA-1 was checked

    def _read_batch(self, path: str) -> tuple[np.ndarray, np.ndarray]:
        record = self._label_bytes + 3072
        raw = np.fromfile(path, dtype=np.uint8)
        if raw.size == 0 or raw.size % record:
            raise ValueError(
                f"{path} holds {raw.size} bytes, not a whole number of {record}-byte "
                f"{type(self).__name__} records"
            )
        raw = raw.reshape(-1, record)
        images = raw[:, self._label_bytes :].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        return np.ascontiguousarray(images), raw[:, self._label_column()].astype(np.int32)


class CIFAR100(CIFAR10):
    """CIFAR-100: ``(32, 32, 3)`` uint8 RGB images, 20 coarse or 100 fine int32 labels.

    Parameters
    ----------
    root : str or path-like, default ``$MXNET_HOME/datasets/cifar100``
        Folder with ``train.bin`` and ``test.bin`` (directly or in ``cifar-100-binary/``).
    fine_label : bool, default False
        The fine (100-class) label instead of the coarse (20-class) one, as in Gluon.
    train : bool, default True
    transform : callable, optional
    """

    _namespace = "cifar100"
    _subdir = "cifar-100-binary"
    _archive = ("cifar-100-binary.tar.gz", "a0bb982c76b83111308126cc779a992fa506b90b")
    _train_files = (("train.bin", "e207cd2e05b73b1393c74c7f5e7bea451d63e08e"),)
    _test_files = (("test.bin", "8fb6623e830365ff53cf14adec797474f5478006"),)
    _label_bytes = 2

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        fine_label: bool = False,
        train: bool = True,
        transform: Callable[..., Any] | None = None,
    ) -> None:
        self._fine_label = fine_label
        super().__init__(root, train, transform)

    def _label_column(self) -> int:
        return int(self._fine_label)
