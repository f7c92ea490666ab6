""".lst files for im2rec: list an image folder (MXNet's order, shuffle, splits); read lists."""

from __future__ import annotations

import os
import random
from collections.abc import Iterable
from typing import NamedTuple

from ._lst import read_lst

__all__ = [
    "DEFAULT_EXTS",
    "ListItem",
    "find_lists",
    "list_images",
    "make_list",
    "no_lists_message",
    "read_list",
    "write_list",
]

DEFAULT_EXTS = (".jpeg", ".jpg", ".png")


class ListItem(NamedTuple):
    """One line of a .lst file: the index, the image path (relative to the root), the labels."""

    index: int
    path: str
    labels: tuple[float, ...]


# -- making lists ---------------------------------------------------------------------------


def list_images(
    root: str | os.PathLike, recursive: bool = False, exts: Iterable[str] = DEFAULT_EXTS
) -> tuple[list[ListItem], dict[str, int]]:
    """List the images under ``root`` as MXNet's im2rec does.

    Parameters
    ----------
    root : path
        The image folder.
    recursive : bool, default False
        Walk sub-folders (following links, in sorted order); every folder that
        holds an image gets the next label. Otherwise list only the files
        directly in ``root``, with label 0.
    exts : iterable of str
        File extensions to take (compared case-insensitively).

    Returns
    -------
    (list of ListItem, dict)
        The images, numbered in walk order, and ``{folder relative to root: label}``.
    """
    root = os.fspath(root)
    wanted = {e.lower() if e.startswith(".") else "." + e.lower() for e in exts}
    items: list[ListItem] = []
    labels: dict[str, int] = {}
    if recursive:
        walk: Iterable[tuple[str, list[str], list[str]]] = os.walk(root, followlinks=True)
    else:
        walk = [(root, [], os.listdir(root))]
    for folder, dirs, files in walk:
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            if os.path.splitext(name)[1].lower() in wanted and os.path.isfile(path):
                label = labels.setdefault(os.path.relpath(folder, root), len(labels))
                items.append(ListItem(len(items), os.path.relpath(path, root), (float(label),)))
    return items, labels


def write_list(path: str | os.PathLike, items: Iterable[ListItem]) -> None:
    """Write a .lst file in MXNet 1.9's format (labels as ``%f``)."""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for item in items:
            labels = "".join(f"{label:f}\t" for label in item.labels)
            f.write(f"{item.index}\t{labels}{item.path}\n")


def make_list(
    prefix: str | os.PathLike,
    root: str | os.PathLike,
    recursive: bool = False,
    exts: Iterable[str] = DEFAULT_EXTS,
    train_ratio: float = 1.0,
    test_ratio: float = 0.0,
    chunks: int = 1,
    shuffle: bool = True,
) -> tuple[list[str], dict[str, int]]:
    """List the images under ``root`` into ``PREFIX[_i][_train|_val|_test].lst`` files.

    The order, shuffle (``random.seed(100)``), chunk sizes and train/val/test
    splits are MXNet's exactly, so the same folder gives the same files.

    Returns
    -------
    (list of str, dict)
        The .lst files written, and ``{folder: label}`` (see :func:`list_images`).
    """
    if chunks < 1:
        raise ValueError(f"chunks must be at least 1, got {chunks}")
    prefix = os.fspath(prefix)
    items, labels = list_images(root, recursive, exts)
    if shuffle:
        random.Random(100).shuffle(items)
    chunk_size = -(-len(items) // chunks)
    written = []
    for i in range(chunks):
        chunk = items[i * chunk_size : (i + 1) * chunk_size]
        base = prefix + (f"_{i}" if chunks > 1 else "")
        sep, sep_test = int(chunk_size * train_ratio), int(chunk_size * test_ratio)
        if train_ratio == 1.0:
            parts = [(".lst", chunk)]
        else:
            parts = []
            if test_ratio:
                parts.append(("_test.lst", chunk[:sep_test]))
            if train_ratio + test_ratio < 1.0:
                parts.append(("_val.lst", chunk[sep_test + sep :]))
            parts.append(("_train.lst", chunk[sep_test : sep_test + sep]))
        for suffix, part in parts:
            write_list(base + suffix, part)
            written.append(base + suffix)
    return written, labels


# -- reading lists --------------------------------------------------------------------------


def read_list(path: str | os.PathLike) -> tuple[list[ListItem], list[str]]:
    """Read a .lst file: ``index<TAB>label(s)<TAB>path`` lines.

    Returns
    -------
    (list of ListItem, list of str)
        The good lines, and a message (file, line number, reason, line) for each bad one.
    """
    lst = read_lst(path, strict=False)
    labels, bounds = lst.labels.tolist(), lst.label_offsets.tolist()
    items = [
        ListItem(index, image, tuple(labels[start:stop]))
        for index, image, start, stop in zip(
            lst.index.tolist(), lst.paths, bounds[:-1], bounds[1:], strict=True
        )
    ]
    return items, [bad.message for bad in lst.bad]


def find_lists(prefix: str | os.PathLike) -> list[str]:
    """The .lst files im2rec packs for ``prefix``: in its folder, named ``PREFIX*.lst`` (sorted)."""
    prefix = os.path.abspath(prefix)
    folder = prefix if os.path.isdir(prefix) else os.path.dirname(prefix)
    paths = (os.path.join(folder, name) for name in sorted(os.listdir(folder)))
    return [p for p in paths if p.startswith(prefix) and p.endswith(".lst") and os.path.isfile(p)]


def no_lists_message(prefix: str | os.PathLike) -> str:
    """Say why :func:`find_lists` found nothing for ``prefix``, and what to pass instead."""
    prefix = os.path.abspath(prefix)
    if not os.path.isdir(prefix):
        return f"no .lst file with prefix {prefix}"
    beside = find_lists(prefix + ".lst")
    hint = f"; to pack {beside[0]}, pass it as the prefix" if beside else ""
    return (
        f"no .lst file in {prefix}: a prefix that names a folder means the .lst files "
        f"inside it{hint}"
    )
