"""``mx.image``'s Augmenter family and ``CreateAugmenter``.

An augmenter is a callable ``aug(src) -> out`` on one HWC image. Unlike
MXNet's, these never change ``src`` in place (``ColorNormalizeAug`` excepted,
which normalizes a float image in place as MXNet's ``color_normalize`` does);
the colour augmenters compute in float32 when given integers (MXNet expects a
``CastAug`` before them). Random draws come from the current sample's
generator, so a seeded DataLoader gives the same results for any worker count.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..random import generator
from . import _ops as ops
from ._geometry import Size, interp_method, pop_min_area

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
    "LightingAug",
    "RandomCropAug",
    "RandomGrayAug",
    "RandomOrderAug",
    "RandomSizedCropAug",
    "ResizeAug",
    "SaturationJitterAug",
    "SequentialAug",
]

_GRAY = np.array([0.299, 0.587, 0.114], dtype=np.float32)
# AlexNet's PCA lighting constants (ImageNet RGB), as CreateAugmenter uses them.
EIGVAL = np.array([55.46, 4.794, 1.148])
EIGVEC = np.array(
    [[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140], [-0.5836, -0.6948, 0.4203]]
)
IMAGENET_MEAN = np.array([123.68, 116.28, 103.53])
IMAGENET_STD = np.array([58.395, 57.12, 57.375])


class Augmenter:
    """Base class: keeps its constructor arguments for :meth:`dumps`.

    Parameters
    ----------
    **kwargs
        The augmenter's parameters (arrays are stored as lists).
    """

    def __init__(self, **kwargs: Any) -> None:
        self._kwargs = {
            k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in kwargs.items()
        }

    def dumps(self) -> Any:
        """Return ``[name, parameters]`` as a JSON string (MXNet's format)."""
        return json.dumps([type(self).__name__.lower(), self._kwargs])

    def __call__(self, src: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._kwargs.items())
        return f"{type(self).__name__}({args})"


class SequentialAug(Augmenter):
    """Apply a list of augmenters in order."""

    def __init__(self, ts: Sequence[Callable[[np.ndarray], np.ndarray]]) -> None:
        super().__init__()
        self.ts = list(ts)

    def dumps(self) -> Any:
        """Return ``[name, [child dumps...]]`` (a list, as in MXNet)."""
        return [type(self).__name__.lower(), [t.dumps() for t in self.ts]]

    def __call__(self, src: np.ndarray) -> np.ndarray:
        for aug in self.ts:
            src = aug(src)
        return src


class RandomOrderAug(SequentialAug):
    """Apply a list of augmenters in a random order (drawn anew for every image)."""

    def __call__(self, src: np.ndarray) -> np.ndarray:
        for i in generator().permutation(len(self.ts)):
            src = self.ts[i](src)
        return src


class ResizeAug(Augmenter):
    """Resize the shorter side to ``size`` (:func:`~gluondata.image.resize_short`)."""

    def __init__(self, size: int, interp: int = 2) -> None:
        super().__init__(size=size, interp=interp)
        self.size, self.interp = size, interp

    def __call__(self, src: np.ndarray) -> np.ndarray:
        return ops.resize_short(src, self.size, self.interp)


class ForceResizeAug(Augmenter):
    """Resize to exactly ``size`` = ``(w, h)``, ignoring the aspect ratio."""

    def __init__(self, size: Size, interp: int = 2) -> None:
        super().__init__(size=size, interp=interp)
        self.size, self.interp = size, interp

    def __call__(self, src: np.ndarray) -> np.ndarray:
        sizes = (src.shape[0], src.shape[1], self.size[1], self.size[0])
        return ops.imresize(src, *self.size, interp=interp_method(self.interp, sizes))


class RandomCropAug(Augmenter):
    """Crop ``size`` = ``(w, h)`` at a random place (:func:`~gluondata.image.random_crop`)."""

    def __init__(self, size: Size, interp: int = 2) -> None:
        super().__init__(size=size, interp=interp)
        self.size, self.interp = size, interp

    def __call__(self, src: np.ndarray) -> np.ndarray:
        return ops.random_crop(src, self.size, self.interp)[0]


class RandomSizedCropAug(Augmenter):
    """Random area and aspect ratio crop (:func:`~gluondata.image.random_size_crop`)."""

    def __init__(
        self,
        size: Size,
        area: float | Sequence[float],
        ratio: Sequence[float],
        interp: int = 2,
        **kwargs: Any,
    ) -> None:
        area = pop_min_area(area, dict(kwargs))
        super().__init__(size=size, area=area, ratio=ratio, interp=interp)
        self.size, self.area, self.ratio, self.interp = size, area, ratio, interp

    def __call__(self, src: np.ndarray) -> np.ndarray:
        return ops.random_size_crop(src, self.size, self.area, self.ratio, self.interp)[0]


class CenterCropAug(Augmenter):
    """Crop ``size`` = ``(w, h)`` at the centre (:func:`~gluondata.image.center_crop`)."""

    def __init__(self, size: Size, interp: int = 2) -> None:
        super().__init__(size=size, interp=interp)
        self.size, self.interp = size, interp

    def __call__(self, src: np.ndarray) -> np.ndarray:
        return ops.center_crop(src, self.size, self.interp)[0]


class BrightnessJitterAug(Augmenter):
    """Multiply by ``1 + U(-brightness, brightness)``."""

    def __init__(self, brightness: float) -> None:
        super().__init__(brightness=brightness)
        self.brightness = brightness

    def __call__(self, src: np.ndarray) -> np.ndarray:
        alpha = 1.0 + generator().uniform(-self.brightness, self.brightness)
        return _as_float(src) * np.float32(alpha)


class ContrastJitterAug(Augmenter):
    """Blend with the image's mean luma: ``src * a + (1 - a) * mean``, a = 1 + U(-c, c)."""

    def __init__(self, contrast: float) -> None:
        super().__init__(contrast=contrast)
        self.contrast = contrast

    def __call__(self, src: np.ndarray) -> np.ndarray:
        alpha = 1.0 + generator().uniform(-self.contrast, self.contrast)
        src = _as_float(src)
        gray = float((src * _GRAY).sum()) * 3.0 * (1.0 - alpha) / src.size
        return src * np.float32(alpha) + np.float32(gray)


class SaturationJitterAug(Augmenter):
    """Blend each pixel with its luma: ``src * a + (1 - a) * gray``, a = 1 + U(-s, s)."""

    def __init__(self, saturation: float) -> None:
        super().__init__(saturation=saturation)
        self.saturation = saturation

    def __call__(self, src: np.ndarray) -> np.ndarray:
        alpha = 1.0 + generator().uniform(-self.saturation, self.saturation)
        src = _as_float(src)
        gray = (src * _GRAY).sum(axis=2, keepdims=True) * np.float32(1.0 - alpha)
        return src * np.float32(alpha) + gray


class HueJitterAug(Augmenter):
    """Rotate the hue by ``U(-hue, hue) * 180`` degrees in YIQ space."""

    _TYIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.321], [0.211, -0.523, 0.311]])
    _ITYIQ = np.array([[1.0, 0.956, 0.621], [1.0, -0.272, -0.647], [1.0, -1.107, 1.705]])

    def __init__(self, hue: float) -> None:
        super().__init__(hue=hue)
        self.hue = hue

    def __call__(self, src: np.ndarray) -> np.ndarray:
        alpha = generator().uniform(-self.hue, self.hue)
        u, w = math.cos(alpha * math.pi), math.sin(alpha * math.pi)
        bt = np.array([[1.0, 0.0, 0.0], [0.0, u, -w], [0.0, w, u]])
        t = (self._ITYIQ @ bt @ self._TYIQ).T
        return _as_float(src) @ t.astype(np.float32)


