"""MNISTIter: batches of MNIST-style idx-ubyte images and labels, as MXNet's C++ iterator."""

from __future__ import annotations

import os

import numpy as np

from ..image._idx import IDX_IMAGES, IDX_LABELS, read_idx
from ._base import BatchIter, DataBatch, DataDesc, positive_batch_size
from ._records import check_part

__all__ = ["MNISTIter"]


class MNISTIter(BatchIter):
    """Batches of an idx-ubyte image file and its label file (``mx.io.MNISTIter``).

    Parameters
    ----------
    image : str, default "./train-images-idx3-ubyte"
        The images (gzip or plain), uint8 ``(N, H, W)``.
    label : str, default "./train-labels-idx1-ubyte"
        The labels, uint8 ``(N,)``.
    batch_size : int, default 128
    shuffle : bool, default True
        Shuffle the examples once, when the iterator is made (every epoch
        then visits them in that order, as in MXNet).
    flat : bool, default False
        Data of shape ``(batch_size, H*W)`` instead of ``(batch_size, 1, H, W)``.
    seed : int, default 0
        Seed of the shuffle (numpy's generator: not MXNet's order).
    num_parts, part_index : int, default 1, 0
        Read only examples ``[N*k/num_parts, N*(k+1)/num_parts)`` (rounded down),
        ``k = part_index``.
    silent, prefetch_buffer, ctx
        Accepted for MXNet compatibility, without effect.
    data_name, label_name : str
        Names in ``provide_data`` / ``provide_label``.

    Notes
    -----
    Pixels are float32 ``value / 256`` (MXNet's scale, not 255); labels are
    float32 ``(batch_size,)``. A short last batch is dropped, as in MXNet.
    """

    _single_arrays = True  # a C++ MXDataIter in MXNet: getdata() is the one array

    def __init__(
        self,
        image: str = "./train-images-idx3-ubyte",
        label: str = "./train-labels-idx1-ubyte",
        batch_size: int = 128,
        shuffle: bool = True,
        flat: bool = False,
        seed: int = 0,
        num_parts: int = 1,
        part_index: int = 0,
        silent: bool = False,
        prefetch_buffer: int = 4,
        ctx: str = "gpu",
        data_name: str = "data",
        label_name: str = "softmax_label",
    ) -> None:
        super().__init__(positive_batch_size(batch_size))
        check_part(num_parts, part_index)
        images = read_idx(os.fspath(image), IDX_IMAGES)
        labels = read_idx(os.fspath(label), IDX_LABELS)
        images = images[self._part(len(images), num_parts, part_index)]
        labels = labels[self._part(len(labels), num_parts, part_index)]
        if len(labels) < len(images):
            raise ValueError(f"{label} holds {len(labels)} labels, fewer than {len(images)} images")
        self.order = np.arange(len(images))
        if shuffle:
            self.order = np.random.default_rng(seed).permutation(len(images))
        self._images, self._labels = images, labels
        height, width = images.shape[1:]
        shape = (self.batch_size, height * width) if flat else (self.batch_size, 1, height, width)
        self.provide_data = [DataDesc(data_name, shape, np.float32)]
        self.provide_label = [DataDesc(label_name, (self.batch_size,), np.float32)]
        self._cursor = 0

    @staticmethod
    def _part(count: int, num_parts: int, part_index: int) -> slice:
        return slice(int(count / num_parts * part_index), int(count / num_parts * (part_index + 1)))

    def reset(self) -> None:
        """Start the next epoch (the same order)."""
        self._cursor = 0

    def _next_batch(self) -> DataBatch | None:
        start, end = self._cursor, self._cursor + self.batch_size
        if end > len(self.order):
            return None
        self._cursor = end
        picks = self.order[start:end]
        data = self._images[picks].astype(np.float32) * np.float32(1 / 256)
        return DataBatch(
            [data.reshape(self.provide_data[0].shape)],
            [self._labels[picks].astype(np.float32)],
            pad=0,
            index=picks.astype(np.int64),
            provide_data=self.provide_data,
            provide_label=self.provide_label,
        )
