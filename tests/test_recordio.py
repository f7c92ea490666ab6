"""gluondata.recordio: readers, writers, the index, pack/unpack, and their errors."""

import pickle
import struct
import subprocess
import sys
import time

import numpy as np
import pytest

from gluondata import RecordFileDataset, recordio
from gluondata.recordio import RecordIOError
from gluondata.recordio import _source as recordio_source
from gluondata.recordio._index import RecordIndex

MAGIC = bytes.fromhex("0a23d7ce")


def write_rec(path, records):
    with recordio.MXRecordIO(path, "w") as writer:
        for record in records:
            writer.write(record)
    return path


def write_indexed(folder, items, name="x"):
    rec, idx = folder / f"{name}.rec", folder / f"{name}.idx"
    with recordio.MXIndexedRecordIO(idx, rec, "w") as writer:
        for key, record in items:
            writer.write_idx(key, record)
    return rec, idx


def frame(cflag, payload, pad=True):
    head = MAGIC + struct.pack("<I", cflag << 29 | len(payload))
    return head + payload + b"\0" * ((-len(payload) % 4) if pad else 0)


# -- reading and writing --------------------------------------------------------------------


def test_flag_must_be_r_or_w(tmp_path):
    with pytest.raises(ValueError, match="Invalid flag a"):
        recordio.MXRecordIO(tmp_path / "x.rec", "a")


def test_read_until_none_including_empty_records(tmp_path):
    path = write_rec(tmp_path / "x.rec", [b"", b"a", b""])
    reader = recordio.MXRecordIO(path, "r")
    assert [reader.read() for _ in range(4)] == [b"", b"a", b"", None]
    assert reader.read() is None
    reader.reset()
    assert reader.read() == b""


def test_an_empty_file_has_no_records(tmp_path):
    (tmp_path / "x.rec").write_bytes(b"")
    assert recordio.MXRecordIO(tmp_path / "x.rec", "r").read() is None


def test_tell_is_the_next_records_offset(tmp_path):
    writer = recordio.MXRecordIO(tmp_path / "x.rec", "w")
    offsets = []
    for record in (b"abc", b"", b"x" * 9):
        offsets.append(writer.tell())
        writer.write(record)
    assert offsets == [0, 12, 20]
    writer.close()
    reader = recordio.MXRecordIO(tmp_path / "x.rec", "r")
    reader.read()
    assert reader.tell() == 12


def test_wrong_use_is_refused(tmp_path):
    writer = recordio.MXRecordIO(tmp_path / "x.rec", "w")
    with pytest.raises(TypeError):
        writer.write("text")
    with pytest.raises(ValueError, match="writing"):
        writer.read()
    writer.write(bytearray(b"bytes-like is fine"))
    writer.close()
    writer.close()
    with pytest.raises(ValueError, match="closed"):
        writer.write(b"x")
    reader = recordio.MXRecordIO(tmp_path / "x.rec", "r")
    with pytest.raises(ValueError, match="reading"):
        reader.write(b"x")
    assert reader.read() == b"bytes-like is fine"
    reader.close()
    with pytest.raises(ValueError, match="closed"):
        reader.read()


def test_a_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        recordio.MXRecordIO(tmp_path / "nope.rec", "r")


def test_writing_a_remote_uri_is_refused():
    with pytest.raises(ValueError, match="local"):
        recordio.MXRecordIO("s3://bucket/x.rec", "w")


def test_reset_of_a_writer_starts_the_file_anew(tmp_path):
    writer = recordio.MXRecordIO(tmp_path / "x.rec", "w")
    writer.write(b"first")
    writer.reset()
    writer.write(b"second")
    writer.close()
    reader = recordio.MXRecordIO(tmp_path / "x.rec", "r")
    assert [reader.read(), reader.read()] == [b"second", None]


# -- the index ------------------------------------------------------------------------------


