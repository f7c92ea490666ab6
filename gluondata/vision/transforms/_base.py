"""The transform protocol, ``Compose`` (with its fusions) and ``RandomApply``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ...image._decode import Encoded, to_array
from ...random import generator

__all__ = ["Compose", "RandomApply", "Transform", "fuses_decode"]

_PACKAGE = __name__.partition(".")[0]
_FUSED_METHODS = ("forward", "__call__", "decode_apply")


class Transform:
    """Base of the built-in transforms: numpy in, numpy out, picklable.

    ``t(x)`` returns the transformed ``x``; ``t(x, *rest)`` returns
    ``(t(x), *rest)``, so a transform can be given a whole ``(data, label)``
    sample (as MXNet 2's transforms allow) as well as used with
    ``Dataset.transform_first``.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Transform one image (or a batch, where stated)."""
        raise NotImplementedError

    def __call__(self, x: np.ndarray, *rest: Any) -> Any:
        out = self.forward(x)
        return (out, *rest) if rest else out

    def decode_apply(self, enc: Encoded, flag: int, to_rgb: bool) -> np.ndarray:
        """Decode an encoded image and transform it (geometry transforms fuse the two)."""
        return self.forward(to_array(enc, flag, to_rgb))

    def __repr__(self) -> str:
        fields = ", ".join(f"{k.lstrip('_')}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


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
    """

    def __init__(self, transforms: Sequence[Callable[[np.ndarray], np.ndarray]]) -> None:
        self.transforms = _fuse(list(transforms))

    def forward(self, x: np.ndarray) -> np.ndarray:
        for t in self.transforms:
            x = t(x)
        return x

    def decode_apply(self, enc: Encoded, flag: int, to_rgb: bool) -> np.ndarray:
        """Let the first transform decode (fused when it is geometric), then apply the rest."""
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


def fuses_decode(fn: Any) -> bool:
    """Whether ``fn.decode_apply(enc, ...)`` is ``fn`` applied to the decoded image.

    True for the built-in transforms and for subclasses that override none of
    ``forward``, ``__call__`` and ``decode_apply`` (a subclass that changes
    only its parameters or its ``plan`` still fuses). A subclass that overrides
    one of them, or any other callable, gets the decoded array instead.
    """
    if not isinstance(fn, Transform):
        return False
    cls = type(fn)
    for name in _FUSED_METHODS:
        module = getattr(getattr(cls, name), "__module__", None) or ""
        if module != _PACKAGE and not module.startswith(_PACKAGE + "."):
            return False
    return True


def _fuse(transforms: list[Any]) -> list[Any]:
    """Replace each ``ToTensor`` directly followed by ``Normalize`` by their one-pass fusion."""
    from ._tensor import Normalize, ToTensor, ToTensorNormalize

    fused: list[Any] = []
    for t in transforms:
        if isinstance(t, Normalize) and fused and type(fused[-1]) is ToTensor:
            fused[-1] = ToTensorNormalize(t.mean, t.std)
        else:
            fused.append(t)
    return fused
