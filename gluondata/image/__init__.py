"""``mx.image`` on numpy, OpenCV and Pillow: decode, resize, crop, normalize, augment.

Images are numpy arrays in HWC layout (height, width, channels), uint8 as
decoded. Sizes passed as tuples are ``(width, height)``, as in MXNet. The
integer geometry (``scale_down``, ``resize_short`` sizes, crop boxes) is
MXNet's exactly; interpolated pixels come from the backend's filters: OpenCV's (MXNet's own)
by default, Pillow's anti-aliased ones with ``set_backend("pillow")`` or ``backend="pillow"``
(nearest-neighbour, done in numpy, is exact either way).

Random functions and augmenters draw from the current sample's generator
(:mod:`gluondata.random`), so a DataLoader with ``seed=`` gives the same
results for any number of workers.
"""

from ._augmenters import (
    Augmenter,
    BrightnessJitterAug,
    CastAug,
    CenterCropAug,
    ColorJitterAug,
    ColorNormalizeAug,
    ContrastJitterAug,
    CreateAugmenter,
    ForceResizeAug,
    HorizontalFlipAug,
    HueJitterAug,
    LightingAug,
    RandomCropAug,
    RandomGrayAug,
    RandomOrderAug,
    RandomSizedCropAug,
    ResizeAug,
    SaturationJitterAug,
    SequentialAug,
)
from ._backend import available_backends, get_backend, set_backend, use_backend
from ._ops import (
    ImageDecodeError,
    center_crop,
    color_normalize,
    copyMakeBorder,
    fixed_crop,
    imdecode,
    imread,
    imresize,
    random_crop,
    random_size_crop,
    resize_short,
    scale_down,
)
from ._rotate import imrotate, random_rotate

__all__ = [
    "Augmenter",
    "BrightnessJitterAug",
    "CastAug",
    "CenterCropAug",
    "ColorJitterAug",
    "ColorNormalizeAug",
    "ContrastJitterAug",
    "CreateAugmenter",
    "ForceResizeAug",
    "HorizontalFlipAug",
    "HueJitterAug",
    "ImageDecodeError",
    "LightingAug",
    "RandomCropAug",
    "RandomGrayAug",
    "RandomOrderAug",
    "RandomSizedCropAug",
    "ResizeAug",
    "SaturationJitterAug",
    "SequentialAug",
    "available_backends",
    "center_crop",
    "color_normalize",
    "copyMakeBorder",
    "fixed_crop",
    "get_backend",
    "imdecode",
    "imread",
    "imresize",
    "imrotate",
    "random_crop",
    "random_rotate",
    "random_size_crop",
    "resize_short",
    "scale_down",
    "set_backend",
    "use_backend",
]