def test_indexed_reads_by_key_seek_and_sequence(tmp_path):
    rec, idx = write_indexed(tmp_path, [(5, b"five"), (2, b"two"), (9, b"nine")])
    reader = recordio.MXIndexedRecordIO(idx, rec, "r")
    assert reader.keys.tolist() == [5, 2, 9]
    assert dict(reader.idx) == {2: 12, 5: 0, 9: 24}
    assert reader.read_idx(9) == b"nine" and reader.read_idx(5) == b"five"
    reader.seek(2)
    assert reader.read() == b"two" and reader.read() == b"nine" and reader.read() is None
    assert reader.read_idx(2) == b"two"  # unlike MXNet, the end of file is not sticky
    assert reader.read_idx_many([9, 5, 9, 2]) == [b"nine", b"five", b"nine", b"two"]
    with pytest.raises(KeyError):
        reader.read_idx(3)
    with pytest.raises(KeyError):
        reader.read_idx_many([2, 3])


def test_a_repeated_key_reads_its_last_record(tmp_path):
    rec, idx = write_indexed(tmp_path, [(1, b"old"), (2, b"two"), (1, b"new")])
    reader = recordio.MXIndexedRecordIO(idx, rec, "r")
    assert reader.keys.tolist() == [1, 2, 1]
    assert reader.read_idx(1) == b"new"
    dataset = RecordFileDataset(rec)
    assert len(dataset) == 3 and list(dataset) == [b"new", b"two", b"new"]


def test_string_keys(tmp_path):
    rec = tmp_path / "x.rec"
    with recordio.MXIndexedRecordIO(tmp_path / "x.idx", rec, "w", key_type=str) as writer:
        writer.write_idx("cat", b"meow")
        writer.write_idx("dog", b"woof")
        with pytest.raises(ValueError, match="tab"):
            writer.write_idx("a\tb", b"x")
    reader = recordio.MXIndexedRecordIO(tmp_path / "x.idx", rec, "r", key_type=str)
    assert reader.keys.tolist() == ["cat", "dog"]
    assert reader.read_idx("dog") == b"woof"
    assert reader.read_idx_many(["dog", "cat"]) == [b"woof", b"meow"]
    with pytest.raises(KeyError):
        reader.read_idx_many([1])


def test_unsorted_sparse_keys_and_batched_reads(tmp_path):
    rng = np.random.default_rng(0)
    keys = rng.permutation(1000)[:200] * 7
    items = [(int(k), rng.bytes(int(rng.integers(0, 50)))) for k in keys]
    rec, idx = write_indexed(tmp_path, items)
    reader = recordio.MXIndexedRecordIO(idx, rec, "r")
    expected = dict(items)
    order = rng.permutation(len(items))
    wanted = [items[i][0] for i in order]
    assert reader.read_idx_many(wanted) == [expected[k] for k in wanted]
    dataset = RecordFileDataset(rec)
    assert dataset.__getitems__(list(range(10, 80))) == [r for _, r in items[10:80]]


def test_a_missing_index_says_how_to_build_one(tmp_path):
    write_rec(tmp_path / "x.rec", [b"a", b"b"])
    with pytest.raises(FileNotFoundError, match="build_index"):
        RecordFileDataset(tmp_path / "x.rec")
    assert recordio.build_index(tmp_path / "x.rec") == str(tmp_path / "x.idx")
    assert (tmp_path / "x.idx").read_text() == "0\t0\n1\t12\n"
    assert list(RecordFileDataset(tmp_path / "x.rec")) == [b"a", b"b"]


def test_build_index_by_header_id(tmp_path):
    write_rec(
        tmp_path / "x.rec", [recordio.pack((0, 1.0, 70, 0), b"a"), recordio.pack((0, 2, 8, 0), b"")]
    )
    recordio.build_index(tmp_path / "x.rec", tmp_path / "by-id.idx", key="id")
    assert (tmp_path / "by-id.idx").read_text() == "70\t0\n8\t36\n"
    write_rec(tmp_path / "raw.rec", [b"short"])
    with pytest.raises(RecordIOError, match="too short for an IRHeader"):
        recordio.build_index(tmp_path / "raw.rec", key="id")


