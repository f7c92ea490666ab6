"""Rotation about the image centre, as MXNet's ``imrotate``: bilinear, zero outside, optional zoom.

An output pixel at ``(y, x)`` reads the source at the point found by rotating
``(x - (w-1)/2, y - (h-1)/2)`` by the angle, multiplying it by the zoom
factor and moving it back to the centre. Positive angles turn the picture
counter-clockwise as displayed (90 degrees on a square is ``np.rot90``).
Bilinear sampling takes each of the four neighbours that lies outside the
image as 0, as MXNet's ``BilinearSampler`` does, so borders fade to 0.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from numbers import Number

import numpy as np

from ..random import generator

__all__ = [
    "bilinear_corners",
    "imrotate",
    "random_rotate",
    "rotate_planes",
    "source_coords",
    "zoom_factor",
]


def zoom_factor(h: int, w: int, radians: float, zoom_in: bool, zoom_out: bool) -> float:
    """The grid scale of MXNet's ``zoom_in`` (no padding shown) / ``zoom_out`` (all shown)."""
    if zoom_in and zoom_out:
        raise ValueError("`zoom_in` and `zoom_out` cannot be both True")
    if not (zoom_in or zoom_out):
        return 1.0
    rho, corner = math.hypot(h, w), math.atan(h / w)
    turn = abs(radians)
    max_x = max(abs(rho * math.cos(corner + turn)), abs(rho * math.cos(corner - turn)))
    max_y = max(abs(rho * math.sin(corner + turn)), abs(rho * math.sin(corner - turn)))
    if zoom_out:
        return max(max_x / w, max_y / h)
    return min(w / max_x, h / max_y)


