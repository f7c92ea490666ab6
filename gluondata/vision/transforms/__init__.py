"""Image transforms (``gluon.data.vision.transforms``) on numpy arrays.

Images are HWC numpy arrays (uint8 as decoded) until :class:`ToTensor` makes
them CHW float32. Every transform is a picklable callable usable with
``Dataset.transform_first``; random ones draw from the current sample's
generator (:mod:`gluondata.random`), so a DataLoader with ``seed=`` gives the
same batches for any number of workers. :mod:`.joint` holds the image+mask
versions for segmentation.
"""

from . import joint
from ._base import Transform
from ._color import (
    RandomBrightness,
    RandomColorJitter,
    RandomContrast,
    RandomGray,
    RandomHue,
    RandomLighting,
    RandomSaturation,
)
from ._compose import Compose, RandomApply
from ._rotate import RandomRotation, Rotate
from ._spatial import (
    CenterCrop,
    CropResize,
    RandomCrop,
    RandomFlipLeftRight,
    RandomFlipTopBottom,
    RandomResizedCrop,
    Resize,
)
from ._tensor import Cast, Normalize, ToTensor

__all__ = [
    "Cast",
    "CenterCrop",
    "Compose",
    "CropResize",
    "Normalize",
    "RandomApply",
    "RandomBrightness",
    "RandomColorJitter",
    "RandomContrast",
    "RandomCrop",
    "RandomFlipLeftRight",
    "RandomFlipTopBottom",
    "RandomGray",
    "RandomHue",
    "RandomLighting",
    "RandomResizedCrop",
    "RandomRotation",
    "RandomSaturation",
    "Resize",
    "Rotate",
    "ToTensor",
    "Transform",
    "joint",
]
