"""Joint transforms for segmentation: one random crop / flip / resize for an image and its mask.

Each is called as ``t(img, mask)`` and returns ``(img, mask)``, so it can be
the ``transform`` of :class:`~gluondata.vision.SegmentationDataset`. The mask
(``(H, W)`` or ``(H, W, K)``) is always resized nearest-neighbour, so class
ids stay class ids. The image may be ``(H, W)``, ``(H, W, C)`` or
``(C, H, W)``: its layout is read from the mask's ``(H, W)`` (HWC wins a tie),
and it keeps that layout.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ...image._geometry import Plan
from ...image._resize import crop_resize
from ...random import generator
from . import _spatial

__all__ = [
    "ApplyToImage",
    "CenterCrop",
    "Compose",
    "RandomCrop",
    "RandomFlipLeftRight",
    "RandomFlipTopBottom",
    "RandomResizedCrop",
    "Resize",
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
