"""Colour transforms: brightness, contrast, saturation, hue, jitter, lighting, gray.

They follow MXNet's ``gluon.data.vision.transforms`` (its C++ operators):
the factor is drawn from ``U(max(0, 1 - p), 1 + p)``, the result keeps the
input dtype, and uint8 results are clipped to [0, 255] and truncated. Two
operator bugs are not copied: saturation blends with the full luma (MXNet's
uses only 0.114·B), and hue and lighting leave a 1-channel image unchanged
(MXNet's return zeros).
"""

from __future__ import annotations

import numpy as np

from ..._augmenters import EIGVAL, EIGVEC
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


def _saturate(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Back to ``dtype``: round, then clip to the integer range.

    MXNet's saturate_cast truncates instead, which turns float error into
    off-by-one pixels (a gray 90 blended with its own luma came out 89).
    """
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.clip(np.rint(values), info.min, info.max).astype(dtype)
    return values.astype(dtype, copy=False)


def _float(x: np.ndarray) -> np.ndarray:
    return x if x.dtype in (np.float32, np.float64) else x.astype(np.float32)


def adjust_brightness(x: np.ndarray, alpha: float) -> np.ndarray:
    """``x * alpha``."""
    return _saturate(_float(x) * alpha, x.dtype)


def adjust_contrast(x: np.ndarray, alpha: float) -> np.ndarray:
    """``x * alpha + (1 - alpha) * mean luma``."""
    values = _float(x)
    if x.shape[-1] == 3:
        gray = float((values @ _LUMA.astype(values.dtype)).mean())
    else:
        gray = float(values.mean())
    return _saturate(values * alpha + (1.0 - alpha) * gray, x.dtype)


def adjust_saturation(x: np.ndarray, alpha: float) -> np.ndarray:
    """Blend each pixel with its luma: ``x * alpha + (1 - alpha) * luma``."""
    if x.shape[-1] != 3:
        return x
    values = _float(x)
    gray = (values @ _LUMA.astype(values.dtype))[..., None]
    return _saturate(values * alpha + (1.0 - alpha) * gray, x.dtype)


def rotate_hue(x: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate the hue (HLS / HSV hexcone) by ``degrees``, keeping each pixel's max and min."""
    if x.shape[-1] != 3:
        return x
    values = _float(x)
    high, low = values.max(axis=-1), values.min(axis=-1)
    delta = high - low
    r, g, b = values[..., 0], values[..., 1], values[..., 2]
    safe = np.where(delta > 0, delta, 1)
    hue = np.where(
        high == r, ((g - b) / safe) % 6, np.where(high == g, (b - r) / safe + 2, (r - g) / safe + 4)
    )
    hue = (hue + degrees / 60.0) % 6
    out = np.empty_like(values)
    for channel, n in enumerate((5, 3, 1)):
        k = (n + hue) % 6
        out[..., channel] = high - delta * np.clip(np.minimum(k, 4 - k), 0, 1)
    return _saturate(out, x.dtype)


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
        if self.alpha <= 0 or x.shape[-1] != 3:
            return x
        a = generator().normal(0.0, self.alpha, size=3)
        offset = (EIGVEC @ (EIGVAL * a)).astype(np.float32)
        return _saturate(_float(x) + offset, x.dtype)


class RandomGray(Transform):
    """With probability ``p``, replace RGB by its luma (0.2989, 0.587, 0.114), 3 channels kept.

    The dtype is kept (MXNet 2's returns float32 only when it converts).
    """

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.shape[-1] != 3 or not generator().random() < self.p:
            return x
        gray = _float(x) @ _GRAY
        return _saturate(np.repeat(gray[..., None], 3, axis=-1), x.dtype)
