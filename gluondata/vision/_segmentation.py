"""SegmentationDataset: image/mask pairs from ``.npy`` (or image) files, paired by name."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from ..dataset import Dataset
from ..image._decode import check_flag, open_image, raw_array, read_file, to_array
from ..strings import StringArray
from .transforms.joint import channels_first

__all__ = ["SegmentationDataset"]

_MODES = {"train": "training", "val": "validation", "test": "test"}
_EXTENSIONS = (".npy", ".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
_SHOWN = 10


class SegmentationDataset(Dataset):
    """Images and their masks, paired by file name: ``X.npy`` with ``X-mask.npy``.

    Sample ``i`` is ``(image, mask)``: the image as float32 (in its stored
    layout: ``(C, H, W)``, ``(H, W, C)`` or ``(H, W)``), the mask as stored or
    cast to ``mask_dtype``. ``transform(image, mask)`` runs first (on the
    stored dtypes, e.g. a joint crop from :mod:`~gluondata.vision.transforms.joint`),
    then the image becomes float32, then ``norm(image)``.

    Parameters
    ----------
    root : str or path-like
        The dataset folder.
    mode : {"train", "val", "test"} or None, default "train"
        Read ``root/training``, ``root/validation`` or ``root/test`` (the
        folder names are accepted too); None reads ``root`` itself.
    transform : callable, optional
        ``transform(image, mask) -> (image, mask)``.
    norm : callable, optional
        ``norm(image) -> image``, on the float32 image.
    mmap : bool, default False
        Memory-map ``.npy`` files instead of reading them: only the pages a
        crop touches are read, so arrays larger than memory work.
    image_dir, mask_dir : str, default "imgs", "masks"
        The sub-folders of the mode's folder.
    mask_suffix : str, default "-mask"
        The mask of image ``X.ext`` is ``X<mask_suffix>.ext2`` (any supported
        extension: ``.npy``, ``.png``, ``.jpg``, ``.jpeg``, ``.bmp``, ``.tif``).
    mask_dtype : dtype, optional
        Cast masks to it (default: keep the stored dtype).
    flag : {0, 1}, default 1
        For images stored as PNG/JPEG files: colour (H, W, 3) or gray (H, W, 1).
        Masks stored as image files keep their stored values (palette indices,
        gray levels).
    unpaired : {"error", "skip"}, default "error"
        What to do with an image without a mask or a mask without an image:
        raise a ``ValueError`` naming them, or skip them with a warning.

    Raises
    ------
    ValueError
        Unpaired files (listed by name); when a sample is read, an image whose
        height and width differ from its mask's (naming both files), or a file
        that does not load (naming it).
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        mode: str | None = "train",
        transform: Callable[[Any, Any], tuple[Any, Any]] | None = None,
        norm: Callable[[Any], Any] | None = None,
        mmap: bool = False,
        image_dir: str = "imgs",
        mask_dir: str = "masks",
        mask_suffix: str = "-mask",
        mask_dtype: npt.DTypeLike | None = None,
        flag: int = 1,
        unpaired: str = "error",
    ) -> None:
        if unpaired not in ("error", "skip"):
            raise ValueError(f"unpaired must be 'error' or 'skip', got {unpaired!r}")
        check_flag(flag)
        folder = os.path.expanduser(os.fspath(root))
        if mode is not None:
            folder = os.path.join(folder, _MODES.get(mode, mode))
        self._images_dir = os.path.join(folder, image_dir)
        self._masks_dir = os.path.join(folder, mask_dir)
        images, _ = _by_stem(self._images_dir, "")
        masks, odd_masks = _by_stem(self._masks_dir, mask_suffix)
        names = sorted(images.keys() & masks.keys())
        _report_unpaired(
            [images[n] for n in sorted(images.keys() - masks.keys())],
            [masks[n] for n in sorted(masks.keys() - images.keys())] + odd_masks,
            self._images_dir,
            self._masks_dir,
            unpaired,
        )
        self._images = StringArray(images[n] for n in names)
        self._masks = StringArray(masks[n] for n in names)
        self._transform = transform
        self._norm = norm
        self._mmap = mmap
        self._mask_dtype = None if mask_dtype is None else np.dtype(mask_dtype)
        self._flag = flag

    def __len__(self) -> int:
        return len(self._images)

    def files(self, idx: int) -> tuple[str, str]:
        """Return the image and mask paths of sample ``idx``."""
        return (
            os.path.join(self._images_dir, self._images[idx]),
            os.path.join(self._masks_dir, self._masks[idx]),
        )

    def __getitem__(self, idx: int) -> tuple[Any, Any]:
        image_path, mask_path = self.files(idx)
        img = self._load(image_path, is_mask=False)
        mask = self._load(mask_path, is_mask=True)
        try:
            channels_first(img, mask)
        except ValueError:
            raise ValueError(
                f"image {image_path} has shape {img.shape} but mask {mask_path} has shape "
                f"{mask.shape}: their height and width differ (index {idx})"
            ) from None
        if self._transform is not None:
            img, mask = self._transform(img, mask)
        img = np.asarray(img, dtype=np.float32)
        if self._mask_dtype is not None:
            mask = np.asarray(mask, dtype=self._mask_dtype)
        if self._norm is not None:
            img = self._norm(img)
        return img, mask

    def _load(self, path: str, is_mask: bool) -> np.ndarray:
        if path.lower().endswith(".npy"):
            try:
                array = np.load(path, mmap_mode="r" if self._mmap else None, allow_pickle=False)
                return np.asarray(array)
            except (ValueError, EOFError) as exc:
                raise ValueError(f"cannot load {path}: {exc}") from exc
        encoded = open_image(read_file(path), path)
        return raw_array(encoded) if is_mask else to_array(encoded, self._flag, True)

    def __repr__(self) -> str:
        return f"SegmentationDataset({self._images_dir!r}, len={len(self)})"


def _by_stem(folder: str, suffix: str) -> tuple[dict[str, str], list[str]]:
    """Map each supported file's name, without extension and ``suffix``, to its file name.

    Also return the files whose name lacks ``suffix``. Two files with one
    stem (``X.npy`` and ``X.png``) are an error.
    """
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"no folder {folder}")
    stems: dict[str, str] = {}
    odd: list[str] = []
    for name in sorted(os.listdir(folder)):
        stem, ext = os.path.splitext(name)
        if ext.lower() not in _EXTENSIONS or name.startswith("."):
            continue
        if not stem.endswith(suffix):
            odd.append(name)
            continue
        stem = stem[: len(stem) - len(suffix)]
        if stem in stems:
            raise ValueError(
                f"{os.path.join(folder, stems[stem])} and {os.path.join(folder, name)} "
                "have the same name: which one to use is ambiguous"
            )
        stems[stem] = name
    return stems, odd


def _report_unpaired(
    lone_images: list[str], lone_masks: list[str], images_dir: str, masks_dir: str, policy: str
) -> None:
    parts = []
    if lone_images:
        parts.append(
            f"{len(lone_images)} image(s) in {images_dir} without a mask: {_names(lone_images)}"
        )
    if lone_masks:
        parts.append(
            f"{len(lone_masks)} mask(s) in {masks_dir} without an image: {_names(lone_masks)}"
        )
    if not parts:
        return
    message = "; ".join(parts)
    if policy == "error":
        raise ValueError(f"unpaired files: {message} (unpaired='skip' skips them)")
    warnings.warn(f"skipping unpaired files: {message}", stacklevel=3)


def _names(names: list[str]) -> str:
    return ", ".join(names[:_SHOWN]) + (", ..." if len(names) > _SHOWN else "")
