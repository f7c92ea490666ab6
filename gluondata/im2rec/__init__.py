"""``gluondata im2rec``: MXNet's ``tools/im2rec.py`` — image lists and RecordIO packing.

Two steps, as in MXNet:

1. ``gluondata im2rec --list PREFIX ROOT`` lists the images under ``ROOT`` into
   ``PREFIX.lst`` (``index<TAB>label<TAB>relative/path`` lines; with
   ``--recursive`` each folder is a class, labelled in sorted order), optionally
   shuffled and split into train/val/test parts and chunks (:func:`make_list`).
2. ``gluondata im2rec PREFIX ROOT`` packs every ``PREFIX*.lst`` into a ``.rec``
   and ``.idx`` beside it (:func:`pack_list`): images are loaded, optionally
   center-cropped and resized, and re-encoded (or stored untouched with
   ``--pass-through``), in parallel with ``--num-thread``, in list order.

Unlike MXNet's script, an unreadable image is reported (path and reason),
skipped and counted, and an interrupted run leaves a .rec and .idx that
agree (the .idx never names a record that is not completely in the .rec).
"""

from ._cli import add_arguments, run
from ._lists import ListItem, find_lists, list_images, make_list, read_list, write_list
from ._packer import PackOptions, PackResult, encode_item, pack_list

__all__ = [
    "ListItem",
    "PackOptions",
    "PackResult",
    "add_arguments",
    "encode_item",
    "find_lists",
    "list_images",
    "make_list",
    "pack_list",
    "read_list",
    "run",
    "write_list",
]
