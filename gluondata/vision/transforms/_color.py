"""Colour transforms: brightness, contrast, saturation, hue, jitter, lighting, gray.

They follow MXNet's ``gluon.data.vision.transforms`` (its C++ operators):
the factor is drawn from ``U(max(0, 1 - p), 1 + p)`` and the result keeps the
input dtype. They work on HWC images (and NHWC batches) with 3 channels, or 1
(left unchanged where colour has no meaning); another channel count, such as a
CHW tensor after ``ToTensor``, is an error. Integer results are rounded and
clipped to the dtype's range (MXNet's operators truncate, which turns float
error into off-by-one pixels). Two operator bugs are not copied: saturation
blends with the full luma (MXNet's uses only 0.114·B), and hue and lighting
leave a 1-channel image unchanged (MXNet's return zeros).
"""

from __future__ import annotations

import numpy as np

from ...image._augmenters import EIGVAL, EIGVEC
from ...image._resize import to_dtype
from ...random import generator
from ._base import Transform

__all__ = [
    "RandomBrightness",
    "RandomColorJitter",
    "RandomContrast",
    "RandomGray",
    "RandomHue",
    "RandomLighting",
    "RandomSaturation",
]

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
_GRAY = np.array([0.2989, 0.5870, 0.114], dtype=np.float32)


def _factor(strength: float, rng: np.random.Generator) -> float:
    return float(rng.uniform(max(0.0, 1.0 - strength), 1.0 + strength))


def _is_rgb(x: np.ndarray, name: str) -> bool:
    """Whether ``x`` holds RGB pixels on its last axis (HWC, NHWC, or ``(N, 3)`` pixels).

    False for 1 channel and for another 2-D array (an HW grayscale image).

    Raises
    ------
    ValueError
        For 3 or more dimensions with a last axis that is neither 1 nor 3 (a
        CHW tensor, say), naming the transform ``name``.
    """
    if x.shape[-1] == 3:
        return True
    if x.ndim < 3 or x.shape[-1] == 1:
        return False
    raise ValueError(
        f"{name} expects HWC or NHWC images with 1 or 3 channels (apply it before ToTensor), "
        f"got shape {x.shape}"
    )


def _float(x: np.ndarray) -> np.ndarray:
    return x if x.dtype in (np.float32, np.float64) else x.astype(np.float32)


def adjust_brightness(x: np.ndarray, alpha: float) -> np.ndarray:
    """``x * alpha``."""
    return to_dtype(_float(x) * alpha, x.dtype)


def adjust_contrast(x: np.ndarray, alpha: float) -> np.ndarray:
    """``x * alpha + (1 - alpha) * mean luma``."""
    values = _float(x)
    if _is_rgb(x, "RandomContrast"):
        gray = float((values @ _LUMA.astype(values.dtype)).mean())
    else:
        gray = float(values.mean())
    return to_dtype(values * alpha + (1.0 - alpha) * gray, x.dtype)


def adjust_saturation(x: np.ndarray, alpha: float) -> np.ndarray:
    """Blend each pixel with its luma: ``x * alpha + (1 - alpha) * luma``."""
    if not _is_rgb(x, "RandomSaturation"):
        return x
    values = _float(x)
    gray = (values @ _LUMA.astype(values.dtype))[..., None]
    return to_dtype(values * alpha + (1.0 - alpha) * gray, x.dtype)


