"""RecordIO files, byte for byte as MXNet (dmlc-core) writes and reads them.

``mxnet.recordio`` in pure Python: :class:`MXRecordIO` reads or writes records
one after the other, :class:`MXIndexedRecordIO` adds the ``.idx`` file for
random access by key; :func:`pack`/:func:`unpack` put an :class:`IRHeader`
(label and ids) in front of a payload, and :func:`pack_img`/:func:`unpack_img`
encode and decode the image in it.

Differences from MXNet:

- images are **RGB** numpy arrays (MXNet's OpenCV functions used BGR);
- readers are safe across processes and threads: a forked or unpickled copy
  opens its own file handle, pickling does not close the original, and
  :meth:`MXIndexedRecordIO.read_idx` may be called from several threads;
- a damaged file raises :class:`RecordIOError` naming the file, the byte
  offset (or .idx line) and what was expected, and reading an index checks it
  against the .rec; :func:`build_index` rebuilds a lost .idx;
- after :meth:`MXRecordIO.read` has returned None, reads by key still work
  (MXNet's end of file was sticky until ``reset()``);
- any URI fsspec understands (``s3://``, ``gs://``, ``http://``, ...) can be
  read when ``gluondata[remote]`` is installed.
"""

from ._files import MXIndexedRecordIO, MXRecordIO
from ._format import RecordIOError
from ._pack import IRHeader, pack, pack_img, unpack, unpack_img
from ._scan import build_index

__all__ = [
    "IRHeader",
    "MXIndexedRecordIO",
    "MXRecordIO",
    "RecordIOError",
    "build_index",
    "pack",
    "pack_img",
    "unpack",
    "unpack_img",
]
