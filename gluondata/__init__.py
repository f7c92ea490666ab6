"""gluondata: the Gluon data API (Dataset, DataLoader, samplers, batchify) on numpy."""

from . import batchify, distributed, image, io, random, recordio, vision
from ._loader.bad_samples import BadSample, BadSampleWarning, TooManyBadSamplesError
from ._loader.columns import SampleColumns
from ._loader.crash_watch import SampleCrashedWorkerError
from ._loader.pool import WorkerDiedError
from ._loader.stats import LoaderStats
from ._loader.worker_info import WorkerInfo, get_worker_info
from .dataloader import DataLoader, MaskedBatch
from .dataset import ArrayDataset, Dataset, RecordFileDataset, SimpleDataset
from .sampler import (
    BatchSampler,
    FilterSampler,
    IntervalSampler,
    RandomSampler,
    ReplaySampler,
    Sampler,
    SequentialSampler,
)
from .strings import StringArray

__version__ = "0.1.0"

__all__ = [
    "ArrayDataset",
    "BadSample",
    "BadSampleWarning",
    "BatchSampler",
    "DataLoader",
    "Dataset",
    "FilterSampler",
    "IntervalSampler",
    "LoaderStats",
    "MaskedBatch",
    "RandomSampler",
    "RecordFileDataset",
    "ReplaySampler",
    "SampleColumns",
    "SampleCrashedWorkerError",
    "Sampler",
    "SequentialSampler",
    "SimpleDataset",
    "StringArray",
    "TooManyBadSamplesError",
    "WorkerDiedError",
    "WorkerInfo",
    "__version__",
    "batchify",
    "distributed",
    "get_worker_info",
    "image",
    "io",
    "random",
    "recordio",
    "vision",
]