def test_build_index_of_a_damaged_file_writes_nothing(tmp_path):
    path = write_rec(tmp_path / "x.rec", [b"abcd", b"efgh"])
    path.write_bytes(path.read_bytes()[:-2])
    with pytest.raises(RecordIOError):
        recordio.build_index(path)
    assert list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("0\t0\n1 12\n", "line 2: expected 'key<TAB>offset'"),
        ("0\t0\n1\tx\n", "line 2: expected 'key<TAB>offset'"),
        ("0\t0\n\n1\t12\n", "line 2"),
        ("0\t0\n1\t99999999999999999999\n", "line 2: .*does not fit in 64 bits"),
        ("0\t0\n1\t400\n", r"line 2 \(key 1\): offset 400 cannot be .* \(24 bytes"),
        ("0\t0\n1\t-12\n", r"line 2 \(key 1\): offset -12"),
        ("0\t0\n1\t6\n", r"line 2 \(key 1\): offset 6 .*multiple of 4"),
    ],
)
def test_a_bad_index_line_is_named(tmp_path, text, match):
    rec, idx = write_indexed(tmp_path, [(0, b"abcd"), (1, b"efgh")])
    idx.write_text(text)
    with pytest.raises(RecordIOError, match=match) as info:
        recordio.MXIndexedRecordIO(idx, rec, "r")
    assert "x.idx" in str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, OSError)


def test_an_offset_that_is_not_a_record_start_is_reported_on_read(tmp_path):
    rec, idx = write_indexed(tmp_path, [(0, b"abcdefgh"), (1, b"ijkl")])
    idx.write_text("0\t0\n1\t8\n")
    reader = recordio.MXIndexedRecordIO(idx, rec, "r")
    with pytest.raises(RecordIOError, match=r"offset 0 .*line 1 .*runs to byte 16, past byte 8"):
        reader.read_idx(0)
    with pytest.raises(RecordIOError) as info:
        reader.read_idx(1)
    message = str(info.value)
    for part in ("x.rec", "byte offset 8", "x.idx: line 2 (key 1)", "magic", "does not match"):
        assert part in message
    with pytest.raises(RecordIOError, match=r"x\.idx: line 2"):
        reader.read_idx_many([1])


def test_a_writers_keys_and_idx_are_views_not_rebuilt(tmp_path):
    """``write_idx(len(w.keys), ...)`` stays linear: keys and idx cost O(1) on a writer."""
    writer = recordio.MXIndexedRecordIO(tmp_path / "x.idx", tmp_path / "x.rec", "w")
    idx = writer.idx
    for _ in range(5):
        writer.write_idx(len(writer.keys), b"abcd")
    keys = writer.keys
    assert keys.tolist() == [0, 1, 2, 3, 4] and np.shares_memory(keys, writer.keys)
    assert dict(idx) == {k: 12 * k for k in range(5)}  # a live view, not a copy
    with pytest.raises(TypeError, match="read-only"):
        keys[0] = 7
    with pytest.raises(TypeError):
        idx[9] = 0
    writer.write_idx(1, b"again")  # a repeated key: the last offset wins, as when reading
    assert writer.keys.tolist() == [0, 1, 2, 3, 4, 1] and idx[1] == 60
    start = time.perf_counter()
    for _ in range(20_000):
        writer.write_idx(len(writer.keys), b"")
        assert len(writer.idx) == len(writer.keys) - 1  # (key 1 is repeated)
    assert time.perf_counter() - start < 2.0  # quadratic took 8 s here
    writer.close()
    reader = recordio.MXIndexedRecordIO(tmp_path / "x.idx", tmp_path / "x.rec", "r")
    assert reader.keys.tolist() == [*keys.tolist(), 1, *range(6, 20_006)]


def test_a_writers_string_keys_widen_as_they_grow(tmp_path):
    rec, idx = tmp_path / "x.rec", tmp_path / "x.idx"
    with recordio.MXIndexedRecordIO(idx, rec, "w", key_type=str) as writer:
        names = ["a", "bbbbbbbb", "cc", *(f"k{i}" for i in range(40))]
        for name in names:
            writer.write_idx(name, name.encode())
        assert writer.keys.tolist() == names and writer.keys.dtype == np.dtype("<U8")
        assert writer.idx["bbbbbbbb"] == 12
    reader = recordio.MXIndexedRecordIO(idx, rec, "r", key_type=str)
    assert reader.keys.tolist() == names


