"""Datasets of encoded images and labels, with decode fused into the first transform.

A subclass says where sample ``i``'s encoded bytes are (:meth:`encoded`, and
optionally :meth:`encoded_many` for a batched read); this base decodes them,
applies ``transform(img, label)``, and, under ``transform_first(t)`` with a
built-in transform ``t``, hands ``t`` the encoded image so that a leading
crop/resize decodes a JPEG at a reduced scale (see :mod:`gluondata.image._fused`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._loader.columns import SampleSink
from .._loader.fetch import add_note
from ..dataset import Dataset
from ..image._backend import check_backend, preload, use_backend
from ..image._decode import Buffer, Encoded, check_flag, open_image, to_array
from ..image._fused import scaled_decode
from ..random import indexed
from .transforms._base import Transform, fuses_decode

__all__ = ["EncodedImageDataset"]

EncodedSample = tuple[Buffer, str | None, Any]
Decoder = Callable[[Encoded, int, bool], np.ndarray]


class EncodedImageDataset(Dataset):
    """Base of the image datasets: sample ``i`` is ``(decoded image, label)``.

    Subclasses implement :meth:`encoded` (and ``__len__``); one that can read
    several samples' bytes in one request also overrides :meth:`encoded_many`,
    which ``transform_first`` then uses for whole batches.

    Parameters
    ----------
    flag : {0, 1}
        1: RGB ``(H, W, 3)`` uint8; 0: grayscale ``(H, W, 1)``.
    transform : callable, optional
        ``transform(img, label)``; its result is the sample.
    backend : {"pillow", "opencv"}, optional
        The image library that decodes (and resizes, in the transforms this
        dataset applies or fuses); default: the one in force
        (:func:`gluondata.image.get_backend`).
    """

    def __init__(
        self,
        flag: int,
        transform: Callable[[Any, Any], Any] | None,
        backend: str | None = None,
    ) -> None:
        self._flag = check_flag(flag)
        self._transform = transform
        self._backend = None if backend is None else check_backend(backend)
        preload(self._backend)  # before workers fork, so that they share it

    def encoded(self, idx: int) -> EncodedSample:
        """Return sample ``idx``'s encoded image, its file name (or None) and its label."""
        raise NotImplementedError

    def encoded_many(self, indices: Sequence[int]) -> list[EncodedSample]:
        """Return :meth:`encoded` of each index, in order (one by one unless overridden)."""
        return [self.encoded(int(i)) for i in indices]

    def decode(self, idx: int, data: Buffer, name: str | None, apply: Decoder = to_array) -> Any:
        """Decode sample ``idx``'s encoded image with ``apply(encoded, flag, to_rgb)``.

        ``apply`` is the plain decode, or a transform's fused ``decode_apply``.
        A subclass may override this to say more about where a bad image came
        from (``idx`` is there for that).
        """
        return apply(open_image(data, name), self._flag, True)

    def __getitem__(self, idx: int) -> Any:
        return self._sample(idx, self.encoded(idx))

    def _sample(self, idx: int, item: EncodedSample) -> Any:
        data, name, label = item
        with use_backend(self._backend):
            img = self.decode(idx, data, name)
            if self._transform is not None:
                return self._transform(img, label)
        return img, label

    def transform_first(
        self, fn: Callable[[Any], Any], lazy: bool = True, scaled_decode: bool = True
    ) -> Dataset:
        """Like :meth:`Dataset.transform_first`; a built-in transform also fuses the decode.

        When ``fn`` is a built-in transform (or a ``Compose`` of them) whose
        first step crops or resizes, the image is decoded and cropped in one
        go, at a reduced JPEG scale when the output is much smaller than the
        crop (``scaled_decode=False``: always at full size, which gives the
        array path's pixels exactly). Random draws are the same as on the
        decoded image. A subclass of a built-in transform that overrides
        ``forward``, ``__call__`` or ``decode_apply``, and any other callable,
        is applied to the decoded image instead.
        """
        if lazy and self._transform is None and fuses_decode(fn):
            batched = type(self).encoded_many is not EncodedImageDataset.encoded_many
            return (_BatchedDecodeFused if batched else _DecodeFused)(self, fn, scaled_decode)
        return super().transform_first(fn, lazy)


class _DecodeFused(Dataset):
    """``(fn(decode(image)), label)``, with ``fn`` steering the decode."""

    def __init__(self, source: EncodedImageDataset, fn: Transform, scaled: bool) -> None:
        self._source = source
        self._fn = fn
        self._scaled = scaled

    def __len__(self) -> int:
        return len(self._source)

    def __getitem__(self, idx: int) -> tuple[Any, Any]:
        return self._sample(idx, self._source.encoded(idx))

    def _sample(self, idx: int, item: EncodedSample) -> tuple[Any, Any]:
        data, name, label = item
        with use_backend(self._source._backend), scaled_decode(self._scaled):
            return self._source.decode(idx, data, name, self._fn.decode_apply), label

    def __repr__(self) -> str:
        return f"{self._source!r}.transform_first({self._fn!r})"


class _BatchedDecodeFused(_DecodeFused):
    """A fused dataset over a source with a batched read, which it keeps."""

    def __getitems__(self, indices: Sequence[int]) -> list[tuple[Any, Any]]:
        return self._getitems_into(indices, [])

    def _getitems_into(self, indices: Sequence[int], samples: SampleSink) -> SampleSink:
        return per_sample(indices, self._source.encoded_many(indices), self._sample, samples)


def per_sample(
    indices: Sequence[int],
    items: Sequence[Any],
    make: Callable[[int, Any], Any],
    samples: SampleSink,
) -> SampleSink:
    """Append ``make(idx, item)`` for each index and its fetched item to ``samples``; return it.

    For a batched ``__getitems__`` (``samples`` a list) or ``_getitems_into``
    (see :func:`gluondata._loader.fetch.run_batch`). Each runs under its
    index's random key; an error gets a note naming the index.
    """
    for idx, item in zip(indices, items, strict=True):
        try:
            with indexed(int(idx)):
                samples.append(make(int(idx), item))
        except Exception as exc:
            add_note(exc, f"gluondata: raised while loading dataset index {idx}")
            raise
    return samples
