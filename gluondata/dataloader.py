"""DataLoader: batches from a dataset, in sampler order, computed by an executor."""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from ._loader import autotune
from ._loader.arguments import check_options, make_batch_sampler
from ._loader.bad_samples import BadSample, BadSampleBudget
from ._loader.checkpoint import (
    FORMAT,
    FORMAT_VERSION,
    EpochProgress,
    ResumePoint,
    check_state,
    numbered_batches,
)
from ._loader.epoch import EpochIterator, MaskedBatch
from ._loader.executors import Executor, InlineExecutor, ThreadExecutor
from ._loader.fetch import BatchJob
from ._loader.pool import ProcessExecutor
from ._loader.stats import EpochRecorder, LoaderStats, summarize
from .batchify import default_batchify_fn
from .distributed import check_ranks_agree, resolve_shards
from .image import get_backend
from .random import fresh_seed
from .sampler import (
    load_sampler_state,
    sampler_state,
)

__all__ = ["DataLoader", "MaskedBatch"]


class DataLoader:
    """Load batches from a dataset, optionally in parallel.

    Parameters
    ----------
    dataset : Dataset
        Anything with ``len()`` and ``[]``; a ``__getitems__(indices)``
        method, when present, fetches a batch's samples at once.
    batch_size : int, optional
        Samples per batch (required unless ``batch_sampler`` is given).
    shuffle : bool, default False
        Visit the samples in a new random order every epoch.
    sampler : Sampler, optional
        The order of the indices (do not combine with ``shuffle``).
    last_batch : {'keep', 'discard', 'rollover'}, optional
        What to do with a short last batch (default ``'keep'``); see
        :class:`~gluondata.sampler.BatchSampler`.
    batch_sampler : Sampler, optional
        Yields lists of indices; replaces batch_size/shuffle/sampler/last_batch.
    batchify_fn : callable, optional
        Turns a list of samples into a batch; default
        :func:`~gluondata.batchify.default_batchify_fn`.
    num_workers : int or 'auto', default 0
        0 runs batches in the calling thread; more runs them in worker
        processes (or threads, with ``thread_pool``). ``'auto'`` measures at
        the start of the first epoch and keeps the best (see :meth:`stats`).
    pin_memory : bool, default False
        Accepted for Gluon compatibility; batches are numpy arrays, so it does nothing.
    prefetch : int or 'auto', optional
        Batches in flight with workers (default ``2 * num_workers``, at least 1);
        ``'auto'`` measures, as ``num_workers='auto'`` does.
    thread_pool : bool, default False
        Use threads instead of processes for the workers.
    timeout : float, default 120
        Seconds a worker may take for one batch before a ``TimeoutError``.
    seed : int, optional
        Makes shuffling and every random transform reproducible, identical
        for any ``num_workers`` and executor (see :mod:`gluondata.random`).
    worker_init_fn : callable, optional
        Called as ``worker_init_fn(worker_id)`` in each worker as it starts.
    start_method : {None, 'fork', 'spawn', 'forkserver'}
        How worker processes start (None: the platform's default). With
        ``multiprocess`` (dill), lambdas and closures work under every method.
    shm_budget : int, optional
        Most bytes of shared memory for batches in flight or kept by the
        loop (default: a quarter of the available memory, at most 4 GiB).
        Past it, batches travel pickled: slower, never a deadlock.
    max_worker_restarts : int, default 3
        How many dead worker processes are replaced per epoch (their batches
        re-run, so no index is lost or repeated). One death more ends the
        epoch: the loop gets one ``WorkerDiedError`` naming the deaths and the
        batches not delivered, and the next epoch starts with fresh workers. A
        sample that kills a worker twice becomes a bad sample (see
        ``on_bad_sample``), not loaded again by this loader.
    in_order : bool, default True
        Yield batches in sampler order; with False, a batch is yielded as
        soon as it is ready (the same batches, in the order they finish).
    seed_global_rngs : bool, default True
        With ``seed``, also seed numpy's and Python's global generators for
        each batch (and restore them after), so transforms that call
        ``np.random``/``random`` directly are reproducible. The global
        generators are shared by all threads, so with ``thread_pool=True``
        seeded batches then compute one at a time: pass False when every
        random transform uses :func:`gluondata.random.generator`.
    on_bad_sample : {'raise', 'replace'}, default 'raise'
        What a sample that fails to load does (its ``__getitem__`` or
        transform raises): ``'raise'`` fails its batch with the error;
        ``'replace'`` puts another sample of the dataset in its place, drawn
        from (seed, epoch, index) so the batch is the same for any number of
        workers, keeps the batch's size, warns with a
        :class:`~gluondata.BadSampleWarning` and logs it in :attr:`bad_samples`.
        With worker processes, a sample that kills its worker twice (a
        segfault, ``os._exit``, the OOM killer) counts as failing to load, with
        :class:`~gluondata.SampleCrashedWorkerError` naming the signal.
    max_bad_fraction : float, default 0.01
        With ``'replace'``: once more than this fraction of the dataset's
        samples have failed in an epoch, a batch with a bad sample raises
        :class:`~gluondata.TooManyBadSamplesError` instead.
    progress : bool, default False
        Show a progress bar (tqdm) for each epoch, with samples/s.
    num_shards : int or 'auto', optional
        Yield only shard ``shard_index`` of ``num_shards`` of every epoch
        (one rank's part of a distributed job). All shards compute the same
        global order from ``(seed, epoch)`` and deal it round-robin, so each
        index is in exactly one shard, and every shard yields ``len(loader)``
        batches; step ``k`` of all shards together is batch ``k`` of one
        loader with ``batch_size * num_shards``. With ``'keep'``, a shard's
        last batch may end with one padding sample (see ``with_mask``);
        ``'discard'`` drops the same global tail on every shard; ``'rollover'``
        carries the global tail, the same on every shard. ``'auto'``: the
        world size and rank of the initialized ``torch.distributed`` process
        group, else of the ``WORLD_SIZE``/``RANK`` environment variables
        (torchrun), else one shard. A sharded loader's ``seed`` defaults
        to 0, so that every rank draws the same order.
    shard_index : int or 'auto', optional
        This loader's shard, in ``0 .. num_shards - 1``.
    with_mask : bool, default False
        Yield :class:`MaskedBatch` ``(batch, mask)`` pairs; ``mask`` is a
        boolean array, False for padding samples.
    check_ranks : bool, default True
        With ``num_shards`` and an initialized ``torch.distributed`` process
        group, the first iteration checks (one ``all_gather_object`` over
        gloo) that every rank has the same seed, dataset length, batch size,
        last_batch and num_shards and that every shard has a rank, and raises
        :class:`~gluondata.distributed.RankMismatchError` on every rank
        otherwise. Every rank of the group must then iterate the loader: pass
        False when only some do.
    pin_device_id, auto_reload, try_nopython
        Accepted so that Gluon code runs unchanged; they do nothing here.
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int | None = None,
        shuffle: bool = False,
        sampler: Any = None,
        last_batch: str | None = None,
        batch_sampler: Any = None,
        batchify_fn: Callable[[Sequence[Any]], Any] | None = None,
        num_workers: int | str = 0,
        pin_memory: bool = False,
        prefetch: int | str | None = None,
        thread_pool: bool = False,
        timeout: float = 120,
        seed: int | None = None,
        worker_init_fn: Callable[[int], None] | None = None,
        start_method: str | None = None,
        shm_budget: int | None = None,
        max_worker_restarts: int = 3,
        in_order: bool = True,
        seed_global_rngs: bool = True,
        on_bad_sample: str = "raise",
        max_bad_fraction: float = 0.01,
        progress: bool = False,
        num_shards: int | str | None = None,
        shard_index: int | str | None = None,
        with_mask: bool = False,
        check_ranks: bool = True,
        pin_device_id: int = 0,
        auto_reload: bool = False,
        try_nopython: bool | None = None,
    ) -> None:
        self._auto_workers = num_workers == "auto"
        self._auto_prefetch = prefetch == "auto"
        num_workers = 0 if self._auto_workers else num_workers
        prefetch = None if self._auto_prefetch else prefetch
        check_options(
            timeout=timeout,
            num_workers=num_workers,
            on_bad_sample=on_bad_sample,
            max_bad_fraction=max_bad_fraction,
        )
        shards = resolve_shards(num_shards, shard_index)
        if seed is None and shards is not None:
            seed = 0  # every rank must draw the same order
        self._seed = fresh_seed() if seed is None else int(seed)
        self._shards = shards
        batch_sampler = make_batch_sampler(
            dataset,
            batch_size=batch_size,
            shuffle=shuffle,
            sampler=sampler,
            last_batch=last_batch,
            batch_sampler=batch_sampler,
            shards=shards,
            seed=self._seed,
        )
        self._dataset = dataset
        self._batch_sampler = batch_sampler
        self._batchify_fn = batchify_fn or default_batchify_fn
        self._num_workers = int(num_workers)
        self._thread_pool = bool(thread_pool)
        self._prefetch_given = prefetch is not None
        self._prefetch = max(0, int(prefetch)) if prefetch is not None else 2 * num_workers
        self._timeout = float(timeout)
        self._in_order = bool(in_order)
        self._seed_globals = seed is not None and seed_global_rngs
        self._worker_init_fn = worker_init_fn
        self._process_options = {
            "start_method": start_method,
            "shm_budget": shm_budget,
            "max_worker_restarts": max_worker_restarts,
        }
        self._on_bad_sample = on_bad_sample
        self._max_bad_fraction = float(max_bad_fraction)
        self._bad_samples: list[BadSample] = []
        self._executor: Executor | InlineExecutor | None = None
        self._epoch = 0
        self._with_mask = bool(with_mask)
        self._check_ranks_enabled = shards is not None and check_ranks
        self._ranks_unchecked = self._check_ranks_enabled
        self._progress = bool(progress)
        self._recorder: EpochRecorder | None = None
        self._record_stats = True  # False only to measure what recording costs (benchmarks)
        self._autotune: str | None = None
        self._resume = ResumePoint()  # where the next epoch starts
        self._epoch_progress: EpochProgress | None = None  # what the caller received of it

    @property
    def dataset(self) -> Any:
        """The dataset the batches come from."""
        return self._dataset

    @property
    def batch_sampler(self) -> Any:
        """The batch sampler giving each batch's indices."""
        return self._batch_sampler

    @property
    def seed(self) -> int:
        """The seed of shuffling and per-sample randomness (drawn at random if not given)."""
        return self._seed

    @property
    def bad_samples(self) -> list[BadSample]:
        """Every sample that failed to load and was replaced, over all epochs, in batch order.

        Each is a :class:`~gluondata.BadSample` ``(epoch, index, error, substitute)``;
        the list is the loader's own (clear it if you like).
        """
        return self._bad_samples

    @property
    def num_shards(self) -> int:
        """How many shards each epoch is dealt to (1 when not sharded)."""
        return 1 if self._shards is None else self._shards[0]

    @property
    def shard_index(self) -> int:
        """Which shard this loader yields (0 when not sharded)."""
        return 0 if self._shards is None else self._shards[1]

    def __len__(self) -> int:
        return len(self._batch_sampler)

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration epoch ``epoch`` (to resume a run).

        The order of a seeded shuffle and every per-sample random draw then
        repeat those of that epoch. A rollover carry is not restored (to
        resume mid-epoch, with the carry, use :meth:`load_state_dict`).
        """
        self._epoch = int(epoch)
        self._resume = ResumePoint()
        self._epoch_progress = None
        set_epoch = getattr(self._batch_sampler, "set_epoch", None)
        if set_epoch is not None:
            set_epoch(epoch)

    def __iter__(self) -> Iterator[Any]:
        if self._ranks_unchecked:
            self._check_ranks()
        epoch = self._epoch
        self._epoch += 1
        resume, self._resume = self._resume, ResumePoint()
        try:
            start_state: dict[str, Any] | TypeError = sampler_state(self._batch_sampler)
        except TypeError as exc:  # raised only if a state is asked for
            start_state = exc
        progress = EpochProgress(
            epoch,
            start_state,
            resume.batches,
            set(resume.received_ahead),
            _length(self._batch_sampler),
        )
        masks: dict[int, np.ndarray] | None = {} if self._with_mask else None
        batches = self._index_batches(resume.batches, masks)
        if (self._auto_workers or self._auto_prefetch) and self._autotune is None:
            batches = self._tune(epoch, batches)
        numbered = numbered_batches(batches, resume.batches, resume.received_ahead, progress)
        progress.batches_ref = weakref.ref(numbered)
        executor = self._ensure_executor()
        in_flight = 1 if executor.runs_in_caller else max(1, self._prefetch)
        budget = None
        if self._on_bad_sample == "replace":
            seen = [BadSample(epoch, *failure) for failure in resume.bad_samples]
            budget = BadSampleBudget(
                self._max_bad_fraction, len(self._dataset), self._bad_samples, seen
            )
        progress.budget = budget
        remaining = progress.expected_batches  # the progress bar's total
        if remaining is not None:
            remaining = max(0, remaining - resume.batches - len(resume.received_ahead))
        self._recorder = (
            EpochRecorder(epoch, remaining, executor, self._progress)
            if self._record_stats
            else None
        )
        iterator = EpochIterator(
            self,
            executor,
            numbered,
            epoch,
            in_flight,
            self._timeout,
            self._in_order,
            budget,
            self._recorder,
            progress,
            masks,
        )
        progress.lock = iterator.next_lock
        self._epoch_progress = progress
        return iterator

    def _index_batches(
        self, start: int, masks: dict[int, np.ndarray] | None = None
    ) -> Iterator[Sequence[int]]:
        """The epoch's batches of indices from batch ``start`` on (earlier ones are not made).

        With ``masks``, a sharded sampler's masks go into it by batch position.
        """
        masked_batches = getattr(self._batch_sampler, "masked_batches", None)
        if masks is not None and masked_batches is not None:
            return _keep_masks(masked_batches(start), masks, start)
        index_batches = getattr(self._batch_sampler, "index_batches", None)
        if index_batches is not None:
            return index_batches(start) if start else index_batches()
        batches = iter(self._batch_sampler)
        return itertools.islice(batches, start, None) if start else batches

    def _fingerprint(self) -> dict[str, Any]:
        """The fields a state must share with this loader to be loaded into it."""
        inner = getattr(self._batch_sampler, "sampler", None)
        sampler = type(self._batch_sampler).__qualname__
        if inner is not None:
            sampler += f"({type(inner).__qualname__})"
        return {
            "dataset_length": len(self._dataset),
            "batch_size": getattr(self._batch_sampler, "batch_size", None),
            "last_batch": getattr(self._batch_sampler, "last_batch", None),
            "seed": self._seed,
            "sampler": sampler,
        }

    def state_dict(self) -> dict[str, Any]:
        """Return the loop's position, to resume it later with :meth:`load_state_dict`.

        The position is right after the last batch the caller received (not
        the ones prefetched by workers). The state is a small JSON-serializable
        dict, whatever the dataset's size: the epoch, the batches received, the
        batch sampler's state (a seed, an epoch, a rollover carry of fewer than
        ``batch_size`` indices), the epoch's bad samples (``on_bad_sample='replace'``),
        and the dataset length, batch size, last_batch, seed and sampler it
        belongs to. See ``docs/checkpointing.md``.

        Raises
        ------
        TypeError
            A sampler has no ``state_dict`` (the message names it and what to add).
        """
        progress = self._epoch_progress
        if progress is not None and progress.complete():
            self._end_epoch(progress)
            progress = None
        if progress is None:
            position: dict[str, Any] = {
                "epoch": self._epoch,
                "batches": self._resume.batches,
                "received_ahead": sorted(self._resume.received_ahead),
                "batch_sampler": sampler_state(self._batch_sampler),
                "bad_samples": [list(failure) for failure in self._resume.bad_samples],
            }
        else:
            if isinstance(progress.start_state, TypeError):
                raise progress.start_state
            with progress.lock:  # another thread may be in next()
                position = {
                    "epoch": progress.epoch,
                    "batches": progress.frontier,
                    "received_ahead": sorted(progress.ahead),
                    "batch_sampler": progress.start_state,
                    "bad_samples": [] if progress.budget is None else progress.budget.state(),
                }
        return {"format": FORMAT, "version": FORMAT_VERSION, **self._fingerprint(), **position}

    def _end_epoch(self, progress: EpochProgress) -> None:
        """Forget an epoch whose batches were all received; its batch sampler reaches the end.

        The end (a rollover carry) is reached by finishing the epoch's batch
        generator, or, if that is gone, by replaying the epoch's batches of
        indices from its start state.
        """
        if progress.end is None and not progress.drain():
            if isinstance(progress.start_state, TypeError):
                raise progress.start_state
            load_sampler_state(self._batch_sampler, progress.start_state)
            for _ in self._index_batches(progress.expected_batches or 0):
                pass
        self._epoch_progress = None
        self._resume = ResumePoint()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Make the next iteration continue from ``state`` (from :meth:`state_dict`).

        The batches then are exactly those the saved loop would have produced
        next, for any ``num_workers``, threads or processes. Nothing before
        the position is read (the samplers skip by arithmetic).

        Raises
        ------
        ValueError
            The state belongs to another dataset length, batch size,
            last_batch, seed or sampler, or to a newer format version: the
            message names the field.
        """
        resume = check_state(state, self._fingerprint())
        load_sampler_state(self._batch_sampler, state["batch_sampler"])
        align = getattr(self._batch_sampler, "align", None)  # a sharded loader's
        if align is not None:
            saved_shards = state["batch_sampler"]["num_shards"]
            if resume.received_ahead and saved_shards != self.num_shards:
                raise ValueError(
                    f"cannot load this DataLoader state into {self.num_shards} shards: it was "
                    f"saved with {saved_shards} shards and in_order=False, with batches "
                    f"{sorted(resume.received_ahead)} received ahead of batch {resume.batches}; "
                    "save states with in_order=True to resume on another number of ranks"
                )
            align(resume.batches)
        self._epoch = int(state["epoch"])
        self._resume = resume
        self._epoch_progress = None
        self._ranks_unchecked = self._check_ranks_enabled  # every rank must load the same position

    def stats(self) -> LoaderStats:
        """Where the time of the latest epoch went (so far, if it is running).

        The time the loop waited for batches against the time it spent
        elsewhere, each stage of the batches' work, worker utilisation,
        shared memory, pickled batches, bad samples, worker restarts, and a
        verdict (``'input-bound'``, ``'balanced'`` or ``'compute-bound'``)
        with one line of advice. ``print(loader.stats())`` shows a table.
        """
        if self._recorder is None:
            raise RuntimeError("stats() describes an epoch: iterate over the loader first")
        executor = (
            "caller"
            if self._num_workers == 0
            else ("threads" if self._thread_pool else "processes")
        )
        return summarize(
            self._recorder,
            executor=executor,
            num_workers=self._num_workers,
            prefetch=self._prefetch if self._num_workers else 1,
            dataset=self._dataset,
            autotune=self._autotune,
        )

    def _tune(self, epoch: int, batches: Iterator[Sequence[int]]) -> Iterator[Sequence[int]]:
        """Choose num_workers and/or prefetch by measuring; the epoch's batches are unchanged."""
        first = list(itertools.islice(batches, autotune.TRIAL_BATCHES))
        if not first:
            return iter(first)
        self.close()

        def make_iterator(
            executor: Executor | InlineExecutor,
            prefetch: int,
            index_batches: Iterator[Sequence[int]],
        ) -> EpochIterator:
            in_flight = 1 if executor.runs_in_caller else max(1, prefetch)
            return EpochIterator(
                self,
                executor,
                enumerate(index_batches),
                epoch,
                in_flight,
                self._timeout,
                True,
                None,
            )

        choice, executor = autotune.choose(
            self._make_executor,
            make_iterator,
            first,
            tune_workers=self._auto_workers,
            num_workers=self._num_workers,
            tune_prefetch=self._auto_prefetch,
            prefetch=self._prefetch if self._prefetch_given else None,
        )
        self._num_workers, self._prefetch = choice.num_workers, choice.prefetch
        self._autotune = choice.describe()
        self._executor = executor
        self._shutdown = weakref.finalize(self, executor.close)
        return itertools.chain(first, batches)

    def _check_ranks(self) -> None:
        num_shards, shard_index = self._shards
        sampler = self._batch_sampler
        fields = {
            "epoch": self._epoch,
            "first batch": self._resume.batches,
            "seed": self._seed,
            "dataset length": len(self._dataset),
            "sampler length": len(sampler.sampler),
            "batch_size": sampler.batch_size,
            "last_batch": sampler.last_batch,
            "num_shards": num_shards,
        }
        check_ranks_agree("DataLoader", fields, num_shards, shard_index)
        self._ranks_unchecked = False

    def _ensure_executor(self) -> Executor | InlineExecutor:
        if self._executor is None:
            self._executor = self._make_executor()
            # shuts the workers down when the loader is garbage, or at interpreter exit
            self._shutdown = weakref.finalize(self, self._executor.close)
        return self._executor

    def _make_executor(self, num_workers: int | None = None) -> Executor | InlineExecutor:
        num_workers = self._num_workers if num_workers is None else num_workers
        job = BatchJob(
            dataset=self._dataset,
            batchify_fn=self._batchify_fn,
            seed=self._seed,
            seed_globals=self._seed_globals,
            on_bad_sample=self._on_bad_sample,
            image_backend=get_backend(),
        )
        if num_workers == 0:
            return InlineExecutor(job)
        if self._thread_pool:
            return ThreadExecutor(job, num_workers, self._worker_init_fn)
        return ProcessExecutor(job, num_workers, self._worker_init_fn, **self._process_options)

    def close(self) -> None:
        """Shut down the workers (a later iteration starts new ones)."""
        if self._executor is not None:
            self._executor = None
            self._shutdown()

    def __enter__(self) -> DataLoader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = (
            "num_workers='auto', not chosen yet"
            if self._auto_workers and self._autotune is None
            else "in the caller"
            if self._num_workers == 0
            else f"{self._num_workers} {'threads' if self._thread_pool else 'processes'}"
        )
        return f"DataLoader({self._dataset!r}, {self._batch_sampler!r}, {mode})"


def _keep_masks(
    pairs: Iterator[tuple[np.ndarray, np.ndarray]], masks: dict[int, np.ndarray], start: int
) -> Iterator[np.ndarray]:
    """Yield the indices of ``(indices, mask)`` pairs; put each mask in ``masks`` by position."""
    for position, (indices, mask) in enumerate(pairs, start):
        masks[position] = mask
        yield indices


def _length(batch_sampler: Any) -> int | None:
    try:
        return len(batch_sampler)
    except TypeError:
        return None