class ColorJitterAug(RandomOrderAug):
    """Brightness, contrast and saturation jitter (the non-zero ones) in a random order."""

    def __init__(self, brightness: float, contrast: float, saturation: float) -> None:
        ts: list[Augmenter] = []
        if brightness > 0:
            ts.append(BrightnessJitterAug(brightness))
        if contrast > 0:
            ts.append(ContrastJitterAug(contrast))
        if saturation > 0:
            ts.append(SaturationJitterAug(saturation))
        super().__init__(ts)


class LightingAug(Augmenter):
    """AlexNet-style PCA lighting noise: add ``eigvec @ (eigval * N(0, alphastd))``."""

    def __init__(self, alphastd: float, eigval: np.ndarray, eigvec: np.ndarray) -> None:
        super().__init__(alphastd=alphastd, eigval=eigval, eigvec=eigvec)
        self.alphastd = alphastd
        self.eigval, self.eigvec = np.asarray(eigval), np.asarray(eigvec)

    def __call__(self, src: np.ndarray) -> np.ndarray:
        alpha = generator().normal(0, self.alphastd, size=(3,))
        rgb = (self.eigvec * alpha) @ self.eigval
        return _as_float(src) + rgb.astype(np.float32)


class ColorNormalizeAug(Augmenter):
    """``(src - mean) / std`` (:func:`~gluondata.image.color_normalize`)."""

    def __init__(self, mean: Any, std: Any) -> None:
        super().__init__(mean=mean, std=std)
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float32)
        self.std = None if std is None else np.asarray(std, dtype=np.float32)

    def __call__(self, src: np.ndarray) -> np.ndarray:
        mean = 0.0 if self.mean is None else self.mean
        return ops.color_normalize(src, mean, self.std)


