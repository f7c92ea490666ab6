"""``Compose`` (with its fusions) and ``RandomApply``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..._stages import timed
from ...image._backend import check_backend, use_backend
from ...image._decode import Encoded, to_array
from ...random import generator
from ._base import Transform, fuses_decode
from ._tensor import Normalize, ToTensor, ToTensorNormalize

__all__ = ["Compose", "RandomApply"]


class Compose(Transform):
    """Apply transforms in order.

    Where two neighbours fuse into a cheaper one, ``Compose`` does it:
    ``ToTensor`` followed by ``Normalize`` runs as one float pass (a lookup
    table per channel for uint8 input), and a first geometric transform
    (``Resize``, ``CenterCrop``, ``RandomResizedCrop``, ...) decodes a JPEG at
    a reduced scale when an image dataset hands it the encoded file (see
    ``ImageFolderDataset.transform_first``).

    Parameters
    ----------
    transforms : sequence of callables
        Each maps an image to an image (the list is not modified).
    backend : {"pillow", "opencv"}, optional
        The image library that decodes and resizes within these transforms;
        default: the one in force (:func:`gluondata.image.get_backend`).
    """

    def __init__(
        self,
        transforms: Sequence[Callable[[np.ndarray], np.ndarray]],
        backend: str | None = None,
    ) -> None:
        self.transforms = _fuse(list(transforms))
        self.backend = None if backend is None else check_backend(backend)

    @timed("transform")
    def forward(self, x: np.ndarray) -> np.ndarray:
        with use_backend(self.backend):
            for t in self.transforms:
                x = t(x)
        return x

    @timed("transform")
    def decode_apply(self, enc: Encoded, flag: int, to_rgb: bool) -> np.ndarray:
        """Let the first transform decode (fused when it is geometric), then apply the rest."""
        with use_backend(self.backend):
            if not self.transforms:
                return to_array(enc, flag, to_rgb)
            first = self.transforms[0]
            if fuses_decode(first):
                x = first.decode_apply(enc, flag, to_rgb)
            else:
                x = first(to_array(enc, flag, to_rgb))
            for t in self.transforms[1:]:
                x = t(x)
        return x

    def __repr__(self) -> str:
        inner = ",\n  ".join(repr(t) for t in self.transforms)
        return f"Compose(\n  {inner}\n)"


class RandomApply(Transform):
    """Apply ``transforms`` with probability ``p``.

    Parameters
    ----------
    transforms : callable
        A transform (or a :class:`Compose`).
    p : float, default 0.5
        The probability of applying it.
    """

    def __init__(self, transforms: Callable[[np.ndarray], np.ndarray], p: float = 0.5) -> None:
        self.transforms = transforms
        self.p = p

    def forward(self, x: np.ndarray) -> np.ndarray:
        if generator().random() < self.p:
            return self.transforms(x)
        return x


def _fuse(transforms: list[Any]) -> list[Any]:
    """Replace each ``ToTensor`` directly followed by ``Normalize`` by their one-pass fusion."""
    fused: list[Any] = []
    for t in transforms:
        if isinstance(t, Normalize) and fused and type(fused[-1]) is ToTensor:
            fused[-1] = ToTensorNormalize(t.mean, t.std)
        else:
            fused.append(t)
    return fused