def rotate_hue(x: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate the hue (HLS / HSV hexcone) by ``degrees``, keeping each pixel's max and min.

    Computed on one contiguous float copy of the three planes, in place.
    """
    if not _is_rgb(x, "RandomHue"):
        return x
    dtype = np.float64 if x.dtype == np.float64 else np.float32
    planes = np.moveaxis(x, -1, 0).astype(dtype, order="C")
    r, g, b = planes
    high = np.maximum(r, g)
    np.maximum(high, b, out=high)
    delta = np.minimum(r, g)
    np.minimum(delta, b, out=delta)
    np.subtract(high, delta, out=delta)
    inv = np.divide(1.0, delta, out=np.zeros_like(delta), where=delta > 0)
    # The hue in sextants [0, 6): (g - b) / delta when red is the largest,
    # (b - r) / delta + 2 when green is, (r - g) / delta + 4 when blue is.
    hue = np.subtract(r, g)
    hue *= inv
    hue += 4
    tmp = np.subtract(b, r)
    tmp *= inv
    tmp += 2
    np.copyto(hue, tmp, where=high == g)
    np.subtract(g, b, out=tmp)
    tmp *= inv
    np.copyto(hue, tmp, where=high == r)
    hue += dtype(degrees / 60.0)
    np.multiply(hue, dtype(1.0 / 6.0), out=tmp)
    np.floor(tmp, out=tmp)
    tmp *= 6
    hue -= tmp
    # Back to RGB: channel = high - delta * clip(min(k, 4 - k), 0, 1), k = (n + hue) mod 6.
    for plane, n in zip(planes, (5, 3, 1), strict=True):
        np.add(hue, n, out=tmp)
        np.subtract(tmp, 6, out=tmp, where=tmp >= 6)
        np.subtract(4, tmp, out=plane)
        np.minimum(plane, tmp, out=plane)
        np.clip(plane, 0, 1, out=plane)
        plane *= delta
        np.subtract(high, plane, out=plane)
    return np.ascontiguousarray(np.moveaxis(to_dtype(planes, x.dtype), 0, -1))


class RandomBrightness(Transform):
    """Scale the pixels by a factor from ``U(max(0, 1 - brightness), 1 + brightness)``."""

    def __init__(self, brightness: float) -> None:
        self.brightness = brightness

    def forward(self, x: np.ndarray) -> np.ndarray:
        return adjust_brightness(x, _factor(self.brightness, generator()))


class RandomContrast(Transform):
    """Blend with the mean luma by a factor from ``U(max(0, 1 - contrast), 1 + contrast)``."""

    def __init__(self, contrast: float) -> None:
        self.contrast = contrast

    def forward(self, x: np.ndarray) -> np.ndarray:
        return adjust_contrast(x, _factor(self.contrast, generator()))


class RandomSaturation(Transform):
    """Blend with each pixel's luma by a factor from ``U(max(0, 1 - s), 1 + s)``."""

    def __init__(self, saturation: float) -> None:
        self.saturation = saturation

    def forward(self, x: np.ndarray) -> np.ndarray:
        return adjust_saturation(x, _factor(self.saturation, generator()))


class RandomHue(Transform):
    """Rotate the hue by ``(a - 1) * 360`` degrees, ``a ~ U(max(0, 1 - hue), 1 + hue)``."""

    def __init__(self, hue: float) -> None:
        self.hue = hue

    def forward(self, x: np.ndarray) -> np.ndarray:
        return rotate_hue(x, (_factor(self.hue, generator()) - 1.0) * 360.0)


class RandomColorJitter(Transform):
    """Brightness, contrast, saturation and hue jitter, in a random order.

    Parameters
    ----------
    brightness, contrast, saturation : float, default 0
        Factor ``1 + U(-p, p)`` (at least 0); 0 disables the step.
    hue : float, default 0
        Hue rotation by ``U(-hue, hue) * 360`` degrees; 0 disables it.
    """

    def __init__(
        self, brightness: float = 0, contrast: float = 0, saturation: float = 0, hue: float = 0
    ) -> None:
        self.brightness = brightness
        self.contrast = contrast
        self.saturation = saturation
        self.hue = hue

    def forward(self, x: np.ndarray) -> np.ndarray:
        if max(self.contrast, self.saturation, self.hue) > 0:
            _is_rgb(x, "RandomColorJitter")  # the layout check, naming this transform
        rng = generator()
        steps = [
            (adjust_brightness, self.brightness),
            (adjust_contrast, self.contrast),
            (adjust_saturation, self.saturation),
            (None, self.hue),
        ]
        for i in rng.permutation(len(steps)):
            op, strength = steps[i]
            if strength <= 0:
                continue
            if op is None:
                x = rotate_hue(x, rng.uniform(-strength, strength) * 360.0)
            else:
                x = op(x, _factor(strength, rng))
        return x


class RandomLighting(Transform):
    """AlexNet-style PCA lighting noise with strength ``alpha`` (ImageNet RGB eigenvectors)."""

    def __init__(self, alpha: float) -> None:
        self.alpha = alpha

    def forward(self, x: np.ndarray) -> np.ndarray:
        if self.alpha <= 0 or not _is_rgb(x, "RandomLighting"):
            return x
        a = generator().normal(0.0, self.alpha, size=3)
        offset = (EIGVEC @ (EIGVAL * a)).astype(np.float32)
        return to_dtype(_float(x) + offset, x.dtype)


class RandomGray(Transform):
    """With probability ``p``, replace RGB by its luma (0.2989, 0.587, 0.114), 3 channels kept.

    The dtype is kept (MXNet 2's returns float32 only when it converts).
    """

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not _is_rgb(x, "RandomGray") or not generator().random() < self.p:
            return x
        gray = _float(x) @ _GRAY
        return to_dtype(np.repeat(gray[..., None], 3, axis=-1), x.dtype)
