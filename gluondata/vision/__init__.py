"""Vision datasets and transforms (``gluon.data.vision``).

``from gluondata.vision import ImageFolderDataset, transforms`` ports
``from mxnet.gluon.data.vision import ImageFolderDataset, transforms``.
"""

from . import datasets, transforms
from .datasets import (
    CIFAR10,
    CIFAR100,
    MNIST,
    EncodedImageDataset,
    FashionMNIST,
    ImageFolderDataset,
    ImageListDataset,
    SegmentationDataset,
)
from .record_dataset import ImageRecordDataset, RecordImageDecodeError

__all__ = [
    "CIFAR10",
    "CIFAR100",
    "MNIST",
    "EncodedImageDataset",
    "FashionMNIST",
    "ImageFolderDataset",
    "ImageListDataset",
    "ImageRecordDataset",
    "RecordImageDecodeError",
    "SegmentationDataset",
    "datasets",
    "transforms",
]
