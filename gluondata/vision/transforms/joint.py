"""Joint transforms for segmentation: one random crop / flip / resize / rotation for image and mask.

Each is called as ``t(img, mask)`` and returns ``(img, mask)``, so it can be
the ``transform`` of :class:`~gluondata.vision.SegmentationDataset`. The mask
(``(H, W)`` or ``(H, W, K)``) is always resized and rotated nearest-neighbour,
so class ids stay class ids. The image may be ``(H, W)``, ``(H, W, C)`` or
``(C, H, W)``: its layout is read from the mask's ``(H, W)`` (HWC wins a tie),
and it keeps that layout.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ...image._geometry import Plan
from ...image._resize import crop_resize
from ...image._rotate import rotate_planes
from ...random import generator
from . import _rotate, _spatial

__all__ = [
    "ApplyToImage",
    "CenterCrop",
    "Compose",
    "RandomCrop",
    "RandomFlipLeftRight",
    "RandomFlipTopBottom",
    "RandomResizedCrop",
    "RandomRotation",
    "Resize",
    "Rotate",
]

Pair = tuple[np.ndarray, np.ndarray]


def channels_first(img: np.ndarray, mask: np.ndarray) -> bool:
    """Whether ``img`` is CHW (else HW or HWC); raise if its size is not the mask's."""
    size = mask.shape[:2]
    if img.shape[:2] == size:
        return False
    if img.ndim == 3 and img.shape[1:] == size:
        return True
    raise ValueError(
        f"image of shape {img.shape} does not match mask of shape {mask.shape}: "
        "the image must be (H, W), (H, W, C) or (C, H, W) with the mask's (H, W)"
    )


class JointTransform:
    """Base: ``t(img, mask) -> (img, mask)``."""

    def __call__(self, img: np.ndarray, mask: np.ndarray) -> Pair:
        raise NotImplementedError

    def __repr__(self) -> str:
        fields = ", ".join(f"{k.lstrip('_')}={v!r}" for k, v in vars(self).items())
        return f"joint.{type(self).__name__}({fields})"


class _Planned(JointTransform):
    """Apply one image transform's plan to both: the image's interpolation, nearest for the mask."""

    _planner: _spatial.PlannedTransform

    def __call__(self, img: np.ndarray, mask: np.ndarray) -> Pair:
        chw = channels_first(img, mask)
        plan = self._planner.plan((mask.shape[1], mask.shape[0]))
        if chw:
            out = np.moveaxis(crop_resize(np.moveaxis(img, 0, -1), plan), -1, 0)
        else:
            out = crop_resize(img, plan)
        return out, crop_resize(mask, Plan(plan.box, plan.size, 0))

    def __repr__(self) -> str:
        return f"joint.{self._planner!r}"


class Resize(_Planned):
    """Resize both (see :class:`~gluondata.vision.transforms.Resize`)."""

    def __init__(
        self, size: int | Sequence[int], keep_ratio: bool = False, interpolation: int = 1
    ) -> None:
        self._planner = _spatial.Resize(size, keep_ratio, interpolation)


class CenterCrop(_Planned):
    """Crop both at the centre (see :class:`~gluondata.vision.transforms.CenterCrop`)."""

    def __init__(self, size: int | Sequence[int], interpolation: int = 1) -> None:
        self._planner = _spatial.CenterCrop(size, interpolation)


class RandomCrop(_Planned):
    """Crop both at the same random place (see :class:`~gluondata.vision.transforms.RandomCrop`).

    Padding is not offered here: pad image and mask before, with the values you need.
    """

    def __init__(self, size: int | Sequence[int], interpolation: int = 1) -> None:
        self._planner = _spatial.RandomCrop(size, interpolation=interpolation)


class RandomResizedCrop(_Planned):
    """The same random-resized crop of both.

    See :class:`~gluondata.vision.transforms.RandomResizedCrop`.
    """

    def __init__(
        self,
        size: int | Sequence[int],
        scale: Sequence[float] = (0.08, 1.0),
        ratio: Sequence[float] = (3.0 / 4.0, 4.0 / 3.0),
        interpolation: int = 1,
    ) -> None:
        self._planner = _spatial.RandomResizedCrop(size, scale, ratio, interpolation)


class RandomFlipLeftRight(JointTransform):
    """Flip both left-right with probability ``p`` (views, no copy)."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, img: np.ndarray, mask: np.ndarray) -> Pair:
        chw = channels_first(img, mask)
        if generator().random() < self.p:
            return np.flip(img, axis=2 if chw else 1), np.flip(mask, axis=1)
        return img, mask


class RandomFlipTopBottom(JointTransform):
    """Flip both top-bottom with probability ``p`` (views, no copy)."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, img: np.ndarray, mask: np.ndarray) -> Pair:
        chw = channels_first(img, mask)
        if generator().random() < self.p:
            return np.flip(img, axis=1 if chw else 0), np.flip(mask, axis=0)
        return img, mask


