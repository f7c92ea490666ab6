"""Crop and resize HW / HWC numpy arrays: numpy for nearest, the backend's filters otherwise.

Nearest-neighbour picks ``src = floor(dst * src_len / dst_len)``, OpenCV's
(and so MXNet's) convention, exactly, for any dtype and channel count. The
other interpolations use OpenCV's ``cv2.resize`` under the default
``"opencv"`` backend (see :mod:`gluondata.image._backend`) — MXNet's own
filters, without anti-aliasing when shrinking, about eight times faster than
Pillow's. Under ``"pillow"`` (and for dtypes OpenCV does not resize) they use
Pillow's filters (bilinear, bicubic, box for "area", Lanczos), which
anti-alias when shrinking: uint8 with 1 or 3 channels in one call, other
layouts and dtypes channel by channel in 32-bit float, then back to the input
dtype (rounded and clipped for integers).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from ._backend import opencv, use_opencv
from ._geometry import Box, Plan, Size

__all__ = ["FILTERS", "crop_resize", "pil_resize", "to_dtype"]
_OPENCV_DTYPES = (np.uint8, np.uint16, np.int16, np.float32, np.float64)

FILTERS = {
    1: Image.BILINEAR,
    2: Image.BICUBIC,
    3: Image.BOX,
    4: Image.LANCZOS,
}


def crop_resize(src: np.ndarray, plan: Plan) -> np.ndarray:
    """Apply ``plan`` to an HW or HWC array.

    Returns a view of ``src`` when the plan only crops, else a new array of
    ``src``'s dtype.
    """
    x0, y0, w, h = plan.box
    height, width = src.shape[:2]
    if w <= 0 or h <= 0 or x0 < 0 or y0 < 0 or x0 + w > width or y0 + h > height:
        raise ValueError(
            f"crop box (x0={x0}, y0={y0}, w={w}, h={h}) does not fit in the {width}x{height} image"
        )
    tw, th = plan.size
    if tw <= 0 or th <= 0:
        raise ValueError(f"cannot resize to {tw}x{th}: sizes must be positive")
    crop = src[y0 : y0 + h, x0 : x0 + w]
    if (tw, th) == (w, h):
        return crop
    if plan.interp == 0:
        rows = (np.arange(th, dtype=np.int64) * h) // th
        cols = (np.arange(tw, dtype=np.int64) * w) // tw
        return crop[np.ix_(rows, cols)]
    return _filtered(crop, (tw, th), plan.interp)


def pil_resize(img: Image.Image, size: Size, interp: int, box: Box | None = None) -> Image.Image:
    """Resize a Pillow image (optionally a float ``box`` region of it) with MXNet's codes 1-4."""
    if box is None:
        return img.resize(size, FILTERS[interp])
    x0, y0, w, h = box
    return img.resize(size, FILTERS[interp], box=(x0, y0, x0 + w, y0 + h))


def _opencv_resize(crop: np.ndarray, size: Size, interp: int) -> np.ndarray:
    out = opencv().resize(np.ascontiguousarray(crop), size, interpolation=interp)
    return out.reshape(out.shape[:2] + crop.shape[2:])


def _filtered(crop: np.ndarray, size: Size, interp: int) -> np.ndarray:
    if crop.dtype in _OPENCV_DTYPES and use_opencv():
        return _opencv_resize(crop, size, interp)
    if crop.dtype == np.uint8 and (crop.ndim == 2 or crop.shape[2] in (1, 3)):
        flat = crop if crop.ndim == 2 or crop.shape[2] == 3 else crop[:, :, 0]
        out = np.asarray(pil_resize(Image.fromarray(np.ascontiguousarray(flat)), size, interp))
        return out.reshape(out.shape[:2] + crop.shape[2:])
    planes = crop[:, :, None] if crop.ndim == 2 else crop
    out = np.empty((size[1], size[0], planes.shape[2]), dtype=crop.dtype)
    for c in range(planes.shape[2]):
        plane = np.ascontiguousarray(planes[:, :, c], dtype=np.float32)
        resized = np.asarray(pil_resize(Image.fromarray(plane), size, interp))
        out[:, :, c] = to_dtype(resized, crop.dtype)
    return out.reshape(out.shape[:2] + crop.shape[2:])


def to_dtype(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Convert computed (float) values back to ``dtype``.

    Integers are rounded to the nearest value and clipped to the dtype's range
    (MXNet's ``saturate_cast`` truncates instead, which turns float error into
    off-by-one pixels); booleans are thresholded at 0.5; floats are cast.
    """
    if dtype == np.bool_:
        return values > 0.5
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.clip(np.rint(values), info.min, info.max).astype(dtype)
    return values.astype(dtype, copy=False)
