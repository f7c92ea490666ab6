"""ImageRecordDataset: decoded images and labels from a RecordIO file made by im2rec."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..dataset import RecordFileDataset
from ..image import imdecode
from ..random import indexed
from ..recordio import RecordIOError, unpack

__all__ = ["ImageRecordDataset"]


class ImageRecordDataset(RecordFileDataset):
    """Images and labels packed in a RecordIO file (Gluon's ``vision.ImageRecordDataset``).

    Sample ``i`` is ``(image, label)`` for the record on line ``i + 1`` of the
    .idx, or ``transform(image, label)`` when a transform is given.

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
    ) -> None:
        if flag not in (0, 1):
            raise ValueError(f"flag must be 0 (grayscale) or 1 (colour), got {flag!r}")
        super().__init__(filename)
        self._flag = flag
        self._transform = transform

    def __getitem__(self, idx: int) -> Any:
        return self._sample(idx, super().__getitem__(idx))

    def __getitems__(self, indices: Sequence[int]) -> list[Any]:
        samples = []
        for idx, record in zip(indices, super().__getitems__(indices), strict=True):
            with indexed(idx):
                samples.append(self._sample(idx, record))
        return samples

    def _sample(self, idx: int, record: bytes) -> Any:
        try:
            header, payload = unpack(record)
            image = imdecode(payload, self._flag)
        except (ValueError, OSError) as err:
            key = self._keys[idx]
            key = key.item() if isinstance(key, np.generic) else key
            raise RecordIOError(
                f"{self.filename}: sample {idx} (key {key!r}, byte offset "
                f"{self._record.idx[key]}): {err}"
            ) from err
        if self._transform is not None:
            return self._transform(image, header.label)
        return image, header.label