def rotate_pair(
    img: np.ndarray,
    mask: np.ndarray,
    degrees: float,
    zoom_in: bool = False,
    zoom_out: bool = False,
    mask_fill: int = 0,
) -> Pair:
    """Rotate the image (bilinear, 0 outside, dtype kept) and the mask (nearest, ``mask_fill``)."""
    chw = channels_first(img, mask)
    planes = img if chw else (img[None] if img.ndim == 2 else np.moveaxis(img, -1, 0))
    turned = rotate_planes(planes, degrees, zoom_in, zoom_out)
    if np.issubdtype(img.dtype, np.integer):
        info = np.iinfo(img.dtype)
        turned = np.clip(np.rint(turned), info.min, info.max)
    turned = turned.astype(img.dtype, copy=False)
    if not chw:
        turned = turned[0] if img.ndim == 2 else np.moveaxis(turned, 0, -1)
    mask_planes = mask[None] if mask.ndim == 2 else np.moveaxis(mask, -1, 0)
    mask_out = rotate_planes(mask_planes, degrees, zoom_in, zoom_out, nearest=True, fill=mask_fill)
    mask_out = mask_out[0] if mask.ndim == 2 else np.moveaxis(mask_out, 0, -1)
    return turned, mask_out


class Rotate(JointTransform):
    """Rotate both by ``rotation_degrees`` (see :class:`~gluondata.vision.transforms.Rotate`).

    Any image dtype and layout (HW, HWC, CHW): bilinear with 0 outside, the
    dtype kept (integers rounded). The mask is rotated nearest-neighbour and
    gets ``mask_fill`` (e.g. an ignore label) where the rotation uncovers it.
    """

    def __init__(
        self,
        rotation_degrees: float,
        zoom_in: bool = False,
        zoom_out: bool = False,
        mask_fill: int = 0,
    ) -> None:
        self._planner = _rotate.Rotate(rotation_degrees, zoom_in, zoom_out)
        self.mask_fill = mask_fill

    def __call__(self, img: np.ndarray, mask: np.ndarray) -> Pair:
        p = self._planner
        return rotate_pair(img, mask, p.rotation_degrees, p.zoom_in, p.zoom_out, self.mask_fill)


class RandomRotation(JointTransform):
    """Rotate both by one random angle (see :class:`~gluondata.vision.transforms.RandomRotation`).

    Image and mask as in :class:`Rotate`; the angle and the coin come from the
    sample's generator, so a seeded DataLoader repeats them.
    """

    def __init__(
        self,
        angle_limits: Sequence[float],
        zoom_in: bool = False,
        zoom_out: bool = False,
        rotate_with_proba: float = 1.0,
        mask_fill: int = 0,
    ) -> None:
        self._planner = _rotate.RandomRotation(angle_limits, zoom_in, zoom_out, rotate_with_proba)
        self.mask_fill = mask_fill

    def __call__(self, img: np.ndarray, mask: np.ndarray) -> Pair:
        p, rng = self._planner, generator()
        if rng.random() > p.rotate_with_proba:
            return img, mask
        angle = float(rng.uniform(*p.angle_limits))
        return rotate_pair(img, mask, angle, p.zoom_in, p.zoom_out, self.mask_fill)


class ApplyToImage(JointTransform):
    """Apply an image-only transform (colour jitter, ...) to the image; keep the mask.

    Parameters
    ----------
    transform : callable
        ``transform(img) -> img``.
    """

    def __init__(self, transform: Callable[[np.ndarray], np.ndarray]) -> None:
        self.transform = transform

    def __call__(self, img: np.ndarray, mask: np.ndarray) -> Pair:
        return self.transform(img), mask


class Compose(JointTransform):
    """Apply joint transforms in order.

    Parameters
    ----------
    transforms : sequence of callables
        Each ``t(img, mask) -> (img, mask)``.
    """

    def __init__(self, transforms: Sequence[Callable[[Any, Any], Pair]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, img: np.ndarray, mask: np.ndarray) -> Pair:
        for t in self.transforms:
            img, mask = t(img, mask)
        return img, mask

    def __repr__(self) -> str:
        inner = ",\n  ".join(repr(t) for t in self.transforms)
        return f"joint.Compose(\n  {inner}\n)"
