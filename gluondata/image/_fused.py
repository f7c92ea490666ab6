"""Decode, crop and resize in one go, decoding JPEGs at a reduced scale when it pays.

A JPEG decoder can produce the image at 1/2, 1/4 or 1/8 size almost for free
(it skips the high-frequency DCT coefficients: Pillow's ``Image.draft``). When
the crop is much larger than the output (a 500x375 photo cropped and resized to
224, or shrunk to 64), :func:`decode_plan` picks the largest reduction that
keeps the crop at or above the output size, maps the crop box to the reduced
image (sub-pixel exact) and lets Pillow crop and resize in one pass; the
filter then also reads the pixels just outside the box, so a crop's border
pixels differ slightly from the array path's. Without a reduction, the image is
cropped first and the crop resized, which gives the array path's pixels
exactly. docs/vision.md gives the measured speed-up and pixel difference.
Within :func:`scaled_decode` ``(False)`` every decode is at full size.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar

import numpy as np
from PIL import Image

from .._stages import timed
from ._backend import use_opencv
from ._decode import Encoded, draft, load, pixels, to_array, turbo_rgb
from ._geometry import Plan, Size
from ._resize import crop_resize, pil_resize

__all__ = ["REDUCTIONS", "decode_plan", "reduction", "scaled_decode"]

REDUCTIONS = (8, 4, 2)
_scaled: ContextVar[bool] = ContextVar("gluondata_scaled_decode", default=True)


@contextlib.contextmanager
def scaled_decode(allowed: bool) -> Iterator[None]:
    """Allow (or, with False, forbid) reduced-scale JPEG decodes in this thread within the block."""
    token = _scaled.set(allowed)
    try:
        yield
    finally:
        _scaled.reset(token)


def reduction(box_size: Size, out_size: Size) -> int:
    """The largest JPEG scale-down (8, 4, 2 or 1) keeping ``box_size`` at or above ``out_size``."""
    (w, h), (tw, th) = box_size, out_size
    for scale in REDUCTIONS:
        if w >= tw * scale and h >= th * scale:
            return scale
    return 1


@timed("decode")
def decode_plan(
    enc: Encoded, flag: int, to_rgb: bool, make_plan: Callable[[Size], Plan]
) -> np.ndarray:
    """Decode ``enc`` and apply the plan that ``make_plan((width, height))`` returns.

    The plan is made from the image's size (read from the header) before any
    pixel is decoded, so a random plan draws the same numbers as it would on
    the decoded array.
    """
    plan = make_plan(enc.size)
    x0, y0, w, h = plan.box
    width, height = enc.size
    fits = w > 0 and h > 0 and x0 >= 0 and y0 >= 0 and x0 + w <= width and y0 + h <= height
    direct = enc.img.format == "JPEG" and enc.orientation == 1 and plan.interp != 0
    if not (direct and fits):
        return crop_resize(to_array(enc, flag, to_rgb), plan)
    resize = plan.size != (w, h)
    factor = reduction((w, h), plan.size) if resize and _scaled.get() else 1
    if factor == 1 and use_opencv():  # the array path: OpenCV decodes and resizes
        return crop_resize(to_array(enc, flag, to_rgb), plan)
    colour = flag != 0  # libjpeg-turbo (simplejpeg) decodes colour JPEGs; gray goes to Pillow
    if colour and factor == 1:
        decoded = turbo_rgb(enc, 1, to_rgb)
        if decoded is not None:  # the array path's pixels, without copying the image into Pillow
            return crop_resize(decoded, plan)
    decoded = turbo_rgb(enc, factor) if colour and factor > 1 else None
    if decoded is not None:
        scale = round(width / decoded.shape[1])
        img = Image.fromarray(decoded)
    else:
        scale = draft(enc, gray=flag == 0, scale=factor)
        img = load(enc)
    if img.mode not in ("RGB", "L"):  # e.g. CMYK: convert before filtering
        img = img.convert("RGB")
    if scale == 1 and use_opencv():  # a reduction the decoder refused: OpenCV resizes
        return crop_resize(pixels(img, flag, to_rgb), plan)
    if scale == 1:  # crop, then resize the crop alone: the array path's pixels exactly
        img = img.crop((x0, y0, x0 + w, y0 + h))
        return pixels(pil_resize(img, plan.size, plan.interp) if resize else img, flag, to_rgb)
    box = (x0 / scale, y0 / scale, w / scale, h / scale)
    return pixels(pil_resize(img, plan.size, plan.interp, box), flag, to_rgb)
