"""ImageFolderDataset and ImageListDataset: image files on disk with labels."""

from __future__ import annotations

import numbers
import os
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..im2rec._lst import read_lst
from ..image._decode import read_file
from ..strings import StringArray
from ._encoded import EncodedImageDataset

__all__ = ["ImageFolderDataset", "ImageListDataset"]

_EXTENSIONS = (".jpg", ".jpeg", ".png")
_SHOWN = 5


class ImageFolderDataset(EncodedImageDataset):
    """Images in one folder per class: ``root/<class>/<image>`` (Gluon's layout and order).

    Sample ``i`` is ``(image, label)``: the image decoded to HWC uint8 (RGB, or
    grayscale ``(H, W, 1)`` with ``flag=0``), the label the class's position in
    :attr:`synsets` (a Python int).

    Parameters
    ----------
    root : str or path-like
        The folder holding one sub-folder per class (``~`` is expanded).
    flag : {0, 1}, default 1
        Colour or grayscale.
    transform : callable, optional
        ``transform(image, label)``; its result is the sample. Prefer
        ``dataset.transform_first(t)`` with the built-in transforms: a leading
        crop/resize then decodes JPEGs at a reduced scale.
    backend : {"pillow", "opencv"}, optional
        The image library that decodes (and resizes, in the transforms the
        dataset applies or fuses); default: :func:`gluondata.image.get_backend`.

    Attributes
    ----------
    synsets : list of str
        Class names, sorted (plain string order, as Gluon); empty folders
        count as classes.

    Notes
    -----
    Files other than .jpg/.jpeg/.png (any case) and non-folders at the top
    level are skipped with one warning. File names and labels are held in numpy
    arrays, so forked workers share them. A file that does not decode raises
    :class:`~gluondata.image.ImageDecodeError` naming it when the sample is read.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        flag: int = 1,
        transform: Callable[[Any, Any], Any] | None = None,
        backend: str | None = None,
    ) -> None:
        super().__init__(flag, transform, backend)
        self._root = os.path.expanduser(os.fspath(root))
        self.synsets: list[str] = []
        paths: list[str] = []
        labels: list[int] = []
        skipped: list[str] = []
        for entry in sorted(os.listdir(self._root)):
            folder = os.path.join(self._root, entry)
            if not os.path.isdir(folder):
                warnings.warn(f"Ignoring {folder}, which is not a directory.", stacklevel=2)
                continue
            label = len(self.synsets)
            self.synsets.append(entry)
            for name in sorted(os.listdir(folder)):
                if os.path.splitext(name)[1].lower() in _EXTENSIONS:
                    paths.append(os.path.join(entry, name))
                    labels.append(label)
                else:
                    skipped.append(os.path.join(entry, name))
        if skipped:
            shown = ", ".join(skipped[:_SHOWN]) + (", ..." if len(skipped) > _SHOWN else "")
            warnings.warn(
                f"Ignoring {len(skipped)} file(s) in {self._root} that are not "
                f"{', '.join(_EXTENSIONS)}: {shown}",
                stacklevel=2,
            )
        self._paths = StringArray(paths)
        self._labels = np.asarray(labels, dtype=np.int64)

    @property
    def items(self) -> list[tuple[str, int]]:
        """``(path, label)`` for every sample (a list built on each access)."""
        return [(self._path(i), int(self._labels[i])) for i in range(len(self))]

    def _path(self, idx: int) -> str:
        return os.path.join(self._root, self._paths[idx])

    def __len__(self) -> int:
        return len(self._labels)

    def encoded(self, idx: int) -> tuple[bytes, str, int]:
        """Return sample ``idx``'s file bytes, path and label."""
        path = self._path(idx)
        return read_file(path), path, int(self._labels[idx])

    def __repr__(self) -> str:
        return f"ImageFolderDataset({self._root!r}, len={len(self)}, classes={len(self.synsets)})"


