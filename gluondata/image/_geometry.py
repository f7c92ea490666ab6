"""MXNet's integer geometry: crop boxes, output sizes, interpolation codes.

Every function here works on sizes only (``(width, height)``, as in MXNet),
so the same plan can crop a decoded array or steer a reduced-scale JPEG
decode (:mod:`gluondata.image._fused`). The arithmetic is ``mx.image``'s exactly.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from ..random import generator

__all__ = [
    "Plan",
    "center_box",
    "interp_method",
    "random_box",
    "random_size_box",
    "resize_short_size",
    "scale_down",
]

Size = tuple[int, int]
Box = tuple[int, int, int, int]

INTERP_NAMES = {0: "nearest", 1: "bilinear", 2: "bicubic", 3: "area", 4: "lanczos"}


class Plan(NamedTuple):
    """Crop ``box`` = ``(x0, y0, w, h)`` of the source, then resize it to ``size`` = ``(w, h)``."""

    box: Box
    size: Size
    interp: int


def fixed_plan(box: Box, size: Size | None, interp: int) -> Plan:
    """The plan of ``fixed_crop``: resize only when ``size`` differs from the box's size."""
    w, h = box[2], box[3]
    if size is None or tuple(size) == (w, h):
        return Plan(box, (w, h), 0)
    size = (int(size[0]), int(size[1]))
    return Plan(box, size, interp_method(interp, (h, w, size[1], size[0])))


def scale_down(src_size: Size, size: Size) -> Size:
    """Shrink ``size`` to fit in ``src_size``, keeping its aspect ratio (MXNet's arithmetic)."""
    w, h = size
    sw, sh = src_size
    if sh < h:
        w, h = float(w * sh) / h, sh
    if sw < w:
        w, h = sw, float(h * sw) / w
    return int(w), int(h)


def resize_short_size(src_size: Size, size: int) -> Size:
    """The ``(w, h)`` that ``resize_short`` gives: short side ``size``, long side floored."""
    w, h = src_size
    if h > w:
        return size, size * h // w
    return size * w // h, size


def interp_method(interp: int, sizes: Sequence[int] = ()) -> int:
    """Resolve an interpolation code (MXNet's ``_get_interp_method``).

    Parameters
    ----------
    interp : int
        0 nearest, 1 bilinear, 2 bicubic, 3 area, 4 Lanczos; 9 picks by the
        resize direction (bicubic up, area down, else bilinear; bicubic
        without ``sizes``); 10 picks one of 0..4 at random.
    sizes : (old_h, old_w, new_h, new_w), optional
        The resize, for ``interp=9``.
    """
    if interp == 9:
        if not sizes:
            return 2
        oh, ow, nh, nw = sizes
        if nh > oh and nw > ow:
            return 2
        if nh < oh and nw < ow:
            return 3
        return 1
    if interp == 10:
        return int(generator().integers(0, 5))
    if interp not in INTERP_NAMES:
        raise ValueError(f"Unknown interp method {interp}")
    return int(interp)


def check_interp(interp: int) -> int:
    """Validate an interpolation code (0-4, 9 auto, 10 random) without resolving it."""
    if interp not in INTERP_NAMES and interp not in (9, 10):
        raise ValueError(f"Unknown interp method {interp}")
    return int(interp)


def center_box(src_size: Size, size: Size) -> Box:
    """The box ``center_crop`` takes: ``scale_down``-ed ``size`` at the centre."""
    w, h = src_size
    new_w, new_h = scale_down(src_size, size)
    return int((w - new_w) / 2), int((h - new_h) / 2), new_w, new_h


def random_box(src_size: Size, size: Size, rng: np.random.Generator) -> Box:
    """The box ``random_crop`` takes: ``scale_down``-ed ``size`` at a random place."""
    w, h = src_size
    new_w, new_h = scale_down(src_size, size)
    x0 = int(rng.integers(0, w - new_w + 1))
    y0 = int(rng.integers(0, h - new_h + 1))
    return x0, y0, new_w, new_h


def random_size_box(
    src_size: Size,
    size: Size,
    area: float | Sequence[float],
    ratio: Sequence[float],
    rng: np.random.Generator,
) -> Box:
    """The box ``random_size_crop`` takes (the Inception-style random-resized crop).

    Up to 10 tries of a random area fraction in ``area`` and a log-uniform
    aspect ratio in ``ratio``; when none fits, the ``center_crop`` box of
    ``size`` (MXNet's fallback).
    """
    w, h = src_size
    if isinstance(area, (int, float)):
        area = (float(area), 1.0)
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target_area = rng.uniform(area[0], area[1]) * w * h
        new_ratio = math.exp(rng.uniform(*log_ratio))
        new_w = round(math.sqrt(target_area * new_ratio))
        new_h = round(math.sqrt(target_area / new_ratio))
        if 0 < new_w <= w and 0 < new_h <= h:
            x0 = int(rng.integers(0, w - new_w + 1))
            y0 = int(rng.integers(0, h - new_h + 1))
            return x0, y0, new_w, new_h
    return center_box(src_size, size)


def pop_min_area(area: float | Sequence[float], kwargs: dict[str, object]) -> object:
    """Honour ``random_size_crop``'s deprecated ``min_area`` keyword; reject any other."""
    if "min_area" in kwargs:
        warnings.warn(
            "`min_area` is deprecated. Please use `area` instead.", DeprecationWarning, stacklevel=3
        )
        area = kwargs.pop("min_area")
    if kwargs:
        raise TypeError(f"unexpected keyword arguments: {sorted(kwargs)}")
    return area
