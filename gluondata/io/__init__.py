"""``mx.io`` on numpy: DataDesc, DataBatch, DataIter and MXNet's data iterators.

Training loops written against MXNet's iterator protocol run by changing the
import (``from gluondata import io``)::

    it = io.NDArrayIter(x, y, batch_size=32, shuffle=True, last_batch_handle="roll_over")
    for epoch in range(3):
        for batch in it:                 # a DataBatch of numpy arrays
            data, label = batch.data[0], batch.label[0]
        it.reset()

Batches hold numpy arrays; images are RGB. ``ImageRecordIter`` runs on the
DataLoader's worker processes; ``DataLoaderIter`` turns any DataLoader into a
DataIter. docs/io.md lists the differences from MXNet.
"""

from ._base import DataBatch, DataDesc, DataIter
from ._csv import CSVIter
from ._image_iter import ImageIter
from ._image_record import ImageRecordInt8Iter, ImageRecordIter, ImageRecordUInt8Iter
from ._libsvm import LibSVMIter
from ._mnist import MNISTIter
from ._ndarray import NDArrayIter
from ._wrappers import DataLoaderIter, PrefetchingIter, ResizeIter

__all__ = [
    "CSVIter",
    "DataBatch",
    "DataDesc",
    "DataIter",
    "DataLoaderIter",
    "ImageIter",
    "ImageRecordInt8Iter",
    "ImageRecordIter",
    "ImageRecordUInt8Iter",
    "LibSVMIter",
    "MNISTIter",
    "NDArrayIter",
    "PrefetchingIter",
    "ResizeIter",
]