class ImageListDataset(EncodedImageDataset):
    """Images listed with their labels, in a .lst file or a Python list (MXNet 2's).

    Sample ``i`` is ``(image, label)`` with the label a float32 1-D array.

    Parameters
    ----------
    root : str or path-like, default "."
        Folder the image paths (and a .lst file name) are relative to.
    imglist : str or list
        A .lst file (``index<TAB>label(s)<TAB>path`` per line, as im2rec
        writes), or a list of entries ``[label(s)..., path]``: an entry of two
        items ``(label, path)`` may give one number or a sequence of them.
    flag : {0, 1}, default 1
        Colour or grayscale.
    transform : callable, optional
        ``transform(image, label)``.
    backend : {"pillow", "opencv"}, optional
        The image library that decodes (and resizes, in the transforms the
        dataset applies or fuses); default: :func:`gluondata.image.get_backend`.

    Raises
    ------
    ValueError
        For a .lst line or list entry that does not parse (naming the line or entry).
    """

    def __init__(
        self,
        root: str | os.PathLike[str] = ".",
        imglist: str | os.PathLike[str] | Sequence[Sequence[Any]] | None = None,
        flag: int = 1,
        transform: Callable[[Any, Any], Any] | None = None,
        backend: str | None = None,
    ) -> None:
        super().__init__(flag, transform, backend)
        self._root = os.path.expanduser(os.fspath(root))
        if isinstance(imglist, (str, os.PathLike)):
            lst = read_lst(os.path.join(self._root, os.fspath(imglist)))
            self._paths = lst.paths
            self._labels = lst.labels.astype(np.float32)
            self._labels.setflags(write=False)
            self._offsets = lst.label_offsets
        elif isinstance(imglist, Sequence):
            labels, paths = _parse_entries(imglist)
            self._paths = StringArray(paths)
            self._labels, self._offsets = pack_rows(labels, np.float32)
        else:
            raise ValueError(
                f"imglist must be filename or list of valid entries, given {type(imglist)}"
            )

    def __len__(self) -> int:
        return len(self._paths)

    def label(self, idx: int) -> np.ndarray:
        """Sample ``idx``'s label: a read-only float32 1-D array."""
        return self._labels[self._offsets[idx] : self._offsets[idx + 1]]

    def encoded(self, idx: int) -> tuple[bytes, str, np.ndarray]:
        """Return sample ``idx``'s file bytes, path and label."""
        path = os.path.join(self._root, self._paths[idx])
        return read_file(path), path, self.label(idx)

    def __repr__(self) -> str:
        return f"ImageListDataset({self._root!r}, len={len(self)})"


def pack_rows(rows: Sequence[Sequence[float]], dtype: type) -> tuple[np.ndarray, np.ndarray]:
    """Ragged rows as one flat read-only array and offsets: row ``i`` is ``flat[o[i]:o[i + 1]]``."""
    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(r) for r in rows], out=offsets[1:])
    flat = np.fromiter((v for r in rows for v in r), dtype=dtype, count=int(offsets[-1]))
    flat.setflags(write=False)
    return flat, offsets


def _parse_entries(entries: Sequence[Sequence[Any]]) -> tuple[list[list[float]], list[str]]:
    labels, paths = [], []
    for i, entry in enumerate(entries):
        path = entry[-1] if len(entry) >= 2 else None
        if not isinstance(path, str):
            raise ValueError(f"imglist entry {i} must be [label(s)..., path (str)], got {entry!r}")
        if len(entry) > 2:
            label = list(entry[:-1])
        elif isinstance(entry[0], numbers.Number):
            label = [entry[0]]
        else:
            label = list(np.asarray(entry[0]).reshape(-1))
        try:
            labels.append([float(v) for v in label])
        except (TypeError, ValueError):
            raise ValueError(f"imglist entry {i}: labels must be numbers, got {entry!r}") from None
        paths.append(path)
    return labels, paths
