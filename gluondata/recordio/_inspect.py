"""``gluondata inspect FILE.rec``: what a RecordIO file holds, and whether its .idx agrees."""

from __future__ import annotations

import argparse
import collections
import io
import os
import sys

import numpy as np

from ._format import RecordIOError
from ._index import RecordIndex
from ._pack import unpack
from ._scan import build_index, default_idx_path, iter_records
from ._source import open_source, read_whole

__all__ = ["add_arguments", "inspect_file", "run"]

_SHOWN = 5


class _Tally:
    """Counts of what the records hold: label formats, image formats and sizes."""

    def __init__(self) -> None:
        self.labels: collections.Counter[str] = collections.Counter()
        self.formats: collections.Counter[str] = collections.Counter()
        self.sizes: list[tuple[int, int]] = []

    def add(self, payload: bytes) -> None:
        from PIL import Image

        try:
            header, image = unpack(payload)
        except RecordIOError:
            self.labels["no IRHeader (too short for its header and labels)"] += 1
            return
        self.labels["scalar" if header.flag == 0 else f"{header.flag} floats"] += 1
        try:
            with Image.open(io.BytesIO(image)) as img:
                self.formats[f"{img.format} {img.mode}"] += 1
                self.sizes.append(img.size)
        except Exception:  # not an image: counted, not an error
            self.formats["not an image"] += 1

    def lines(self) -> list[str]:
        out = ["labels: " + _counts(self.labels)] if self.labels else []
        if self.formats:
            out.append("payloads: " + _counts(self.formats))
        if self.sizes:
            w, h = np.array(self.sizes).T
            out.append(
                f"image sizes: width {w.min()}-{w.max()} (mean {w.mean():.0f}), "
                f"height {h.min()}-{h.max()} (mean {h.mean():.0f})"
            )
        return out


def _counts(counter: collections.Counter[str]) -> str:
    return ", ".join(f"{what} ({n})" for what, n in counter.most_common())


def inspect_file(
    uri: str | os.PathLike, idx_path: str | os.PathLike | None = None, progress: bool = False
) -> tuple[list[str], bool]:
    """Scan a .rec file and check its .idx.

    Parameters
    ----------
    uri : str or path-like
        The .rec file.
    idx_path : str or path-like, optional
        Its index (default: the same name with ``.idx``; skipped if absent).
    progress : bool, default False
        Show a progress bar on stderr.

    Returns
    -------
    (list of str, bool)
        The report's lines, and whether the .rec and .idx are sound.
    """
    from tqdm import tqdm

    name = os.fspath(uri)
    source = open_source(uri)
    size = source.size
    source.close()
    tally, starts, payload_bytes, damage, scanned = _Tally(), [], 0, None, 0
    with tqdm(
        total=size, unit="B", unit_scale=True, disable=None if progress else True, file=sys.stderr
    ) as bar:
        try:
            for offset, scanned, payload in iter_records(uri):
                bar.update(scanned - bar.n)
                starts.append(offset)
                payload_bytes += len(payload)
                tally.add(payload)
        except RecordIOError as err:
            damage = str(err)
    lines = [f"{name}: {size} bytes, {len(starts)} records ({payload_bytes} bytes of payload)"]
    if damage:
        lines.append(f"DAMAGED: {damage}")
    lines += tally.lines()
    starts_array = np.array(starts, dtype=np.int64)
    index_lines, index_ok = _check_index(name, idx_path, starts_array, size, scanned)
    return lines + index_lines, damage is None and index_ok


def _check_index(
    name: str, idx_path: str | os.PathLike | None, starts: np.ndarray, size: int, scanned: int
) -> tuple[list[str], bool]:
    """Check an .idx against the record starts found in the first ``scanned`` bytes."""
    path = os.fspath(idx_path) if idx_path is not None else default_idx_path(name)
    try:
        index = RecordIndex.parse(read_whole(path), path, str)
        index.bind(size, name)
    except FileNotFoundError:
        return [f"index: no {path} (make one with --build-index)"], idx_path is None
    except RecordIOError as err:
        return [f"index BAD: {err}"], False
    unchecked = int(np.count_nonzero(index.offsets >= scanned))
    stray = np.flatnonzero(~np.isin(index.offsets, starts) & (index.offsets < scanned))
    missing = int(np.count_nonzero(~np.isin(starts, index.offsets)))
    repeated = len(index) - len(np.unique(index.keys))
    line = f"index {path}: {len(index)} lines"
    line += f", {repeated} repeated keys (the last line wins)" if repeated else ", keys unique"
    line += f"; {missing} records not in the index" if missing else "; every record indexed"
    if unchecked:
        line += f"; {unchecked} lines point past the damage (not checked)"
    lines = [line]
    if len(stray):
        shown = "; ".join(index.describe(int(r)) for r in stray[:_SHOWN])
        lines.append(
            f"index BAD: {len(stray)} lines give an offset that is not the start of a record: "
            f"{shown}{' ...' if len(stray) > _SHOWN else ''}"
        )
    return lines, len(stray) == 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``gluondata inspect``'s arguments to ``parser``."""
    parser.add_argument("file", help="the .rec file (a path or an fsspec URI)")
    parser.add_argument("--idx", help="its index (default: FILE with the extension .idx)")
    parser.add_argument(
        "--build-index", action="store_true", help="(re)write the index by scanning FILE first"
    )
    parser.add_argument(
        "--key",
        choices=["position", "id"],
        default="position",
        help="with --build-index: key records by position, or by their IRHeader id (as im2rec)",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``gluondata inspect``; exit status 1 if the file or its index is damaged."""
    try:
        if args.build_index:
            print(f"wrote {build_index(args.file, args.idx, args.key)}")
        lines, ok = inspect_file(args.file, args.idx, progress=True)
    except (OSError, ValueError) as err:
        print(f"gluondata inspect: {err}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0 if ok else 1