class RandomGrayAug(Augmenter):
    """With probability ``p``, replace the colours by luma (3 channels kept)."""

    _MAT = np.array([[0.21, 0.21, 0.21], [0.72, 0.72, 0.72], [0.07, 0.07, 0.07]], np.float32)

    def __init__(self, p: float) -> None:
        super().__init__(p=p)
        self.p = p

    def __call__(self, src: np.ndarray) -> np.ndarray:
        if generator().random() < self.p:
            return _as_float(src) @ self._MAT
        return src


class HorizontalFlipAug(Augmenter):
    """With probability ``p``, flip left-right (a view)."""

    def __init__(self, p: float) -> None:
        super().__init__(p=p)
        self.p = p

    def __call__(self, src: np.ndarray) -> np.ndarray:
        if generator().random() < self.p:
            return src[:, ::-1]
        return src


class CastAug(Augmenter):
    """Cast to ``typ``."""

    def __init__(self, typ: str = "float32") -> None:
        super().__init__(type=typ)
        self.typ = typ

    def __call__(self, src: np.ndarray) -> np.ndarray:
        return src.astype(self.typ)


def CreateAugmenter(
    data_shape: Sequence[int],
    resize: int = 0,
    rand_crop: bool = False,
    rand_resize: bool = False,
    rand_mirror: bool = False,
    mean: Any = None,
    std: Any = None,
    brightness: float = 0,
    contrast: float = 0,
    saturation: float = 0,
    hue: float = 0,
    pca_noise: float = 0,
    rand_gray: float = 0,
    inter_method: int = 2,
) -> list[Augmenter]:
    """Build MXNet's standard augmenter list.

    Parameters
    ----------
    data_shape : (C, H, W)
        The output shape; the crop is ``(W, H)``.
    resize : int
        Resize the shorter side to this first (0: no).
    rand_crop, rand_resize : bool
        Random crop; with ``rand_resize`` also random area (8%-100%) and
        aspect ratio (3/4-4/3). Neither: centre crop.
    rand_mirror : bool
        Flip left-right with probability 0.5.
    mean, std : True or array of 1 or 3 values, optional
        Normalize; ``True`` means ImageNet's RGB mean / std (0-255 scale).
    brightness, contrast, saturation, hue, pca_noise : float
        Colour jitter strengths (0: off).
    rand_gray : float
        Probability of converting to gray.
    inter_method : int
        Interpolation code for the resizes (see :func:`~gluondata.image.imresize`).

    Returns
    -------
    list of Augmenter
        Resize, crop, flip, cast to float32, colour jitters, lighting, gray,
        normalize — in MXNet's order.
    """
    auglist: list[Augmenter] = []
    if resize > 0:
        auglist.append(ResizeAug(resize, inter_method))
    crop_size = (data_shape[2], data_shape[1])
    if rand_resize:
        if not rand_crop:
            raise ValueError("rand_resize=True needs rand_crop=True")
        auglist.append(RandomSizedCropAug(crop_size, 0.08, (3.0 / 4.0, 4.0 / 3.0), inter_method))
    elif rand_crop:
        auglist.append(RandomCropAug(crop_size, inter_method))
    else:
        auglist.append(CenterCropAug(crop_size, inter_method))
    if rand_mirror:
        auglist.append(HorizontalFlipAug(0.5))
    auglist.append(CastAug())
    if brightness or contrast or saturation:
        auglist.append(ColorJitterAug(brightness, contrast, saturation))
    if hue:
        auglist.append(HueJitterAug(hue))
    if pca_noise > 0:
        auglist.append(LightingAug(pca_noise, EIGVAL, EIGVEC))
    if rand_gray > 0:
        auglist.append(RandomGrayAug(rand_gray))
    mean = IMAGENET_MEAN if mean is True else _channels("mean", mean)
    std = IMAGENET_STD if std is True else _channels("std", std)
    if mean is not None or std is not None:
        auglist.append(ColorNormalizeAug(mean, std))
    return auglist


def _channels(name: str, value: Any) -> np.ndarray | None:
    if value is None:
        return None
    value = np.asarray(value, dtype=np.float64).reshape(-1)
    if value.shape[0] not in (1, 3):
        raise ValueError(f"{name} must be True or hold 1 or 3 values, got {value.shape[0]}")
    return value


def _as_float(src: np.ndarray) -> np.ndarray:
    return src if np.issubdtype(src.dtype, np.floating) else src.astype(np.float32)
