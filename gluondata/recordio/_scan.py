"""Scanning a whole .rec file: iterate its records with their offsets, rebuild its .idx."""

from __future__ import annotations

import os
from collections.abc import Iterator

from ._format import Bound, RecordIOError, Window, decode_record
from ._index import format_line
from ._pack import read_header
from ._source import local_path, open_source

__all__ = ["build_index", "default_idx_path", "iter_records"]


def default_idx_path(uri: str | os.PathLike) -> str:
    """The .idx next to a .rec: the same name with the extension ``.idx``."""
    return os.path.splitext(os.fspath(uri))[0] + ".idx"


def iter_records(uri: str | os.PathLike) -> Iterator[tuple[int, int, bytes]]:
    """Yield ``(offset, next_offset, record)`` for every record of a .rec file, in file order.

    Raises
    ------
    RecordIOError
        Where the file is damaged (after yielding the good records before it).
    """
    source = open_source(uri)
    try:
        window = Window(source.pread, source.chunk)
        end_of_file = Bound(source.size, next_record=False)
        offset = 0
        while True:
            payload, end = decode_record(window, offset, source.name, bound=end_of_file)
            if end < 0:
                return
            yield offset, end, payload
            offset = end
    finally:
        source.close()


def build_index(
    uri: str | os.PathLike, idx_path: str | os.PathLike | None = None, key: str = "position"
) -> str:
    """Scan a .rec file and write its .idx.

    Parameters
    ----------
    uri : str or path-like
        The .rec file (a path or an fsspec URI).
    idx_path : str or path-like, optional
        Where to write the index; default: next to a local .rec, with the
        extension ``.idx``. Written to a temporary file first and renamed, so a
        half-written index never replaces a good one.
    key : {'position', 'id'}, default 'position'
        The key of each record: its position in the file (0, 1, 2, ...), or the
        ``id`` of its :class:`~gluondata.recordio.IRHeader` (what ``im2rec``
        uses as the key).

    Returns
    -------
    str
        The path of the .idx file.

    Raises
    ------
    RecordIOError
        The .rec is damaged (nothing is written), or ``key='id'`` and a record
        is too short to hold an IRHeader.
    """
    if key not in ("position", "id"):
        raise ValueError(f"key must be 'position' or 'id', got {key!r}")
    if idx_path is None:
        if local_path(uri) is None:
            raise ValueError(f"give idx_path for a remote .rec ({os.fspath(uri)})")
        idx_path = default_idx_path(local_path(uri))
    idx_path = os.fspath(idx_path)
    lines = []
    for position, (offset, _, payload) in enumerate(iter_records(uri)):
        if key == "id":
            try:
                record_id = read_header(payload).id
            except RecordIOError:
                raise RecordIOError(
                    f"{os.fspath(uri)}: record at byte offset {offset} has {len(payload)} bytes, "
                    "too short for an IRHeader (use key='position')"
                ) from None
            lines.append(format_line(record_id, offset))
        else:
            lines.append(format_line(position, offset))
    tmp = f"{idx_path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.writelines(lines)
        os.replace(tmp, idx_path)
    except BaseException:
        os.unlink(tmp)
        raise
    return idx_path