def test_parsing_a_large_index_is_not_dominated_by_its_check():
    """The .idx check costs little next to numpy reading the numbers (a regex cost 6x more)."""
    data = "".join(f"{i}\t{i * 4000}\n" for i in range(400_000)).encode()

    def best(parse):
        times = []
        for _ in range(3):
            start = time.perf_counter()
            parse()
            times.append(time.perf_counter() - start)
        return min(times)

    reading = best(lambda: np.fromstring(data, dtype=np.int64, sep=" "))
    parsing = best(lambda: RecordIndex.parse(data, "x.idx"))
    assert parsing < 4 * reading


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("0\t0\n1\t12\n2\t1 2\n3\t36\n", "line 3: expected 'key<TAB>offset', found '2\\t1 2'"),
        ("0\t0\n-1\t12\n2\t-\n", "line 3: expected 'key<TAB>offset', found '2\\t-'"),
        ("0\t0\r\n1\t12\r\n2\t\r\n", "line 3: expected 'key<TAB>offset', found '2\\t'"),
    ],
)
def test_the_first_bad_line_of_a_large_index_is_named_with_its_content(text, line):
    data = (text + "".join(f"{i}\t{4 * i}\n" for i in range(4, 100_000))).encode()
    with pytest.raises(RecordIOError) as info:
        RecordIndex.parse(data, "x.idx")
    assert str(info.value).startswith(f"x.idx: {line}")


# -- damaged files --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"\x00" * 12, r"byte offset 0: expected the RecordIO magic word 0xced7230a, found 0x0"),
        (
            frame(0, b"ok") + MAGIC + b"\x01\x00",
            "byte offset 12: expected an 8-byte record header, but the file ends after 6",
        ),
        (frame(0, b"abcdef")[:-3], "byte offset 8: expected 8 bytes of payload"),
        (
            frame(2, b"abcd") + frame(3, b"x"),
            r"byte offset 0: expected the start of a record \(continue flag 0 or 1\), found .* 2",
        ),
        (frame(3, b"abcd"), "found continue flag 3"),
        (frame(1, b"abcd") + frame(0, b"x"), "byte offset 12: expected the next piece"),
        (
            frame(1, b"abcd") + frame(1, b"x"),
            r"byte offset 12: .*\(continue flag 2 or 3\), found continue flag 1",
        ),
        (frame(1, b"abcd"), "byte offset 12: expected the next piece of a split record"),
        (MAGIC + struct.pack("<I", 5 << 29), "found continue flag 5"),
    ],
)
def test_damage_is_a_record_io_error_naming_file_and_offset(tmp_path, data, match):
    path = tmp_path / "bad.rec"
    path.write_bytes(data)
    reader = recordio.MXRecordIO(path, "r")
    with pytest.raises(RecordIOError, match=match) as info:
        while reader.read() is not None:
            pass
    assert str(info.value).startswith(str(path))


def test_an_index_entry_cut_short_by_a_damaged_header_is_reported(tmp_path):
    rec, idx = write_indexed(tmp_path, [(0, MAGIC + b"abcd" + MAGIC + b"ef"), (1, b"next")])
    data = bytearray(rec.read_bytes())
    data[15] ^= 0x20  # the second piece's continue flag: 2 (middle) becomes 3 (last)
    rec.write_bytes(bytes(data))
    reader = recordio.MXIndexedRecordIO(idx, rec, "r")
    with pytest.raises(RecordIOError, match="ends at byte 20, where no record starts"):
        reader.read_idx(0)
    assert reader.read_idx(1) == b"next"


