"""Geometric transforms: resize, crops, flips.

Each crop/resize transform makes a :class:`~gluondata.image._geometry.Plan` (a crop
box and an output size) from the image's size alone, then applies it. Given an
encoded JPEG instead of pixels (an image dataset does that under
``transform_first``), the plan is made from the header and the image decoded at
a reduced scale when the crop is much larger than the output.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...image import _geometry as geo
from ...image._decode import Encoded
from ...image._fused import decode_plan
from ...image._geometry import Plan, Size
from ...image._ops import copyMakeBorder
from ...image._resize import crop_resize
from ...random import generator
from ._base import Transform

__all__ = [
    "CenterCrop",
    "CropResize",
    "RandomCrop",
    "RandomFlipLeftRight",
    "RandomFlipTopBottom",
    "RandomResizedCrop",
    "Resize",
]


def as_size(size: int | Sequence[int], name: str = "size") -> Size:
    """``(w, h)`` from an int (a square) or a ``(w, h)`` pair; positive only."""
    pair = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    if len(pair) != 2 or any(int(v) <= 0 for v in pair):
        raise ValueError(f"{name} must be a positive int or a (width, height) pair, got {size!r}")
    return int(pair[0]), int(pair[1])


class PlannedTransform(Transform):
    """A crop/resize that works out its plan from the source ``(width, height)``.

    A batch (NHWC) gets one plan for all its images.
    """

    def plan(self, src_size: Size) -> Plan:
        """Return the crop box and output size for a source of ``src_size`` = ``(w, h)``."""
        raise NotImplementedError

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.ndim == 4:
            plan = self.plan((x.shape[2], x.shape[1]))
            return np.stack([crop_resize(img, plan) for img in x])
        return crop_resize(x, self.plan((x.shape[1], x.shape[0])))

    def decode_apply(self, enc: Encoded, flag: int, to_rgb: bool) -> np.ndarray:
        """Decode and apply the plan in one go (a reduced-scale JPEG decode when it pays)."""
        return decode_plan(enc, flag, to_rgb, self.plan)


class Resize(PlannedTransform):
    """Resize to a size.

    Parameters
    ----------
    size : int or (int, int)
        ``(w, h)``: exactly that. An int: a square, or with ``keep_ratio`` the
        shorter side (the longer one floored to keep the ratio).
    keep_ratio : bool, default False
        Only for an int ``size``.
    interpolation : int, default 1
        0 nearest, 1 bilinear, 2 bicubic, 3 area, 4 Lanczos.
    """

    def __init__(
        self, size: int | Sequence[int], keep_ratio: bool = False, interpolation: int = 1
    ) -> None:
        if isinstance(size, (int, np.integer)):
            self.size: int | Size = as_size(size)[0]
        else:
            self.size = as_size(size)
        self.keep_ratio = keep_ratio
        self.interpolation = geo.check_interp(interpolation)

    def plan(self, src_size: Size) -> Plan:
        w, h = src_size
        if not isinstance(self.size, int):
            out = self.size
        elif not self.keep_ratio:
            out = (self.size, self.size)
        else:
            out = geo.resize_short_size(src_size, self.size)
        interp = geo.interp_method(self.interpolation, (h, w, out[1], out[0]))
        return Plan((0, 0, w, h), out, interp)


class CenterCrop(PlannedTransform):
    """Crop the centre at ``size`` (the largest centred box of its aspect ratio if larger).

    Parameters
    ----------
    size : int or (int, int)
        Output ``(w, h)`` (an int: a square).
    interpolation : int, default 1
        Used when the crop must be resized (the image is smaller than ``size``).
    """

    def __init__(self, size: int | Sequence[int], interpolation: int = 1) -> None:
        self.size = as_size(size)
        self.interpolation = geo.check_interp(interpolation)

    def plan(self, src_size: Size) -> Plan:
        return geo.fixed_plan(geo.center_box(src_size, self.size), self.size, self.interpolation)


class RandomResizedCrop(PlannedTransform):
    """Crop a random area and aspect ratio, resized to ``size`` (Inception-style).

    Parameters
    ----------
    size : int or (int, int)
        Output ``(w, h)``.
    scale : (float, float), default (0.08, 1.0)
        Range of the crop's area as a fraction of the image.
    ratio : (float, float), default (3/4, 4/3)
        Range of the crop's width/height (log-uniform).
    interpolation : int, default 1

    Notes
    -----
    As in MXNet: 10 tries, then a centre crop of ``size`` (scaled down to fit).
    """

    def __init__(
        self,
        size: int | Sequence[int],
        scale: Sequence[float] = (0.08, 1.0),
        ratio: Sequence[float] = (3.0 / 4.0, 4.0 / 3.0),
        interpolation: int = 1,
    ) -> None:
        self.size = as_size(size)
        self.scale = tuple(scale)
        self.ratio = tuple(ratio)
        self.interpolation = geo.check_interp(interpolation)

    def plan(self, src_size: Size) -> Plan:
        box = geo.random_size_box(src_size, self.size, self.scale, self.ratio, generator())
        return geo.fixed_plan(box, self.size, self.interpolation)


class RandomCrop(PlannedTransform):
    """Crop ``size`` at a random place, after optional padding (MXNet 2's ``RandomCrop``).

    Parameters
    ----------
    size : int or (int, int)
        Output ``(w, h)``; an image smaller than it gives the largest box of
        its aspect ratio, resized up.
    pad : int or (int, int) or (int, int, int, int), optional
        Pad all sides, ``(left/right, top/bottom)`` or ``(left, top, right, bottom)``.
    pad_value : float, default 0
    interpolation : int, default 1
    """

    def __init__(
        self,
        size: int | Sequence[int],
        pad: int | Sequence[int] | None = None,
        pad_value: float = 0,
        interpolation: int = 1,
    ) -> None:
        self.size = as_size(size)
        self.pad = _pad_sides(pad)
        self.pad_value = pad_value
        self.interpolation = geo.check_interp(interpolation)

    def plan(self, src_size: Size) -> Plan:
        box = geo.random_box(src_size, self.size, generator())
        return geo.fixed_plan(box, self.size, self.interpolation)

    def forward(self, x: np.ndarray) -> np.ndarray:
        if self.pad is not None:
            x = _pad_hw(x, self.pad, self.pad_value)
        return super().forward(x)

    def decode_apply(self, enc: Encoded, flag: int, to_rgb: bool) -> np.ndarray:
        if self.pad is not None:
            return Transform.decode_apply(self, enc, flag, to_rgb)
        return super().decode_apply(enc, flag, to_rgb)


class CropResize(PlannedTransform):
    """Crop the box ``(x, y, width, height)``; then resize to ``size`` if given.

    Unlike MXNet 1.9's, the default interpolation works (bilinear).
    """

    def __init__(
        self,
        x: int,
        y: int,
        width: int,
        height: int,
        size: int | Sequence[int] | None = None,
        interpolation: int = 1,
    ) -> None:
        if width <= 0 or height <= 0 or x < 0 or y < 0:
            raise ValueError(f"invalid crop box x={x}, y={y}, width={width}, height={height}")
        self.box = (int(x), int(y), int(width), int(height))
        self.size = None if size is None else as_size(size)
        self.interpolation = geo.check_interp(interpolation)

    def plan(self, src_size: Size) -> Plan:
        return geo.fixed_plan(self.box, self.size, self.interpolation)


class RandomFlipLeftRight(Transform):
    """Flip the width axis with probability ``p`` (a view, no copy).

    Works on HW, HWC and NHWC arrays (one draw for a whole batch).
    """

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def forward(self, x: np.ndarray) -> np.ndarray:
        if generator().random() < self.p:
            return np.flip(x, axis=2 if x.ndim == 4 else 1)
        return x


class RandomFlipTopBottom(Transform):
    """Flip the height axis with probability ``p`` (a view, no copy)."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def forward(self, x: np.ndarray) -> np.ndarray:
        if generator().random() < self.p:
            return np.flip(x, axis=1 if x.ndim == 4 else 0)
        return x


def _pad_sides(pad: int | Sequence[int] | None) -> tuple[int, int, int, int] | None:
    if pad is None:
        return None
    if isinstance(pad, (int, np.integer)):
        return (int(pad),) * 4
    pad = tuple(int(p) for p in pad)
    if len(pad) == 2:
        return pad[0], pad[1], pad[0], pad[1]
    if len(pad) == 4:
        return pad
    raise ValueError(f"pad must be an int or 2 or 4 ints, got {pad!r}")


def _pad_hw(x: np.ndarray, sides: tuple[int, int, int, int], value: float) -> np.ndarray:
    """Pad the height and width axes of an HW, HWC or NHWC array with ``value``."""
    left, top, right, bottom = sides
    if x.ndim != 4:
        return copyMakeBorder(x, top, bottom, left, right, 0, value)
    n, h, w, c = x.shape
    out = np.empty((n, h + top + bottom, w + left + right, c), dtype=x.dtype)
    out[...] = value
    out[:, top : top + h, left : left + w] = x
    return out
