"""The vision datasets (``gluon.data.vision.datasets``)."""

from ._classic import CIFAR10, CIFAR100, MNIST, FashionMNIST
from ._encoded import EncodedImageDataset
from ._folder import ImageFolderDataset, ImageListDataset
from ._segmentation import SegmentationDataset
from .record_dataset import ImageRecordDataset

__all__ = [
    "CIFAR10",
    "CIFAR100",
    "MNIST",
    "EncodedImageDataset",
    "FashionMNIST",
    "ImageFolderDataset",
    "ImageListDataset",
    "ImageRecordDataset",
    "SegmentationDataset",
]
