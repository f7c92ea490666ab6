"""ImageRecordIter: MXNet's C++ image record iterator, computed by the DataLoader's workers."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from functools import partial
from typing import Any, ClassVar

import numpy as np

from .._loader.alloc import empty
from .._loader.columns import SampleColumns
from ..dataloader import DataLoader
from ..distributed import resolve_parts
from ..image._backend import check_backend, use_backend
from ..random import indexed, sample_context
from ..recordio._format import RecordIOError
from ..recordio._pack import unpack
from ..sampler import Sampler
from ._base import BatchIter, DataBatch, DataDesc
from ._ndfile import load_ndarrays, save_ndarrays
from ._record_aug import RecordImagePipeline
from ._record_params import parse_params
from ._records import LabelList, RecordSource, part_of
from ._schedule import Schedule
from ._state import check_iter_state, iter_state

__all__ = ["ImageRecordInt8Iter", "ImageRecordIter", "ImageRecordUInt8Iter"]

logger = logging.getLogger("gluondata.io")


class _RecordExamples:
    """Record position → (normalized CHW image, labels); batches written in place.

    A position of -1 gives a zero example (the padding of ``round_batch=False``).
    """

    def __init__(
        self,
        source: RecordSource,
        pipeline: RecordImagePipeline,
        label_width: int,
        label_list: LabelList | None,
        dtype: np.dtype,
        seed_aug: int | None,
        backend: str | None,
    ) -> None:
        self.source = source
        self.pipeline = pipeline
        self.label_width = label_width
        self.label_list = label_list
        self.dtype = dtype
        self.seed_aug = seed_aug
        self.backend = backend
        self.shape = (pipeline.channels, pipeline.height, pipeline.width)

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, position: int) -> tuple[np.ndarray, Any]:
        data, labels = self.__getitems__([position]).columns
        return data[0], labels[0]

    def __getitems__(self, positions: Sequence[int]) -> SampleColumns:
        positions = np.asarray(positions, dtype=np.int64)
        data = empty((len(positions), *self.shape), self.dtype)
        labels = empty((len(positions), self.label_width), np.float32)
        records = iter(self.source.read(positions[positions >= 0]))
        with use_backend(self.backend):
            for i, position in enumerate(positions.tolist()):
                if position < 0:
                    data[i] = 0
                    labels[i] = 0
                else:
                    self._example(position, next(records), data[i], labels[i])
        return SampleColumns([data, labels if self.label_width > 1 else labels[:, 0]], True)

    def _example(self, position: int, record: bytes, out: np.ndarray, label: np.ndarray) -> None:
        try:
            header, payload = unpack(record)
        except RecordIOError as err:
            raise RecordIOError(f"{self.source.describe(position)}: {err}") from None
        label[:] = self._label(position, header)
        scope = (
            indexed(position)
            if self.seed_aug is None
            else sample_context(self.seed_aug, 0, position)
        )
        with scope:
            try:
                self.pipeline(payload, out)
            except (ValueError, OSError) as err:
                raise RecordIOError(f"{self.source.describe(position)}: {err}") from err

    def _label(self, position: int, header: Any) -> Any:
        if self.label_list is not None:
            try:
                return self.label_list[header.id]
            except KeyError as err:
                raise ValueError(f"{self.source.describe(position)}: {err.args[0]}") from None
        if header.flag > 0 and header.flag != self.label_width:
            raise ValueError(
                f"{self.source.describe(position)}: the record holds {header.flag} labels "
                f"but label_width is {self.label_width}"
            )
        if header.flag == 0 and self.label_width != 1:
            raise ValueError(
                f"{self.source.describe(position)}: the record holds one label but label_width "
                f"is {self.label_width}: label_width must be 1 unless path_imglist is given or "
                "the records were packed with several labels (im2rec --pack-label)"
            )
        return header.label


def _shuffled(count: int, seed: int, pass_index: int) -> np.ndarray:
    """The order of pass ``pass_index``: a permutation drawn from ``(seed, pass_index)``."""
    return np.random.default_rng([seed, pass_index]).permutation(count)


def _in_order(count: int, pass_index: int) -> np.ndarray:
    """The order of every pass without shuffling: file order."""
    return np.arange(count)


class _PlanSampler(Sampler):
    """Yields the batches an epoch's plan lists."""

    def __init__(self) -> None:
        self.batches: list[np.ndarray] = []

    def __iter__(self) -> Iterator[list[int]]:
        return (batch.tolist() for batch in self.batches)

    def index_batches(self, start: int = 0) -> Iterator[np.ndarray]:
        """The batches as int64 arrays, from batch ``start`` on."""
        return iter(self.batches[start:])

    def state_dict(self) -> dict[str, Any]:
        """Return ``{}``: the plan is set by the iterator each epoch."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Nothing to restore."""

    def __len__(self) -> int:
        return len(self.batches)


