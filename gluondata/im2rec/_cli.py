"""The ``gluondata im2rec`` command line: MXNet's ``tools/im2rec.py`` arguments."""

from __future__ import annotations

import argparse
import os
import sys

from ._lists import DEFAULT_EXTS, find_lists, make_list, no_lists_message
from ._packer import PackOptions, pack_list

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add MXNet im2rec's arguments and options to ``parser``."""
    parser.add_argument("prefix", help="prefix of input/output .lst and .rec files")
    parser.add_argument("root", help="folder holding the images")
    lists = parser.add_argument_group("making image lists")
    lists.add_argument(
        "--list",
        action="store_true",
        help="list the images under ROOT into PREFIX.lst (else pack PREFIX*.lst into .rec)",
    )
    lists.add_argument("--exts", nargs="+", default=list(DEFAULT_EXTS), help="image extensions")
    lists.add_argument("--chunks", type=int, default=1, help="number of chunks")
    lists.add_argument("--train-ratio", type=float, default=1.0, help="training share")
    lists.add_argument("--test-ratio", type=float, default=0.0, help="share of images for testing")
    lists.add_argument(
        "--recursive",
        action="store_true",
        help="walk sub-folders, one label per folder (else only ROOT's files, label 0)",
    )
    lists.add_argument(
        "--no-shuffle", dest="shuffle", action="store_false", help="keep the images in walk order"
    )
    packing = parser.add_argument_group("packing records")
    packing.add_argument(
        "--pass-through", action="store_true", help="store the image files' bytes untouched"
    )
    packing.add_argument(
        "--resize", type=int, default=0, help="resize the shorter edge to this (0: keep the size)"
    )
    packing.add_argument(
        "--center-crop", action="store_true", help="crop the centre square (before resizing)"
    )
    packing.add_argument(
        "--quality", type=int, default=95, help="JPEG quality 1-100, or PNG compression 0-9"
    )
    packing.add_argument("--num-thread", type=int, default=1, help="images encoded in parallel")
    packing.add_argument(
        "--color",
        type=int,
        default=1,
        choices=[-1, 0, 1],
        help="1: colour (alpha dropped); 0: grayscale; -1: as stored, alpha kept",
    )
    packing.add_argument("--encoding", default=".jpg", choices=[".jpg", ".png"], help="format")
    packing.add_argument(
        "--pack-label", action="store_true", help="store all the labels of a .lst line"
    )


def run(args: argparse.Namespace) -> int:
    """Run ``gluondata im2rec`` with parsed arguments; return the exit status."""
    try:
        return _run(args)
    except (OSError, ValueError) as err:
        print(f"gluondata im2rec: {err}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    prefix, root = os.path.abspath(args.prefix), os.path.abspath(args.root)
    if args.list:
        written, labels = make_list(
            prefix,
            root,
            args.recursive,
            args.exts,
            args.train_ratio,
            args.test_ratio,
            args.chunks,
            args.shuffle,
        )
        if args.recursive:
            for folder, label in labels.items():
                print(folder, label)
        for path in written:
            print(f"wrote {path}")
        return 0
    lists = find_lists(prefix)
    if not lists:
        print(f"gluondata im2rec: {no_lists_message(prefix)}", file=sys.stderr)
        return 1
    options = PackOptions(
        resize=args.resize,
        center_crop=args.center_crop,
        quality=args.quality,
        encoding=args.encoding,
        color=args.color,
        pass_through=args.pass_through,
        pack_label=args.pack_label,
    )
    for lst in lists:
        result = pack_list(lst, root, options, args.num_thread)
        print(
            f"{lst}: wrote {result.written} records to {result.rec_path} and "
            f"{result.idx_path}; skipped {len(result.skipped)} unreadable image(s)"
        )
    return 0
