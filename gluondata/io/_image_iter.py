"""ImageIter: MXNet's Python image iterator over a .rec file or a list of image files."""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Callable, Sequence
from numbers import Number
from typing import Any

import numpy as np

from ..distributed import resolve_parts
from ..im2rec._lst import read_lst
from ..image._augmenters import CreateAugmenter
from ..image._backend import check_backend, use_backend
from ..image._decode import ImageDecodeError
from ..image._ops import imdecode
from ..random import sample_context
from ..recordio._pack import unpack
from ._base import DataBatch, DataDesc, DataIter
from ._ndarray import LAST_BATCH_HANDLES
from ._records import RecordSource, split_count
from ._schedule import Schedule
from ._state import check_iter_state, iter_state, unseeded_shuffle

__all__ = ["ImageIter"]

_LABEL_DTYPES = ("int32", "float32", "int64", "float64")


class ImageIter(DataIter):
    """Batches of augmented images from a .rec file or image files (``mx.image.ImageIter``).

    Runs in the calling thread, one image after the other, through
    overridable steps as in MXNet: :meth:`next_sample`, :meth:`imdecode`,
    :meth:`augmentation_transform`, :meth:`postprocess_data`.

    Parameters
    ----------
    batch_size : int
        Examples per batch.
    data_shape : (3, height, width)
        The output shape of one image (3 channels, RGB).
    label_width : int, default 1
        Labels per image.
    path_imgrec : str, optional
        A .rec file (made by im2rec); labels come from the record headers
        unless a list is given too.
    path_imglist : str, optional
        A .lst file (``index<TAB>labels...<TAB>path``); with ``path_imgrec``
        the labels of the records (by .idx key, or record id without .idx).
    path_root : str, optional
        Folder of the image files of a list.
    path_imgidx : str, optional
        The .idx of ``path_imgrec`` (not needed to shuffle or partition here).
    shuffle : bool, default False
        A new order every epoch.
    part_index, num_parts : int or 'auto'
        Read part ``part_index`` of ``num_parts`` disjoint parts covering
        every image (``ceil(N / num_parts)`` consecutive images per part).
        ``num_parts="auto"``: the world size and rank of the job
        (:func:`gluondata.distributed.world`).
    aug_list : list of callables, optional
        Augmenters applied to each HWC image; default
        ``CreateAugmenter(data_shape, **kwargs)``.
    imglist : list, optional
        ``[label(s)..., path]`` items instead of a .lst file.
    data_name, label_name : str
        Names in ``provide_data`` / ``provide_label``.
    dtype : {'float32', 'int32', 'int64', 'float64'}
        The labels' type.
    last_batch_handle : {'pad', 'discard', 'roll_over'}, default 'pad'
        As MXNet's ImageIter: ``'roll_over'`` keeps a short last batch to
        open the next epoch, and that batch's ``pad`` counts its new images.
    seed : int, optional
        Makes shuffling and the augmenters' random draws reproducible (keyed
        by epoch and image, :mod:`gluondata.random`). Without it, shuffling
        uses Python's ``random`` as MXNet does.
    backend : {"pillow", "opencv"}, optional
        The image library that decodes and resizes (gluondata's own); default
        :func:`gluondata.image.get_backend`.
    **kwargs
        Passed to :func:`~gluondata.image.CreateAugmenter` when ``aug_list`` is None.
    """

    def __init__(
        self,
        batch_size: int,
        data_shape: Sequence[int],
        label_width: int = 1,
        path_imgrec: str | None = None,
        path_imglist: str | None = None,
        path_root: str | None = None,
        path_imgidx: str | None = None,
        shuffle: bool = False,
        part_index: int | str = 0,
        num_parts: int | str = 1,
        aug_list: list[Callable[[np.ndarray], np.ndarray]] | None = None,
        imglist: list[Any] | None = None,
        data_name: str = "data",
        label_name: str = "softmax_label",
        dtype: str = "float32",
        last_batch_handle: str = "pad",
        seed: int | None = None,
        backend: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(int(batch_size))
        self._backend = None if backend is None else check_backend(backend)
        if not (path_imgrec or path_imglist or isinstance(imglist, list)):
            raise ValueError("ImageIter needs path_imgrec, path_imglist or an imglist list")
        if dtype not in _LABEL_DTYPES:
            raise ValueError(f"dtype {dtype!r} is not supported for labels: {_LABEL_DTYPES}")
        if last_batch_handle not in LAST_BATCH_HANDLES:
            raise ValueError(
                f"last_batch_handle must be one of {LAST_BATCH_HANDLES}, got {last_batch_handle!r}"
            )
        data_shape = tuple(data_shape)
        self.check_data_shape(data_shape)
        self.data_shape, self.label_width, self.dtype = data_shape, label_width, dtype
        self.imgrec = RecordSource(path_imgrec, path_imgidx) if path_imgrec else None
        self.imgidx = None if self.imgrec is None else self.imgrec.keys
        self.imglist: dict[Any, tuple[np.ndarray, str]] | None = None
        keys: list[Any] = []
        if path_imglist:
            self.imglist, keys = self._read_list(path_imglist)
        elif isinstance(imglist, list):
            self.imglist, keys = self._from_list(imglist)
        self.path_root = path_root
        self.seq = keys if self.imgrec is None else list(range(len(self.imgrec)))
        self.num_image = len(self.seq)
        self.shuffle = shuffle
        self.last_batch_handle = last_batch_handle
        self.auglist = CreateAugmenter(data_shape, **kwargs) if aug_list is None else aug_list
        self._seed = seed
        label_shape = (self.batch_size,) if label_width == 1 else (self.batch_size, label_width)
        self.provide_data = [DataDesc(data_name, (self.batch_size, *data_shape))]
        self.provide_label = [DataDesc(label_name, label_shape, np.dtype(dtype).type)]
        part = split_count(self.num_image, *resolve_parts(num_parts, part_index))
        self._python_order = list(range(len(part)))
        self._schedule = Schedule(part, self.batch_size, last_batch_handle, self._order)
        self._epochs = 0
        self._plan: list[tuple[np.ndarray, int]] | None = None
        self._flat = np.empty(0, dtype=np.int64)
        self._batch_no = self._cursor = 0
        self._current = 0

    def _order(self, pass_index: int) -> np.ndarray:
        """The order of pass ``pass_index`` over the part's images."""
        count = len(self._python_order)
        if not self.shuffle:
            return np.arange(count)
        if self._seed is None:
            random.shuffle(self._python_order)
            return np.asarray(self._python_order, dtype=np.int64)
        return np.random.default_rng([self._seed, pass_index]).permutation(count)

    def _read_list(self, path: str) -> tuple[dict[Any, tuple[np.ndarray, str]], list[Any]]:
        lst = read_lst(path)
        keys = lst.index.tolist()
        items = {key: (lst.label(i).astype(self.dtype), lst.paths[i]) for i, key in enumerate(keys)}
        return items, keys

    def _from_list(self, imglist: list[Any]) -> tuple[dict[Any, tuple[np.ndarray, str]], list[Any]]:
        items, keys = {}, []
        for index, img in enumerate(imglist, 1):
            if len(img) > 2:
                label = np.array(img[:-1], dtype=self.dtype)
            elif isinstance(img[0], Number):
                label = np.array([img[0]], dtype=self.dtype)
            else:
                label = np.array(img[0], dtype=self.dtype)
            items[str(index)] = (label, img[-1])
            keys.append(str(index))
        return items, keys

    def reset(self) -> None:
        """Start the next epoch (a reshuffle with ``shuffle``); no-op before its first batch."""
        if self._plan is not None:
            self._schedule.finish(completed=self._batch_no == len(self._plan))
            self._plan = None

    def _fingerprint(self) -> dict[str, Any]:
        return {
            "num_image": len(self._python_order),
            "batch_size": self.batch_size,
            "last_batch_handle": self.last_batch_handle,
            "shuffle": bool(self.shuffle),
            "seed": self._seed,
        }

    def state_dict(self) -> dict[str, Any]:
        """Return the position after the last batch returned, as a small JSON-serializable dict.

        :meth:`load_state_dict` on an iterator over the same images continues
        with the same batches (and, with ``seed=``, the same augmentations).
        Needs ``seed=`` when shuffling.
        """
        if self.shuffle and self._seed is None:
            raise unseeded_shuffle("ImageIter")
        position = {
            "schedule": self._schedule.state(),
            "in_epoch": self._plan is not None,
            "batches": self._batch_no,
            "epochs": self._epochs,
        }
        return iter_state("ImageIter", self._fingerprint(), position)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from ``state`` (from :meth:`state_dict`).

        Raises
        ------
        ValueError
            The state is of other images, batch size, seed, ... or a newer version.
        """
        required = ("schedule", "in_epoch", "batches", "epochs")
        check_iter_state("ImageIter", state, self._fingerprint(), required)
        self._schedule.load_state(state["schedule"])
        self._epochs = int(state["epochs"])
        self._plan = None
        if state["in_epoch"]:
            self._plan = self._schedule.plan()
            self._flat = np.concatenate([p for p, _ in self._plan] or [np.empty(0, np.int64)])
            self._batch_no = int(state["batches"])
            self._cursor = self._batch_no * self.batch_size

    def hard_reset(self) -> None:
        """Start the next epoch, dropping the images kept by ``'roll_over'``."""
        self._schedule.finish(completed=False)
        self._plan = None

    def next_sample(self) -> tuple[Any, bytes]:
        """Return the label and the encoded image of the epoch's next example."""
        if self._cursor >= len(self._flat):
            raise StopIteration
        self._current = int(self._flat[self._cursor])
        self._cursor += 1
        seq_index = self.seq[self._current]
        if self.imgrec is None:
            label, fname = self.imglist[seq_index]
            return label, self.read_image(fname)
        header, img = unpack(self.imgrec.read([seq_index])[0])
        if self.imglist is None:
            return header.label, img
        key = header.id if self.imgidx is None else self.imgidx[seq_index].item()
        return self.imglist[key][0], img

    def next(self) -> DataBatch:
        """Return the next batch.

        Raises
        ------
        StopIteration
            At the end of the epoch (until ``reset()``).
        """
        if self._plan is None:
            self._plan = self._schedule.plan()
            self._flat = np.concatenate([p for p, _ in self._plan] or [np.empty(0, np.int64)])
            self._batch_no = self._cursor = 0
            self._epochs += 1
        if self._batch_no == len(self._plan):
            raise StopIteration
        pad = self._plan[self._batch_no][1]
        self._batch_no += 1
        batch_data = np.zeros(self.provide_data[0].shape, dtype=np.float32)
        batch_label = np.empty(self.provide_label[0].shape, dtype=self.dtype)
        for i in range(self.batch_size):
            label, encoded = self.next_sample()
            scope = (
                contextlib.nullcontext()
                if self._seed is None
                else sample_context(self._seed, self._epochs - 1, self._current)
            )
            with scope, use_backend(self._backend):
                data = self.imdecode(encoded)
                self.check_valid_image(data)
                batch_data[i] = self.postprocess_data(self.augmentation_transform(data))
            batch_label[i] = self._check_label(label)
        return DataBatch([batch_data], [batch_label], pad=pad)

    def _check_label(self, label: Any) -> Any:
        values = np.asarray(label).reshape(-1)
        if values.size != self.label_width:
            raise ValueError(
                f"{self._locate()}: {values.size} label(s), but label_width is {self.label_width}"
            )
        return values[0] if self.label_width == 1 else values

    def check_data_shape(self, data_shape: Sequence[int]) -> None:
        """Check that ``data_shape`` is ``(3, height, width)``."""
        if len(data_shape) != 3:
            raise ValueError("data_shape should have length 3, with dimensions CxHxW")
        if data_shape[0] != 3:
            raise ValueError("This iterator expects inputs to have 3 channels.")

    def check_valid_image(self, data: np.ndarray) -> None:
        """Check that a decoded image is not empty."""
        if data.size == 0:
            raise ValueError(f"{self._locate()}: the decoded image is empty")

    def _locate(self) -> str:
        seq_index = self.seq[self._current]
        if self.imgrec is not None:
            return self.imgrec.describe(seq_index)
        return f"image {self.imglist[seq_index][1]!r}"

    def imdecode(self, s: bytes) -> np.ndarray:
        """Decode an encoded image to HWC uint8 RGB; errors name the image."""
        try:
            return imdecode(s)
        except ValueError as err:
            raise ImageDecodeError(f"Broken image {self._locate()}: {err}") from err

    def read_image(self, fname: str) -> bytes:
        """Return the bytes of image file ``fname`` (under ``path_root``)."""
        with open(os.path.join(self.path_root or "", fname), "rb") as f:
            return f.read()

    def augmentation_transform(self, data: np.ndarray) -> np.ndarray:
        """Apply the augmenters in order."""
        for aug in self.auglist:
            data = aug(data)
        return data

    def postprocess_data(self, datum: np.ndarray) -> np.ndarray:
        """HWC to CHW (the last step before the image enters the batch)."""
        return np.transpose(datum, (2, 0, 1))