def source_coords(
    h: int, w: int, degrees: float, zoom_in: bool = False, zoom_out: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """The source ``(ys, xs)`` (each ``(h, w)`` float) that every output pixel reads."""
    radians = math.radians(float(degrees))
    scale = zoom_factor(h, w, radians, zoom_in, zoom_out)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    yc = (np.arange(h, dtype=np.float64) - cy)[:, None]
    xc = (np.arange(w, dtype=np.float64) - cx)[None, :]
    cos, sin = math.cos(radians) * scale, math.sin(radians) * scale
    return xc * sin + yc * cos + cy, xc * cos - yc * sin + cx


@functools.lru_cache(maxsize=2)
def bilinear_corners(
    h: int, w: int, degrees: float, zoom_in: bool, zoom_out: bool, dtype: str
) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """For each of the 4 neighbours: its flat index in the zero-bordered image, and its weights.

    The last two are cached (read-only arrays, 48 bytes a pixel), so a fixed
    angle on images of one size computes them once.
    """
    ys, xs = source_coords(h, w, degrees, zoom_in, zoom_out)
    y0, x0 = np.floor(ys).ravel(), np.floor(xs).ravel()
    wy = (1.0 - (ys.ravel() - y0)).astype(dtype)
    wx = (1.0 - (xs.ravel() - x0)).astype(dtype)
    # neighbours outside the image land on the zero border (one pixel wide)
    row = np.clip(y0, -1, h).astype(np.intp) + 1
    col = np.clip(x0, -1, w).astype(np.intp) + 1
    row_next = np.clip(y0 + 1, -1, h).astype(np.intp) + 1
    col_next = np.clip(x0 + 1, -1, w).astype(np.intp) + 1
    stride = w + 2
    corners = (
        (row * stride + col, wy * wx),
        (row * stride + col_next, wy * (1 - wx)),
        (row_next * stride + col, (1 - wy) * wx),
        (row_next * stride + col_next, (1 - wy) * (1 - wx)),
    )
    for index, weight in corners:
        index.flags.writeable = weight.flags.writeable = False
    return corners


def rotate_planes(
    planes: np.ndarray,
    degrees: float,
    zoom_in: bool = False,
    zoom_out: bool = False,
    nearest: bool = False,
    fill: float = 0,
) -> np.ndarray:
    """Rotate a ``(C, H, W)`` stack of planes.

    Bilinear (the default) returns float64 for float64 input and float32
    otherwise, outside neighbours counting as 0; ``nearest`` keeps the dtype
    and writes ``fill`` where the rounded source point is outside.
    """
    c, h, w = planes.shape
    if nearest:
        ys, xs = source_coords(h, w, degrees, zoom_in, zoom_out)
        yi, xi = np.rint(ys).astype(np.intp), np.rint(xs).astype(np.intp)
        inside = (yi >= 0) & (yi < h) & (xi >= 0) & (xi < w)
        out = np.full((c, h, w), fill, dtype=planes.dtype)
        out[:, inside] = planes[:, yi[inside], xi[inside]]
        return out
    work = np.float64 if planes.dtype == np.float64 else np.float32
    padded = np.pad(planes.astype(work, copy=False), ((0, 0), (1, 1), (1, 1)))
    corners = bilinear_corners(h, w, float(degrees), zoom_in, zoom_out, np.dtype(work).str)
    out = np.zeros((c, h * w), dtype=work)
    for plane, target in zip(padded.reshape(c, -1), out, strict=True):
        for index, weight in corners:
            target += np.take(plane, index) * weight
    return out.reshape(c, h, w)


def imrotate(
    src: np.ndarray,
    rotation_degrees: float | Sequence[float] | np.ndarray,
    zoom_in: bool = False,
    zoom_out: bool = False,
) -> np.ndarray:
    """Rotate a float32 image (CHW) or batch (NCHW) about its centre, as ``mx.image.imrotate``.

    Parameters
    ----------
    src : numpy.ndarray
        float32, ``(C, H, W)`` or ``(N, C, H, W)`` (after ``ToTensor``).
    rotation_degrees : float or sequence of float
        Counter-clockwise angle; a batch takes one angle or one per image.
    zoom_in : bool, default False
        Enlarge so that no padding shows.
    zoom_out : bool, default False
        Shrink so that the whole image shows.

    Returns
    -------
    numpy.ndarray
        float32 of ``src``'s shape. Bilinear; points outside the image read 0.

    Raises
    ------
    ValueError
        Both zooms, a rank other than 3 or 4, or a number of angles that is not the batch's.
    TypeError
        ``src`` not float32, or one image with several angles.
    """
    if zoom_in and zoom_out:
        raise ValueError("`zoom_in` and `zoom_out` cannot be both True")
    if np.dtype(src.dtype) != np.float32:
        raise TypeError(f"Only `float32` images are supported by this function, got {src.dtype}")
    if src.ndim == 3:
        if not _is_scalar(rotation_degrees):
            raise TypeError(
                "When a single image is passed the rotation angle is required to be a scalar."
            )
        return rotate_planes(src, float(rotation_degrees), zoom_in, zoom_out)  # type: ignore[arg-type]
    if src.ndim != 4:
        raise ValueError(f"Only 3D and 4D are supported by this function, got shape {src.shape}")
    if _is_scalar(rotation_degrees):
        angles = np.full(len(src), float(rotation_degrees))  # type: ignore[arg-type]
    else:
        angles = np.asarray(rotation_degrees, dtype=np.float64).reshape(-1)
    if len(angles) != len(src):
        raise ValueError(
            f"The number of images must be equal to the number of rotation angles "
            f"({len(src)} images, {len(angles)} angles)"
        )
    out = np.empty_like(src)
    for i, (img, angle) in enumerate(zip(src, angles, strict=True)):
        out[i] = rotate_planes(img, angle, zoom_in, zoom_out)
    return out


def random_rotate(
    src: np.ndarray,
    angle_limits: Sequence[float],
    zoom_in: bool = False,
    zoom_out: bool = False,
) -> np.ndarray:
    """Rotate by an angle drawn uniformly from ``angle_limits`` (one per image of a batch).

    The angles come from the current sample's generator (:mod:`gluondata.random`).
    See :func:`imrotate` for the rest.
    """
    lower, upper = angle_limits
    rng = generator()
    if src.ndim == 3:
        return imrotate(src, float(rng.uniform(lower, upper)), zoom_in, zoom_out)
    return imrotate(src, rng.uniform(lower, upper, size=len(src)), zoom_in, zoom_out)


def _is_scalar(value: object) -> bool:
    return isinstance(value, Number) or (isinstance(value, np.ndarray) and value.ndim == 0)
