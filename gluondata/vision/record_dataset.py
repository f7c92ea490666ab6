"""ImageRecordDataset: decoded images and labels from a RecordIO file made by im2rec."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._loader.columns import SampleSink
from ..dataset import RecordFileDataset
from ..image._decode import Buffer, ImageDecodeError, to_array
from ..recordio import RecordIOError, unpack
from ._encoded import Decoder, EncodedImageDataset, EncodedSample, per_sample

__all__ = ["ImageRecordDataset", "RecordImageDecodeError"]


class RecordImageDecodeError(RecordIOError, ImageDecodeError):
    """A record whose image does not decode.

    Both a :class:`~gluondata.recordio.RecordIOError` and an
    :class:`~gluondata.image.ImageDecodeError` (so also a ``ValueError`` and
    an ``OSError``): the message names the .rec file, the sample, its key and
    the record's byte offset.
    """


class ImageRecordDataset(EncodedImageDataset, RecordFileDataset):
    """Images and labels packed in a RecordIO file (Gluon's ``vision.ImageRecordDataset``).

    Sample ``i`` is ``(image, label)`` for the record on line ``i + 1`` of the
    .idx, or ``transform(image, label)`` when a transform is given. A batch's
    records that lie next to each other in the file are read with one request,
    also through ``transform_first`` (which, with the built-in transforms,
    decodes JPEGs at a reduced scale when the output is small; see
    :class:`EncodedImageDataset`).

    Parameters
    ----------
    filename : str or path-like
        The .rec file; its index is the file of the same name with ``.idx``.
    flag : {0, 1}, default 1
        1: colour images, ``(H, W, 3)`` uint8 in **RGB** order (MXNet's
        OpenCV-based tools packed BGR arrays, but the encoded files are the
        same: decoding gives RGB here as in Gluon); 0: grayscale ``(H, W, 1)``.
    transform : callable, optional
        Called as ``transform(image, label)``; its result is the sample.
    backend : {"pillow", "opencv"}, optional
        The image library that decodes (and resizes, in the transforms the
        dataset applies or fuses); default: :func:`gluondata.image.get_backend`.

    Raises
    ------
    RecordImageDecodeError
        When a sample is read whose image does not decode.
    RecordIOError
        When a sample is read whose record is too short for its header.

    Notes
    -----
    The label is a float when the record was packed with a scalar label, and a
    read-only float32 array when it was packed with several (im2rec's
    ``--pack-label``).
    """

    def __init__(
        self,
        filename: str | os.PathLike,
        flag: int = 1,
        transform: Callable[[Any, Any], Any] | None = None,
        backend: str | None = None,
    ) -> None:
        EncodedImageDataset.__init__(self, flag, transform, backend)
        RecordFileDataset.__init__(self, filename)

    def encoded(self, idx: int) -> EncodedSample:
        """Return sample ``idx``'s encoded image, ``"<file>@<byte offset>"`` and label."""
        return self._unpacked(idx, RecordFileDataset.__getitem__(self, idx))

    def encoded_many(self, indices: Sequence[int]) -> list[EncodedSample]:
        """Return :meth:`encoded` of each index, reading adjacent records in one request."""
        records = RecordFileDataset.__getitems__(self, indices)
        return [self._unpacked(int(i), r) for i, r in zip(indices, records, strict=True)]

    def __getitems__(self, indices: Sequence[int]) -> list[Any]:
        return self._getitems_into(indices, [])

    def _getitems_into(self, indices: Sequence[int], samples: SampleSink) -> SampleSink:
        return per_sample(indices, self.encoded_many(indices), self._sample, samples)

    def decode(self, idx: int, data: Buffer, name: str | None, apply: Decoder = to_array) -> Any:
        """Decode sample ``idx``; a bad image raises :class:`RecordImageDecodeError`."""
        try:
            return super().decode(idx, data, name, apply)
        except ImageDecodeError as err:
            raise RecordImageDecodeError(f"{self._where(idx)}: {err}") from err

    def _unpacked(self, idx: int, record: bytes) -> EncodedSample:
        try:
            header, payload = unpack(record)
        except RecordIOError as err:
            raise RecordIOError(f"{self._where(idx)}: {err}") from err
        return payload, f"{self.filename}@{self._offset(idx)}", header.label

    def _key(self, idx: int) -> Any:
        key = self._keys[idx]
        return key.item() if isinstance(key, np.generic) else key

    def _offset(self, idx: int) -> int:
        return self._record.idx[self._key(idx)]

    def _where(self, idx: int) -> str:
        key, offset = self._key(idx), self._offset(idx)
        return f"{self.filename}: sample {idx} (key {key!r}, byte offset {offset})"
