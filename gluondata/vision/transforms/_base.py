"""The transform protocol: ``Transform``, and which transforms may fuse with the decode."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...image._decode import Encoded, to_array

__all__ = ["Transform", "fuses_decode"]

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
