"""Packing the images of a .lst file into a .rec and .idx (``gluondata im2rec PREFIX ROOT``)."""


from __future__ import annotations

import collections
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..image._decode import (
    Encoded,
    exif_orientation,
    load,
    open_image,
    read_file,
    to_array,
    unchanged_channels,
)
from ..recordio import MXIndexedRecordIO
from ..recordio._pack import IRHeader, encode_image, pack
from ._lists import (
    ListItem,
    read_list,
)

__all__ = ["PackOptions", "PackResult", "encode_item", "pack_list"]


@dataclass(frozen=True)
class PackOptions:
    """How :func:`encode_item` turns an image file into a record payload (im2rec's options)."""

    resize: int = 0
    center_crop: bool = False
    quality: int = 95
    encoding: str = ".jpg"
    color: int = 1
    pass_through: bool = False
    pack_label: bool = False

    def __post_init__(self) -> None:
        if self.color not in (-1, 0, 1):
            raise ValueError(f"color must be -1, 0 or 1, got {self.color}")
        if self.encoding not in (".jpg", ".png"):
            raise ValueError(f"encoding must be '.jpg' or '.png', got {self.encoding!r}")


class PackResult(NamedTuple):
    """What :func:`pack_list` wrote: the files, the records, the images skipped (with reasons)."""

    rec_path: str
    idx_path: str
    written: int
    skipped: list[str]


def encode_item(item: ListItem, root: str | os.PathLike, options: PackOptions) -> bytes:
    """Load, transform and encode one image, and pack it with its header.

    The header is ``IRHeader(0, label, index, 0)``; with ``pack_label`` and
    several labels, the labels are stored as a float32 array.

    Raises
    ------
    Exception
        Whatever makes the image unreadable (missing file, not an image, truncated data).
    """
    from PIL import Image

    labels = item.labels
    label = list(labels) if options.pack_label and len(labels) > 1 else labels[0]
    header = IRHeader(0, label, item.index, 0)
    path = os.path.join(os.fspath(root), item.path)
    data = read_file(path)
    encoded = open_image(data, path)  # an image at all? (the header is enough)
    if options.pass_through:
        return pack(header, data)
    img = Image.fromarray(_imread(encoded, options.color))
    if options.center_crop:
        w, h = img.size
        side = min(w, h)
        left, top = (w - side) // 2, (h - side) // 2
        img = img.crop((left, top, left + side, top + side))
    if options.resize:
        w, h = img.size
        n = options.resize
        size = (n, h * n // w) if h > w else (w * n // h, n)
        img = img.resize(size, Image.BILINEAR)
    return pack(header, encode_image(img, options.quality, options.encoding))


def _imread(encoded: Encoded, color: int) -> np.ndarray:
    """Decode as MXNet's im2rec does with ``cv2.imread(path, color)``, in RGB order.

    Parameters
    ----------
    encoded : Encoded
        The opened image file.
    color : {1, 0, -1}
        1: colour ``(H, W, 3)``; 0: gray ``(H, W)`` (libjpeg's luma for a JPEG,
        libpng's formula otherwise), both with the EXIF orientation applied;
        -1: as stored, gray ``(H, W)``, colour, or colour with alpha
        ``(H, W, 4)``, orientation ignored. 16-bit samples keep their high byte.

    Returns
    -------
    numpy.ndarray of uint8
    """
    if color == -1:
        encoded.orientation = 1
        channels = unchanged_channels(encoded.img)
        if channels == 4:
            return np.asarray(load(encoded).convert("RGBA"))
        color = 0 if channels == 1 else 1
    else:
        encoded.orientation = exif_orientation(encoded.img)
    pixels = to_array(encoded, color)
    return pixels[:, :, 0] if color == 0 else pixels


def pack_list(
    lst_path: str | os.PathLike,
    root: str | os.PathLike,
    options: PackOptions = PackOptions(),
    num_thread: int = 1,
    progress: bool = True,
    report: Callable[[str], None] | None = None,
) -> PackResult:
    """Pack the images of a .lst file into a .rec and .idx beside it.

    Parameters
    ----------
    lst_path : path
        The .lst file; the outputs replace its extension with ``.rec``/``.idx``.
    root : path
        The folder the .lst paths are relative to.
    options : PackOptions
        Resize, crop, colour, encoding, quality, pass-through, pack-label.
    num_thread : int, default 1
        Images encoded in parallel (records are still written in list order).
    progress : bool, default True
        Show a progress bar (count, rate, ETA) on stderr.
    report : callable, optional
        Called with a message for each bad .lst line or skipped image
        (default: print to stderr).

    Returns
    -------
    PackResult
    """
    from tqdm import tqdm

    base = os.path.splitext(os.fspath(lst_path))[0]
    rec_path, idx_path = base + ".rec", base + ".idx"
    items, problems = read_list(lst_path)
    bar = tqdm(total=len(items), unit="img", desc=os.path.basename(rec_path), disable=not progress)
    say = report or (lambda message: bar.write(message, file=sys.stderr))
    for problem in problems:
        say(problem)
    skipped: list[str] = []
    written = 0
    try:
        with MXIndexedRecordIO(idx_path, rec_path, "w") as record:
            for item, payload, error in _encode_all(items, root, options, num_thread):
                if error is None:
                    record.write_idx(item.index, payload)
                    written += 1
                else:
                    message = f"skipped {os.path.join(os.fspath(root), item.path)}: {error}"
                    skipped.append(message)
                    say(message)
                bar.update()
    finally:
        bar.close()
    return PackResult(rec_path, idx_path, written, skipped)


def _encode_all(
    items: Sequence[ListItem], root: str | os.PathLike, options: PackOptions, num_thread: int
) -> Iterator[tuple[ListItem, bytes | None, str | None]]:
    """Yield ``(item, record, None)`` or ``(item, None, reason)`` for each item, in order."""
    if num_thread <= 1:
        for item in items:
            yield (item, *_attempt(item, root, options))
        return
    pool = ThreadPoolExecutor(num_thread, thread_name_prefix="im2rec")
    pending: collections.deque = collections.deque()
    try:
        for item in items:
            pending.append((item, pool.submit(_attempt, item, root, options)))
            if len(pending) >= 4 * num_thread:
                done, future = pending.popleft()
                yield (done, *future.result())
        while pending:
            done, future = pending.popleft()
            yield (done, *future.result())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _attempt(
    item: ListItem, root: str | os.PathLike, options: PackOptions
) -> tuple[bytes | None, str | None]:
    try:
        return encode_item(item, root, options), None
    except (MemoryError, RecursionError):
        raise
    except Exception as err:  # any reason an image is unreadable: report it, skip it
        return None, f"{type(err).__name__}: {err}"
