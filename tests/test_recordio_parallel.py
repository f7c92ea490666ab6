"""Readers across processes and threads; writers that are killed or forked."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings

import numpy as np
import pytest

from gluondata import DataLoader, RecordFileDataset, recordio
from gluondata.batchify import AsList

COUNT = 300


def record(i: int) -> bytes:
    """Record ``i``: its number, then bytes that depend on it (some hold the magic word)."""
    body = np.random.default_rng(i).bytes(i % 97)
    if i % 5 == 0:
        body = bytes.fromhex("0a23d7ce") + body + bytes.fromhex("0a23d7ce")
    return i.to_bytes(4, "little") + body


@pytest.fixture(scope="module")
def rec_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("parallel")
    with recordio.MXIndexedRecordIO(folder / "x.idx", folder / "x.rec", "w") as writer:
        for i in range(COUNT):
            writer.write_idx(i, record(i))
    return folder / "x.rec"


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_two_worker_processes_and_four_threads_read_every_record_once(rec_file, start_method):
    dataset = RecordFileDataset(rec_file)
    assert dataset[0] == record(0)  # the reader is open and used before the workers start
    loader = DataLoader(
        dataset,
        batch_size=16,
        shuffle=True,
        num_workers=2,
        batchify_fn=AsList(),
        seed=0,
        start_method=start_method,
    )
    thread_errors, thread_counts = [], [0] * 4

    def hammer(t: int) -> None:
        rng = np.random.default_rng(t)
        try:
            for i in rng.integers(0, COUNT, 400).tolist():
                assert dataset[i] == record(i), i
                thread_counts[t] += 1
            for start in range(0, COUNT, 37):
                got = dataset.__getitems__(list(range(start, min(start + 37, COUNT))))
                assert got == [record(i) for i in range(start, min(start + 37, COUNT))]
        except Exception as err:  # reported below, with the thread's number
            thread_errors.append((t, err))

    threads = [threading.Thread(target=hammer, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    with loader:
        seen = [r for batch in loader for r in batch]
    for thread in threads:
        thread.join()
    assert not thread_errors
    assert thread_counts == [400] * 4
    assert sorted(seen) == sorted(record(i) for i in range(COUNT))
    assert len({int.from_bytes(r[:4], "little") for r in seen}) == COUNT


def test_a_reader_forked_mid_file_reopens_in_the_child(rec_file):
    reader = recordio.MXIndexedRecordIO(rec_file.with_suffix(".idx"), rec_file, "r")
    assert reader.read() == record(0)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: reads the rest on its own handle, reports by exit status
        os.close(read_fd)
        dropped = reader._source is None  # the parent's handle was let go at the fork
        ok = (
            dropped
            and reader.read() == record(1)
            and reader.read_idx(COUNT - 1) == record(COUNT - 1)
        )
        os.write(write_fd, b"ok" if ok else b"bad")
        os._exit(0)
    os.close(write_fd)
    os.waitpid(pid, 0)
    with os.fdopen(read_fd, "rb") as pipe:
        assert pipe.read() == b"ok"
    assert reader.read() == record(1)  # the parent's position did not move


def test_a_forked_child_cannot_write_to_its_parents_writer(tmp_path):
    writer = recordio.MXRecordIO(tmp_path / "x.rec", "w")
    writer.write(b"parent")
    pid = os.fork()
    if pid == 0:
        try:
            writer.write(b"child")
        except RuntimeError:
            os._exit(7)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 7
    writer.write(b"parent again")
    writer.close()
    reader = recordio.MXRecordIO(tmp_path / "x.rec", "r")
    assert list(iter(reader.read, None)) == [b"parent", b"parent again"]


WRITER = textwrap.dedent(
    """
    import sys
    from gluondata import recordio
    writer = recordio.MXIndexedRecordIO(sys.argv[1] + ".idx", sys.argv[1] + ".rec", "w")
    i = 0
    while True:
        writer.write_idx(i, bytes([i % 251]) * (i % 2000))
        i += 1
        if i == 300:
            print("started", flush=True)
    """
)


def test_a_killed_writer_leaves_an_index_that_fits_the_file(tmp_path):
    prefix = str(tmp_path / "killed")
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, prefix], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline() == "started\n"
        time.sleep(0.2)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
    reader = recordio.MXIndexedRecordIO(prefix + ".idx", prefix + ".rec", "r")
    keys = reader.keys.tolist()
    assert len(keys) >= 300 and keys == list(range(len(keys)))
    for i in keys:
        assert reader.read_idx(i) == bytes([i % 251]) * (i % 2000)


@pytest.mark.parametrize(
    ("cut", "kept"),
    [
        (lambda last: last[:-2], 2),  # the offset's first digits: before the line above's
        (lambda last: last.split(b"\t")[0], 2),  # the key only, no tab
        (lambda last: last, 3),  # a whole last line that only lacks its newline
    ],
)
def test_a_last_idx_line_cut_short_by_a_kill_is_ignored_with_a_warning(tmp_path, cut, kept):
    prefix = str(tmp_path / "torn")
    with recordio.MXIndexedRecordIO(prefix + ".idx", prefix + ".rec", "w") as writer:
        for i in range(3):
            writer.write_idx(i, bytes([i]) * 40)
    with open(prefix + ".idx", "rb") as f:
        *lines, last = f.read().rstrip(b"\n").split(b"\n")
    with open(prefix + ".idx", "wb") as f:
        f.write(b"\n".join([*lines, cut(last)]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reader = recordio.MXIndexedRecordIO(prefix + ".idx", prefix + ".rec", "r")
    messages = [str(w.message) for w in caught]
    if kept == 2:
        assert len(messages) == 1 and "torn.idx: line 3 has no newline" in messages[0]
    else:
        assert messages == []
    assert reader.keys.tolist() == list(range(kept))
    assert [reader.read_idx(i) for i in range(kept)] == [bytes([i]) * 40 for i in range(kept)]
