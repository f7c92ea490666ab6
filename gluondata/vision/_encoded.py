"""Datasets of encoded images and labels, with decode fused into the first transform.

A subclass says where sample ``i``'s encoded bytes are (:meth:`encoded`);
this base decodes them, applies ``transform(img, label)``, and, under
``transform_first(t)`` with a built-in transform ``t``, hands ``t`` the encoded
image so that a leading crop/resize decodes a JPEG at a reduced scale (see
:mod:`gluondata._fused`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._decode import open_image, to_array
from ..dataset import Dataset
from .transforms import Transform

__all__ = ["EncodedImageDataset"]


class EncodedImageDataset(Dataset):
    """Base of the image datasets: sample ``i`` is ``(decoded image, label)``.

    Parameters
    ----------
    flag : {0, 1}
        1: RGB ``(H, W, 3)`` uint8; 0: grayscale ``(H, W, 1)``.
    transform : callable, optional
        ``transform(img, label)``; its result is the sample.
    """

    def __init__(self, flag: int, transform: Callable[[Any, Any], Any] | None) -> None:
        if flag not in (0, 1):
            raise ValueError(f"flag must be 0 (grayscale) or 1 (colour), got {flag!r}")
        self._flag = flag
        self._transform = transform

    def encoded(self, idx: int) -> tuple[bytes, str | None, Any]:
        """Return sample ``idx``'s encoded image, its file name (or None) and its label."""
        raise NotImplementedError

    def __getitem__(self, idx: int) -> Any:
        data, name, label = self.encoded(idx)
        img = to_array(open_image(data, name), self._flag, True)
        if self._transform is not None:
            return self._transform(img, label)
        return img, label

    def transform_first(self, fn: Callable[[Any], Any], lazy: bool = True) -> Dataset:
        """Like :meth:`Dataset.transform_first`; a built-in transform also fuses the decode.

        When ``fn`` is a built-in transform (or a ``Compose`` of them) whose
        first step crops or resizes, the image is decoded and cropped in one
        go, at a reduced JPEG scale when the output is much smaller than the
        crop. Random draws are the same as on the decoded image.
        """
        if lazy and self._transform is None and isinstance(fn, Transform):
            return _DecodeFused(self, fn)
        return super().transform_first(fn, lazy)


class _DecodeFused(Dataset):
    """``(fn(decode(image)), label)``, with ``fn`` steering the decode."""

    def __init__(self, source: EncodedImageDataset, fn: Transform) -> None:
        self._source = source
        self._fn = fn

    def __len__(self) -> int:
        return len(self._source)

    def __getitem__(self, idx: int) -> tuple[np.ndarray, Any]:
        data, name, label = self._source.encoded(idx)
        return self._fn.decode_apply(open_image(data, name), self._source._flag, True), label

    def __repr__(self) -> str:
        return f"{self._source!r}.transform_first({self._fn!r})"
