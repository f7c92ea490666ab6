"""The functions of ``mx.image``: decode, resize, crop, normalize, pad.

Re-exported by :mod:`gluondata.image`, whose docstring gives the conventions.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from ..random import generator
from . import _decode, _geometry
from ._backend import use_backend
from ._decode import Buffer, ImageDecodeError
from ._geometry import Box, Size, scale_down
from ._resize import crop_resize

__all__ = [
    "ImageDecodeError",
    "center_crop",
    "color_normalize",
    "copyMakeBorder",
    "fixed_crop",
    "imdecode",
    "imread",
    "imresize",
    "random_crop",
    "random_size_crop",
    "resize_short",
    "scale_down",
]


def imdecode(
    buf: Buffer, flag: int = 1, to_rgb: bool = True, backend: str | None = None
) -> np.ndarray:
    """Decode an encoded image (JPEG, PNG, BMP, ...) to a numpy array.

    Parameters
    ----------
    buf : bytes, bytearray, memoryview or numpy.ndarray of uint8
        The encoded image.
    flag : int, default 1
        1: colour, shape ``(H, W, 3)``; 0: grayscale, shape ``(H, W, 1)``.
    to_rgb : bool, default True
        Channel order RGB; False gives OpenCV's BGR.
    backend : {"pillow", "opencv"}, optional
        The decoder; default: the one in force (:func:`gluondata.image.get_backend`).

    Returns
    -------
    numpy.ndarray
        uint8 HWC pixels. Alpha is dropped, palettes are expanded and 16-bit
        samples keep their high byte, as in MXNet.

    Raises
    ------
    ImageDecodeError
        (a ``ValueError``) for data that is empty, not an image, or truncated;
        the message gives the length and first bytes.
    ValueError
        For a ``str`` buffer or a bad ``flag``.
    """
    encoded = _decode.open_image(buf)
    with use_backend(backend):
        return _decode.to_array(encoded, _decode.check_flag(flag), to_rgb)


def imread(
    filename: str | os.PathLike[str],
    flag: int = 1,
    to_rgb: bool = True,
    backend: str | None = None,
) -> np.ndarray:
    """Read and decode an image file; see :func:`imdecode` (``backend`` too).

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    ImageDecodeError
        When it is not a decodable image; the message names the file.
    """
    encoded = _decode.open_image(_decode.read_file(filename), os.fspath(filename))
    with use_backend(backend):
        return _decode.to_array(encoded, _decode.check_flag(flag), to_rgb)


def imresize(
    src: np.ndarray, w: int, h: int, interp: int = 1, backend: str | None = None
) -> np.ndarray:
    """Resize an HW or HWC array to exactly ``w`` x ``h`` (note the order: width first).

    Parameters
    ----------
    src : numpy.ndarray
        The image; any dtype (uint8 and float32 are the fast cases).
    w, h : int
        The output width and height.
    interp : int, default 1
        0 nearest (exact OpenCV indices), 1 bilinear, 2 bicubic, 3 area,
        4 Lanczos, 9 auto (by direction), 10 random.
    backend : {"pillow", "opencv"}, optional
        The resampler; default: the one in force (:func:`gluondata.image.get_backend`).

    Returns
    -------
    numpy.ndarray
        A new ``(h, w[, C])`` array of ``src``'s dtype.
    """
    height, width = src.shape[:2]
    method = _geometry.interp_method(interp, (height, width, h, w))
    if (w, h) == (width, height):
        return src.copy()
    with use_backend(backend):
        return crop_resize(src, _geometry.Plan((0, 0, width, height), (int(w), int(h)), method))


def resize_short(src: np.ndarray, size: int, interp: int = 2) -> np.ndarray:
    """Resize so that the shorter side is ``size``; the longer one keeps the ratio (floored).

    The default interpolation is bicubic, as in MXNet (whose docstring says area).
    """
    height, width = src.shape[:2]
    new_w, new_h = _geometry.resize_short_size((width, height), size)
    return imresize(src, new_w, new_h, interp)


def fixed_crop(
    src: np.ndarray,
    x0: int,
    y0: int,
    w: int,
    h: int,
    size: Size | None = None,
    interp: int = 2,
) -> np.ndarray:
    """Crop ``src[y0:y0+h, x0:x0+w]``, then resize to ``size`` = ``(w, h)`` if it differs.

    Returns
    -------
    numpy.ndarray
        A view of ``src`` when no resize is needed (copy it before changing it
        in place), else a new array.
    """
    return crop_resize(src, _geometry.fixed_plan((x0, y0, w, h), size, interp))


def center_crop(src: np.ndarray, size: Size, interp: int = 2) -> tuple[np.ndarray, Box]:
    """Crop the centre at ``size``'s aspect ratio and resize to ``size`` = ``(w, h)``.

    The crop is ``size`` itself when it fits, else the largest centred region
    with its aspect ratio (then up-sampled).

    Returns
    -------
    (numpy.ndarray, (x0, y0, w, h))
        The cropped image and the box taken from ``src``.
    """
    box = _geometry.center_box(_size_of(src), size)
    return fixed_crop(src, *box, size=size, interp=interp), box


def random_crop(src: np.ndarray, size: Size, interp: int = 2) -> tuple[np.ndarray, Box]:
    """Crop ``size`` (scaled down to fit) at a random place; resize to ``size`` if needed.

    Random numbers come from the current sample's generator (see
    :mod:`gluondata.random`), so a seeded DataLoader gives the same crops for
    any number of workers.

    Returns
    -------
    (numpy.ndarray, (x0, y0, w, h))
        The cropped image and the box taken from ``src``.
    """
    box = _geometry.random_box(_size_of(src), size, generator())
    return fixed_crop(src, *box, size=size, interp=interp), box


def random_size_crop(
    src: np.ndarray,
    size: Size,
    area: float | Sequence[float],
    ratio: Sequence[float],
    interp: int = 2,
    **kwargs: object,
) -> tuple[np.ndarray, Box]:
    """Crop a random area fraction at a random aspect ratio, resized to ``size``.

    Parameters
    ----------
    src : numpy.ndarray
        HW or HWC image.
    size : (int, int)
        Output ``(w, h)``.
    area : float or (float, float)
        Range of the crop's area as a fraction of the image (a float ``a``
        means ``(a, 1.0)``). The deprecated keyword ``min_area`` replaces it.
    ratio : (float, float)
        Range of the crop's width/height, drawn log-uniformly.
    interp : int, default 2
        Interpolation code (see :func:`imresize`).

    Returns
    -------
    (numpy.ndarray, (x0, y0, w, h))
        After 10 tries that do not fit, MXNet's fallback: :func:`center_crop`.
    """
    area = _geometry.pop_min_area(area, dict(kwargs))
    box = _geometry.random_size_box(_size_of(src), size, area, ratio, generator())
    return fixed_crop(src, *box, size=size, interp=interp), box


def color_normalize(
    src: np.ndarray, mean: float | np.ndarray, std: float | np.ndarray | None = None
) -> np.ndarray:
    """Return ``(src - mean) / std``, in place when ``src`` is a float array (as MXNet does).

    Integer input gives a new float32 array. ``mean`` and ``std`` broadcast
    against ``src`` (per channel: shape ``(C,)`` for HWC).
    """
    if not np.issubdtype(src.dtype, np.floating):
        src = src.astype(np.float32)
    src -= np.asarray(mean, dtype=src.dtype)
    if std is not None:
        src /= np.asarray(std, dtype=src.dtype)
    return src


_BORDERS = {0: "constant", 1: "edge", 2: "symmetric", 3: "wrap", 4: "reflect"}


def copyMakeBorder(
    src: np.ndarray,
    top: int,
    bot: int,
    left: int,
    right: int,
    type: int = 0,
    value: float = 0,
    values: Sequence[float] = (),
) -> np.ndarray:
    """Pad an HW or HWC image (OpenCV's border types).

    Parameters
    ----------
    top, bot, left, right : int
        Rows and columns to add on each side.
    type : int, default 0
        0 constant, 1 replicate, 2 reflect (edge pixel repeated), 3 wrap,
        4 reflect-101 (edge pixel not repeated).
    value : float
        The fill for ``type=0``.
    values : sequence of float, optional
        Per-channel fills for ``type=0`` (override ``value``).
    """
    if type not in _BORDERS:
        raise ValueError(f"border type must be one of 0..4, got {type}")
    pad = [(top, bot), (left, right)] + [(0, 0)] * (src.ndim - 2)
    if type != 0:
        return np.pad(src, pad, mode=_BORDERS[type])
    out = np.empty(
        (src.shape[0] + top + bot, src.shape[1] + left + right, *src.shape[2:]), dtype=src.dtype
    )
    out[...] = np.asarray(values, dtype=src.dtype) if len(values) else value
    out[top : top + src.shape[0], left : left + src.shape[1]] = src
    return out


def _size_of(src: np.ndarray) -> Size:
    return src.shape[1], src.shape[0]
