"""From HWC images to normalized CHW float tensors: ToTensor, Normalize, Cast."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._base import Transform

__all__ = ["Cast", "Normalize", "ToTensor", "ToTensorNormalize"]

_LEVELS = np.arange(256, dtype=np.float32)


class Cast(Transform):
    """Cast to ``dtype``.

    Parameters
    ----------
    dtype : str or numpy dtype, default "float32"
    """

    def __init__(self, dtype: str | np.dtype = "float32") -> None:
        self.dtype = np.dtype(dtype)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x.astype(self.dtype, copy=False)


class ToTensor(Transform):
    """HWC (or NHWC) in [0, 255] to CHW (or NCHW) float32 in [0, 1]: ``x / 255``.

    Any dtype is divided by 255 (floats too, without clipping), as in MXNet.
    A 2-D (H, W) image gives (1, H, W).
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        return _to_chw(x)


class Normalize(Transform):
    """``(x - mean) / std`` per channel of a CHW (or NCHW) float tensor.

    Parameters
    ----------
    mean, std : float or sequence of float
        One value for all channels, or one per channel.
    """

    def __init__(
        self, mean: float | Sequence[float] = 0.0, std: float | Sequence[float] = 1.0
    ) -> None:
        self.mean = _vector(mean, "mean")
        self.std = _vector(std, "std")

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.ndim not in (3, 4):
            raise ValueError(f"Normalize expects CHW or NCHW input, got shape {x.shape}")
        channels = x.shape[-3]
        dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.dtype(np.float32)
        mean = _per_channel(self.mean, channels, "mean").astype(dtype)[:, None, None]
        std = _per_channel(self.std, channels, "std").astype(dtype)[:, None, None]
        out = np.subtract(x, mean, dtype=dtype)
        out /= std
        return out


class ToTensorNormalize(Transform):
    """``Normalize(mean, std)(ToTensor()(x))`` in one pass; :class:`Compose` builds it.

    For uint8 input each channel is one table lookup, with the same float32
    values as the two steps give.
    """

    def __init__(self, mean: np.ndarray, std: np.ndarray) -> None:
        self.mean = _vector(mean, "mean")
        self.std = _vector(std, "std")

    def forward(self, x: np.ndarray) -> np.ndarray:
        channels = 1 if x.ndim == 2 else x.shape[-1]
        mean = _per_channel(self.mean, channels, "mean")
        std = _per_channel(self.std, channels, "std")
        return _to_chw(x, mean, std)


def _to_chw(
    x: np.ndarray, mean: np.ndarray | None = None, std: np.ndarray | None = None
) -> np.ndarray:
    """``(x / 255 - mean) / std`` moved to channels-first, written once into a new array."""
    if x.ndim == 2:
        x = x[:, :, None]
    if x.ndim not in (3, 4):
        raise ValueError(f"ToTensor expects HWC or NHWC input, got shape {x.shape}")
    channels = x.shape[-1]
    src = np.moveaxis(x, -1, -3)
    out = np.empty(src.shape, dtype=np.float32)
    for c in range(channels):
        plane, dst = src[..., c, :, :], out[..., c, :, :]
        if x.dtype == np.uint8:
            table = _LEVELS / np.float32(255)
            if mean is not None:
                table = (table - mean[c]) / std[c]
            np.take(table, plane, out=dst, mode="wrap")
        else:
            np.divide(plane, np.float32(255), out=dst, casting="unsafe")
            if mean is not None:
                dst -= mean[c]
                dst /= std[c]
    return out


def _vector(value: float | Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    vector = np.asarray(value, dtype=np.float32).reshape(-1)
    if vector.size == 0:
        raise ValueError(f"{name} must hold at least one value")
    return vector


def _per_channel(vector: np.ndarray, channels: int, name: str) -> np.ndarray:
    if vector.size == 1:
        return np.repeat(vector, channels)
    if vector.size != channels:
        raise ValueError(f"{name} has {vector.size} values but the input has {channels} channels")
    return vector