def test_split_pieces_read_back_whole(tmp_path):
    path = tmp_path / "x.rec"
    path.write_bytes(frame(1, b"") + frame(2, b"abcd") + frame(3, b"xy") + frame(0, b"z"))
    reader = recordio.MXRecordIO(path, "r")
    assert reader.read() == MAGIC + b"abcd" + MAGIC + b"xy"
    assert reader.read() == b"z"


def counted_preads(monkeypatch):
    """The ``(size, offset)`` of every ``os.pread`` a reader makes from now on."""
    calls = []
    real_pread = recordio_source.os.pread

    def counting_pread(fd, size, offset):
        calls.append((size, offset))
        return real_pread(fd, size, offset)

    monkeypatch.setattr(recordio_source.os, "pread", counting_pread)
    return calls


def test_a_read_by_key_fetches_a_bounded_chunk_not_the_unindexed_tail(tmp_path, monkeypatch):
    rec, idx = tmp_path / "x.rec", tmp_path / "x.idx"
    with recordio.MXIndexedRecordIO(idx, rec, "w") as writer:
        writer.write_idx(0, b"first record")
        for _ in range(6):
            writer.write(bytes(1 << 20))  # 6 MiB of records the .idx does not name
        writer.write_idx(1, b"x" * 3_000_000)  # a record larger than the chunk
    reader = recordio.MXIndexedRecordIO(idx, rec, "r")
    calls = counted_preads(monkeypatch)
    assert reader.read_idx(0) == b"first record"
    assert reader.read_idx_many([0]) == [b"first record"]
    assert sum(size for size, _ in calls) <= 2 * recordio_source.LOCAL_CHUNK
    assert reader.read_idx(1) == b"x" * 3_000_000  # the window refills as the record needs
    assert reader.read_idx_many([1, 0]) == [b"x" * 3_000_000, b"first record"]


def test_a_damaged_length_fails_at_once_naming_file_offset_and_bound(tmp_path, monkeypatch):
    items = [(i, bytes([i]) * 100) for i in range(10)] + [(10, bytes(4_000_000))]
    rec, idx = write_indexed(tmp_path, items)
    data = bytearray(rec.read_bytes())
    data[4 * 108 + 4 : 4 * 108 + 8] = struct.pack("<I", (1 << 29) - 1)  # record 4's length
    rec.write_bytes(bytes(data))
    reader = recordio.MXIndexedRecordIO(idx, rec, "r")
    calls = counted_preads(monkeypatch)
    for read in (lambda: reader.read_idx(4), lambda: reader.read_idx_many([3, 4])):
        with pytest.raises(RecordIOError, match="length field damaged") as info:
            read()
        message = str(info.value)
        assert message.startswith(f"{rec}: at byte offset 432 ({idx}: line 5 (key 4))")
        assert "past byte 540 where the .idx puts the next record" in message
    assert sum(size for size, _ in calls) < 1000  # not the 4 MB after it, nor 512 MiB
    assert reader.read_idx(5) == bytes([5]) * 100
    calls.clear()
    sequential = recordio.MXRecordIO(rec, "r")
    for _ in range(4):
        sequential.read()
    with pytest.raises(RecordIOError, match="truncated file, or a damaged length field"):
        sequential.read()
    assert sum(size for size, _ in calls) <= recordio_source.LOCAL_CHUNK


# -- pickling -------------------------------------------------------------------------------


def test_pickling_a_reader_keeps_the_original_open(tmp_path):
    rec, idx = write_indexed(tmp_path, [(i, bytes([i]) * i) for i in range(10)])
    reader = recordio.MXIndexedRecordIO(idx, rec, "r")
    assert reader.read() == b""
    copy = pickle.loads(pickle.dumps(reader))
    assert reader.read() == b"\x01" and reader.read_idx(5) == b"\x05" * 5
    assert copy.read() == b"\x01"  # the copy continues from where the original was
    assert copy.read_idx(9) == b"\x09" * 9 and copy.keys.tolist() == list(range(10))


def test_a_writer_cannot_be_pickled(tmp_path):
    writer = recordio.MXRecordIO(tmp_path / "x.rec", "w")
    with pytest.raises(TypeError, match="writer"):
        pickle.dumps(writer)
    writer.write(b"still fine")


