"""``Rotate`` and ``RandomRotation``: MXNet 1.9's, on float32 CHW / NCHW tensors."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...image._rotate import imrotate, random_rotate
from ...random import generator
from ._base import Transform

__all__ = ["RandomRotation", "Rotate"]


def _check_float32(x: np.ndarray) -> None:
    if np.dtype(x.dtype) != np.float32:
        raise TypeError(
            "This transformation only supports float32. "
            f"Consider calling it after ToTensor, given: {x.dtype}"
        )


class Rotate(Transform):
    """Rotate by a fixed angle about the centre, keeping the shape.

    Parameters
    ----------
    rotation_degrees : float
        Counter-clockwise, in degrees.
    zoom_in : bool, default False
        Enlarge so that no padding shows.
    zoom_out : bool, default False
        Shrink so that the whole image shows (not with ``zoom_in``).

    Notes
    -----
    Input: float32 ``(C, H, W)`` or ``(N, C, H, W)`` (after ``ToTensor``), as
    in MXNet; other dtypes raise ``TypeError``. Bilinear, 0 outside
    (:func:`gluondata.image.imrotate`).
    """

    def __init__(
        self, rotation_degrees: float, zoom_in: bool = False, zoom_out: bool = False
    ) -> None:
        if zoom_in and zoom_out:
            raise ValueError("`zoom_in` and `zoom_out` cannot be both True")
        self.rotation_degrees = float(rotation_degrees)
        self.zoom_in = zoom_in
        self.zoom_out = zoom_out

    def forward(self, x: np.ndarray) -> np.ndarray:
        _check_float32(x)
        return imrotate(x, self.rotation_degrees, self.zoom_in, self.zoom_out)


class RandomRotation(Transform):
    """Rotate by a uniform random angle in ``angle_limits``, with probability ``rotate_with_proba``.

    Parameters
    ----------
    angle_limits : (float, float)
        ``(lower, upper)`` in degrees, ``lower < upper``.
    zoom_in, zoom_out : bool, default False
        As in :class:`Rotate`.
    rotate_with_proba : float, default 1.0
        In ``[0, 1]``; otherwise the image is returned unchanged.

    Notes
    -----
    A batch gets one angle per image. The draws come from the sample's
    generator (:mod:`gluondata.random`), so a seeded DataLoader repeats them.
    """

    def __init__(
        self,
        angle_limits: Sequence[float],
        zoom_in: bool = False,
        zoom_out: bool = False,
        rotate_with_proba: float = 1.0,
    ) -> None:
        lower, upper = angle_limits
        if lower >= upper:
            raise ValueError(f"`angle_limits` must be an ordered tuple, got {tuple(angle_limits)}")
        if not 0 <= rotate_with_proba <= 1:
            raise ValueError(
                "Probability of rotating the image should be between 0 and 1, "
                f"got {rotate_with_proba}"
            )
        if zoom_in and zoom_out:
            raise ValueError("`zoom_in` and `zoom_out` cannot be both True")
        self.angle_limits = (float(lower), float(upper))
        self.zoom_in = zoom_in
        self.zoom_out = zoom_out
        self.rotate_with_proba = float(rotate_with_proba)

    def forward(self, x: np.ndarray) -> np.ndarray:
        if generator().random() > self.rotate_with_proba:
            return x
        _check_float32(x)
        return random_rotate(x, self.angle_limits, self.zoom_in, self.zoom_out)
