"""The shared-memory ring holds what is in flight: slots the size of a batch, no more."""

import mmap

from gluondata._loader.pool.ring import LARGE_BATCH_BYTES, SlotRing


def test_a_slot_is_the_size_of_a_batch_until_batches_grow():
    ring = SlotRing(budget=2**30)
    ring.note_needed(3 * mmap.PAGESIZE, 1)
    first = ring.acquire(1)
    assert ring.blocks[first].size == 4 * mmap.PAGESIZE  # a page for padding, no headroom
    ring.note_needed(mmap.PAGESIZE, 1)  # a smaller batch (an epoch's last) fits as it is
    assert not ring.grew
    ring.note_needed(3 * mmap.PAGESIZE + 64, 1)  # alignment padding: no growth
    assert not ring.grew
    ring.note_needed(8 * mmap.PAGESIZE, 1)  # a larger one: later slots get headroom
    assert ring.grew
    second = ring.acquire(1)
    assert ring.blocks[second].size == 10 * mmap.PAGESIZE  # 8 pages + 25 %
    ring.close()


def test_workers_queue_a_second_task_only_for_small_batches():
    ring = SlotRing(budget=2**30)
    ring.note_needed(LARGE_BATCH_BYTES - 1, 1)
    assert ring.queue_depth() == 2
    ring.note_needed(LARGE_BATCH_BYTES, 1)
    assert ring.queue_depth() == 1
    ring.close()


def test_large_batches_keep_the_ring_to_the_batches_in_flight():
    import numpy as np

    from gluondata import ArrayDataset, DataLoader

    data = np.arange(16 * 2**20, dtype=np.float32).reshape(16, 2**20)  # 4 MiB a sample
    loader = DataLoader(ArrayDataset(data), batch_size=3, num_workers=2, prefetch=4)
    for _ in range(2):
        got = np.empty_like(data)
        for i, batch in enumerate(loader):  # each batch let go before the next arrives
            got[3 * i : 3 * i + len(batch)] = batch
        np.testing.assert_array_equal(got, data)  # every sample once, in order
    ring = loader._executor._ring
    # large batches: one running task per worker, and the batch the loop holds
    assert len(ring.blocks) <= 2 + 1
    sizes = [block.size for block in ring.blocks.values()]
    assert not ring.grew, (sizes, ring.batch_bytes)
    # a task may carry several batches: a slot is whole batches, a page of slack, page-rounded
    whole = [round(size / ring.batch_bytes) * ring.batch_bytes for size in sizes]
    assert all(s <= w + 2 * mmap.PAGESIZE for s, w in zip(sizes, whole, strict=True)), sizes


def _big_batches_loader(batches):
    import numpy as np

    from gluondata import ArrayDataset, DataLoader

    data = np.arange(batches * 2 * 2**21, dtype=np.float32).reshape(batches * 2, 2**21)
    return data, DataLoader(ArrayDataset(data), batch_size=2, num_workers=2)  # 16 MiB batches


def test_at_the_default_prefetch_the_ring_holds_the_running_batches_and_the_loops_one():
    import numpy as np

    data, loader = _big_batches_loader(12)
    for _ in range(3):
        got = np.empty_like(data)
        for i, batch in enumerate(loader):  # a loop that lets each batch go
            got[2 * i : 2 * i + 2] = batch
        np.testing.assert_array_equal(got, data)
    # one slot per worker's running task and the batch the loop holds (the one it lets go of
    # goes to a waiting task); not prefetch (4) + 1 for batches done while the loop is away
    assert len(loader._executor._ring.blocks) <= 2 + 1
    loader.close()


def test_a_batch_let_go_hands_its_slot_to_a_waiting_worker_at_once():
    _, loader = _big_batches_loader(12)
    epoch = iter(loader)
    batch = next(epoch)
    executor = loader._executor
    for _ in range(6):
        batch = next(epoch)  # the batch before is garbage now: its slot is free
        # no slot stays free while a worker is idle and a task waits: the slot went to a
        # worker before the loop asked for anything more
        idle = [w for w in executor._workers.values() if not w.tasks]
        free = list(executor._ring._free)
        assert not (idle and executor._held and free), (len(idle), free)
    del batch, epoch
    loader.close()


def test_a_loop_that_keeps_every_batch_still_gets_them_all():
    import numpy as np

    data, loader = _big_batches_loader(8)
    kept = list(loader)  # every slot stays in use: the ring must grow past its steady size
    np.testing.assert_array_equal(np.concatenate(kept), data)
    assert len(loader._executor._ring.blocks) > 3
    loader.close()


def test_an_iterator_left_open_does_not_starve_the_next_epoch_of_slots():
    import numpy as np

    data, loader = _big_batches_loader(8)
    first = iter(loader)
    next(first)  # its prefetched batches keep their slots while it is alive
    for _ in range(2):
        np.testing.assert_array_equal(np.concatenate([b.copy() for b in loader]), data)
    del first
    loader.close()