# -- pack and unpack ------------------------------------------------------------------------


def test_pack_forces_flag_zero_for_a_number_label():
    header, payload = recordio.unpack(recordio.pack((7, np.float32(2.5), 1, 2), b"data"))
    assert header == recordio.IRHeader(0, 2.5, 1, 2) and payload == b"data"


@pytest.mark.parametrize(
    ("label", "flag", "values"),
    [([3.0], 1, [3.0]), (np.arange(6).reshape(2, 3), 6, [0, 1, 2, 3, 4, 5]), ([], 0, 0.0)],
)
def test_pack_array_labels(label, flag, values):
    header, payload = recordio.unpack(recordio.pack(recordio.IRHeader(0, label, 3, 0), b"p"))
    assert header.flag == flag and np.array(header.label).tolist() == values and payload == b"p"
    if flag:
        assert header.label.dtype == np.float32 and not header.label.flags.writeable


def test_pack_and_unpack_refuse_bad_input():
    with pytest.raises(TypeError):
        recordio.pack((0, 1.0, 2), b"x")
    with pytest.raises(TypeError):
        recordio.pack((0, 1.0, 2, 0), "text")
    with pytest.raises(RecordIOError, match="24-byte IRHeader, this one has 5"):
        recordio.unpack(b"short")
    with pytest.raises(RecordIOError, match="announces 9 float32 labels"):
        recordio.unpack(recordio.pack((0, [1.0, 2.0], 0, 0), b"")[:-4].replace(b"\x02", b"\x09", 1))


def test_pack_img_png_round_trip_is_exact_and_rgb():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    record = recordio.pack_img((0, 4.0, 9, 0), img, quality=95, img_fmt=".png")
    header, back = recordio.unpack_img(record)
    assert header.label == 4.0 and header.id == 9
    np.testing.assert_array_equal(back, img)
    assert recordio.unpack_img(record, 0)[1].shape == (20, 30)


def test_pack_img_gray_and_jpeg():
    gray = np.tile(np.arange(0, 250, 10, dtype=np.uint8), (16, 1))
    record = recordio.pack_img((0, 0.0, 0, 0), gray, quality=90, img_fmt=".JPG")
    _, payload = recordio.unpack(record)
    assert payload[:2] == b"\xff\xd8"
    _, back = recordio.unpack_img(record)
    assert back.shape == (16, 25) and np.abs(back.astype(int) - gray).max() <= 3
    assert recordio.unpack_img(record, 1)[1].shape == (16, 25, 3)
    with pytest.raises(ValueError, match="uint8"):
        recordio.pack_img((0, 0.0, 0, 0), gray.astype(np.float32))
    with pytest.raises(ValueError, match="format"):
        recordio.pack_img((0, 0.0, 0, 0), gray, img_fmt=".nope")


# -- how the file is read -------------------------------------------------------------------


def test_reads_are_few_and_large(tmp_path, monkeypatch):
    rec, idx = write_indexed(tmp_path, [(i, bytes([i % 256]) * (i % 50)) for i in range(2000)])
    reader = recordio.MXIndexedRecordIO(idx, rec, "r")
    calls = counted_preads(monkeypatch)
    assert len(list(iter(reader.read, None))) == 2000
    assert len(calls) <= 2  # the whole file in 1 MiB chunks, not one call per record
    calls.clear()
    reader.read_idx(1234)
    assert len(calls) == 1  # random access: one read of exactly the record
    calls.clear()
    assert len(reader.read_idx_many([*range(100, 164), 5, 1999])) == 66
    assert len(calls) == 3  # adjacent records in one read


def test_a_local_file_never_needs_fsspec(tmp_path):
    rec, _ = write_indexed(tmp_path, [(0, b"x")])
    code = (
        "import sys, gluondata; "
        f"assert gluondata.RecordFileDataset({str(rec)!r})[0] == b'x'; "
        f"assert gluondata.recordio.MXRecordIO('file://{rec}', 'r').read() == b'x'; "
        "assert 'fsspec' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