class ImageRecordIter(BatchIter):
    """Batches of augmented images from a RecordIO file (``mx.io.ImageRecordIter``).

    Takes MXNet's keyword parameters, with MXNet's defaults (a parameter that
    does not exist, or a missing required one, raises ``TypeError`` listing the
    valid ones). The images are decoded and augmented by a
    :class:`~gluondata.DataLoader`'s worker processes (``preprocess_threads``
    of them), straight into the batch arrays.

    Parameters
    ----------
    **params
        Dataset: ``path_imgrec`` (required), ``path_imgidx``, ``path_imglist``
        (labels by image index, ``label_width`` numbers per line),
        ``data_shape`` (required; ``(C, H, W)``, C 1 or 3), ``label_width`` (1).

        Batch: ``batch_size`` (required), ``round_batch`` (True: a short last
        batch is completed with the first records of the next pass, which
        the next epoch then skips; False: with zero examples, ``pad`` counting them).

        Augmentation: ``resize`` (shorter edge first), ``rand_crop``,
        ``random_resized_crop`` (with ``min_random_area``/``max_random_area``
        and the aspect range), ``max_aspect_ratio``/``min_aspect_ratio``,
        ``max_random_scale``/``min_random_scale``, ``max_rotate_angle``,
        ``rotate``, ``max_shear_ratio``, ``max_img_size``/``min_img_size``,
        ``pad``, ``fill_value``, ``max_crop_size``/``min_crop_size``,
        ``brightness``, ``contrast``, ``saturation``, ``pca_noise``,
        ``inter_method`` (0-4, 9 auto, 10 random; default 1, bilinear),
        ``seed_aug`` (the same augmentation of an image in every epoch).

        Normalization: ``mirror``, ``rand_mirror``, ``mean_img`` (a file of
        MXNet's NDArray format; computed over the part's images and saved there
        if it does not exist), ``mean_r/g/b``, ``std_r/g/b``, ``scale``,
        ``max_random_contrast``, ``max_random_illumination``: the output is
        ``(pixel - mean) * contrast * scale / std + illumination * scale / std``.

        Backend: ``shuffle`` (a new order of the part each epoch), ``seed``
        (0: deterministic by default), ``preprocess_threads`` (4; the workers),
        ``prefetch_buffer`` (4; batches in flight), ``num_parts`` and
        ``part_index`` (read one of ``num_parts`` disjoint parts of the file:
        by records with an .idx, by bytes without, as MXNet; ``num_parts="auto"``:
        the world size and rank, see :func:`gluondata.distributed.world`), ``dtype``
        (None/float32, ``uint8`` or ``int8``: raw pixels, not normalized),
        ``thread_pool`` (gluondata: threads instead of processes),
        ``scaled_decode`` (gluondata, default True: decode a JPEG at 1/2, 1/4 or
        1/8 scale when the crop is at least that much larger than the output;
        False: always at full size, the exact pixels); ``ctx``,
        ``device_id``, ``shuffle_chunk_size`` and ``shuffle_chunk_seed`` are
        accepted and ignored.

        Auxiliary: ``data_name``, ``label_name``, ``verbose`` (log to the
        ``gluondata.io`` logger).

        gluondata's own: ``backend`` (``"pillow"`` or ``"opencv"``: the image
        library that decodes and resamples; default
        :func:`gluondata.image.get_backend`).

    Notes
    -----
    Batches hold numpy arrays: data ``(batch_size, C, H, W)`` (RGB channel
    order), labels float32 ``(batch_size,)`` or ``(batch_size, label_width)``;
    ``index`` holds the record positions (-1 for padding).
    """

    _defaults: ClassVar[dict[str, Any]] = {}
    _single_arrays = True  # a C++ MXDataIter in MXNet: getdata() is the one array

    def __init__(self, *args: Any, backend: str | None = None, **params: Any) -> None:
        name = type(self).__name__
        if args:
            raise TypeError(f"{name} only accepts keyword arguments")
        p = parse_params(name, params, self._defaults)
        backend = None if backend is None else check_backend(backend)
        self.params = p
        if len(p["data_shape"]) != 3 or p["data_shape"][0] not in (1, 3):
            raise ValueError(
                f"{name}: data_shape must be (channels, height, width) with 1 or 3 channels, "
                f"got {p['data_shape']}"
            )
        if p["label_width"] < 1 or p["batch_size"] < 1:
            raise ValueError(f"{name}: label_width and batch_size must be at least 1")
        super().__init__(p["batch_size"])
        source = RecordSource(p["path_imgrec"], p["path_imgidx"] or None)
        p["num_parts"], p["part_index"] = resolve_parts(p["num_parts"], p["part_index"])
        positions = part_of(source, p["num_parts"], p["part_index"], by_bytes=not p["path_imgidx"])
        label_list = LabelList(p["path_imglist"], p["label_width"]) if p["path_imglist"] else None
        self._workers = max(0, p["preprocess_threads"])
        mean = None
        if p["mean_img"]:
            mean = self._mean_image(source, positions, label_list, backend)
        dtype = np.dtype(p["dtype"] or "float32")
        examples = _RecordExamples(
            source,
            RecordImagePipeline(p, mean, normalize=True),
            p["label_width"],
            label_list,
            dtype,
            p["seed_aug"],
            backend,
        )
        self._sampler = _PlanSampler()
        self._loader = self._make_loader(examples, self._sampler)
        count = len(positions)
        order = partial(_shuffled, count, p["seed"]) if p["shuffle"] else partial(_in_order, count)
        mode = "round_batch" if p["round_batch"] else "zeros"
        self._schedule = Schedule(positions, self.batch_size, mode, order)
        c, h, w = p["data_shape"]
        self.provide_data = [DataDesc(p["data_name"], (self.batch_size, c, h, w), dtype.type)]
        label_shape = (self.batch_size,)
        if p["label_width"] > 1:
            label_shape = (self.batch_size, p["label_width"])
        self.provide_label = [DataDesc(p["label_name"], label_shape, np.float32)]
        self._epoch: Iterator[Any] | None = None
        self._plan: list[tuple[np.ndarray, int]] = []
        self._served = 0
        if p["verbose"]:
            logger.info(
                "%s: %s, part %d of %d: %d records, %d %s",
                name,
                p["path_imgrec"],
                p["part_index"],
                p["num_parts"],
                count,
                self._workers,
                "threads" if p["thread_pool"] else "worker processes",
            )

    def _make_loader(self, dataset: Any, batch_sampler: Any) -> Any:
        p = self.params
        return DataLoader(
            dataset,
            batch_sampler=batch_sampler,
            num_workers=self._workers,
            thread_pool=p["thread_pool"],
            prefetch=max(p["prefetch_buffer"], self._workers, 1),
            seed=p["seed"],
            seed_global_rngs=False,  # the augmenters draw from gluondata.random.generator()
        )

    def _mean_image(
        self,
        source: RecordSource,
        positions: np.ndarray,
        label_list: LabelList | None,
        backend: str | None,
    ) -> np.ndarray:
        """Load ``mean_img``, or compute it over this part's images and save it there."""
        p = self.params
        path, shape = p["mean_img"], tuple(p["data_shape"])
        if os.path.exists(path):
            arrays = load_ndarrays(path)
            if isinstance(arrays, dict):
                arrays = [arrays["mean_img"]] if "mean_img" in arrays else list(arrays.values())
            if len(arrays) != 1 or arrays[0].shape != shape:
                found = [a.shape for a in arrays]
                raise ValueError(
                    f"mean_img {path!r}: expected one array of shape {shape} (data_shape), "
                    f"found {found}"
                )
            return arrays[0].astype(np.float32)
        if not len(positions):
            raise ValueError(f"mean_img {path!r}: cannot compute a mean over no images")
        pipeline = RecordImagePipeline(p, None, normalize=False)
        examples = _RecordExamples(
            source,
            pipeline,
            p["label_width"],
            label_list,
            np.dtype(np.float32),
            p["seed_aug"],
            backend,
        )
        size = self.batch_size
        batches = [positions[i : i + size] for i in range(0, len(positions), size)]
        total = np.zeros(shape, dtype=np.float64)
        with self._make_loader(examples, batches) as loader:
            for data, _ in loader:
                total += data.sum(axis=0, dtype=np.float64)
        mean = (total / len(positions)).astype(np.float32)
        save_ndarrays(path, {"mean_img": mean})
        if p["verbose"]:
            name = type(self).__name__
            logger.info("%s: saved the mean of %d images to %s", name, len(positions), path)
        return mean

    def _fingerprint(self) -> dict[str, Any]:
        p = self.params
        return {
            "records": len(self._schedule.positions),
            "batch_size": self.batch_size,
            "round_batch": bool(p["round_batch"]),
            "shuffle": bool(p["shuffle"]),
            "seed": p["seed"],
        }

    def state_dict(self) -> dict[str, Any]:
        """Return the position after the last batch returned, as a small JSON-serializable dict.

        :meth:`load_state_dict` on an iterator over the same records continues
        with the same batches, augmentations included, whatever
        ``preprocess_threads`` is.
        """
        position = {
            "schedule": self._schedule.state(),
            "in_epoch": self._epoch is not None,
            "batches": self._served,
            "loader": self._loader.state_dict(),
        }
        return iter_state(type(self).__name__, self._fingerprint(), position)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from ``state`` (from :meth:`state_dict`).

        Raises
        ------
        ValueError
            The state is of other records, batch size, seed, ... or a newer version.
        """
        kind = type(self).__name__
        required = ("schedule", "in_epoch", "batches", "loader")
        check_iter_state(kind, state, self._fingerprint(), required)
        if self._epoch is not None:
            self._epoch.close()
            self._epoch = None
        self._schedule.load_state(state["schedule"])
        self._loader.load_state_dict(state["loader"])
        if state["in_epoch"]:
            self._plan = self._schedule.plan()
            self._sampler.batches = [positions for positions, _ in self._plan]
            self._served = int(state["batches"])
            # once every batch was served, the loader's state is already the next epoch's
            self._epoch = iter(self._loader) if self._served < len(self._plan) else _no_batches()

    def reset(self) -> None:
        """Start the next epoch (after the records a ``round_batch`` batch borrowed).

        Before the epoch's first batch it changes nothing.
        """
        if self._epoch is None:
            return
        self._schedule.finish(completed=self._served == len(self._plan))
        self._epoch.close()
        self._epoch = None

    def _next_batch(self) -> DataBatch | None:
        if self._epoch is None:
            self._plan = self._schedule.plan()
            self._sampler.batches = [positions for positions, _ in self._plan]
            self._epoch = iter(self._loader)
            self._served = 0
        if self._served == len(self._plan):
            return None
        data, label = next(self._epoch)
        positions, pad = self._plan[self._served]
        self._served += 1
        return DataBatch(
            [data],
            [label],
            pad=pad,
            index=positions.copy(),
            provide_data=self.provide_data,
            provide_label=self.provide_label,
        )

    def close(self) -> None:
        """Shut down the workers (a later epoch starts new ones)."""
        if self._epoch is not None:
            self._epoch.close()
            self._epoch = None
            self._schedule.finish(completed=False)
        self._loader.close()


def _no_batches() -> Iterator[Any]:
    """An epoch iterator that has served every batch (it only needs ``close()``)."""
    yield from ()


class ImageRecordUInt8Iter(ImageRecordIter):
    """:class:`ImageRecordIter` giving raw uint8 pixels (``dtype='uint8'``; no normalization)."""

    _defaults: ClassVar[dict[str, Any]] = {"dtype": "uint8"}


class ImageRecordInt8Iter(ImageRecordIter):
    """:class:`ImageRecordIter` giving int8 pixels (``dtype='int8'``; 128-255 become 127)."""

    _defaults: ClassVar[dict[str, Any]] = {"dtype": "int8"}
