"""Round trips of arbitrary records, and damaged files: a RecordIOError or the right data."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gluondata import RecordFileDataset, recordio
from gluondata.recordio import RecordIOError
from gluondata.recordio._index import RecordIndex, _int_pairs

MAGIC = bytes.fromhex("0a23d7ce")

# Byte strings built from chunks that include the magic word, so that it lands at aligned and
# unaligned offsets, next to itself, at the start and at the end.
chunks = st.sampled_from([MAGIC, b"\x0a\x23", b"\xd7\xce", b"a", b"bc", b"defg", b"\0"])
payloads = st.one_of(st.binary(max_size=64), st.lists(chunks, max_size=12).map(b"".join))
record_lists = st.lists(payloads, max_size=12)
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(records=record_lists)
def test_any_records_round_trip_sequentially(tmp_path, records):
    path = tmp_path / "x.rec"
    with recordio.MXRecordIO(path, "w") as writer:
        for record in records:
            writer.write(record)
    reader = recordio.MXRecordIO(path, "r")
    assert list(iter(reader.read, None)) == records


@SETTINGS
@given(records=record_lists, data=st.data())
def test_any_records_round_trip_through_the_index(tmp_path, records, data):
    rec, idx = tmp_path / "x.rec", tmp_path / "x.idx"
    with recordio.MXIndexedRecordIO(idx, rec, "w") as writer:
        for key, record in enumerate(records):
            writer.write_idx(key, record)
    reader = recordio.MXIndexedRecordIO(idx, rec, "r")
    order = data.draw(st.permutations(range(len(records))))
    assert [reader.read_idx(k) for k in order] == [records[k] for k in order]
    assert reader.read_idx_many(order) == [records[k] for k in order]
    reader.reset()
    assert list(iter(reader.read, None)) == records
    dataset = RecordFileDataset(rec)
    assert list(dataset) == records
    assert dataset.__getitems__(list(range(len(records)))) == records


@SETTINGS
@given(
    label=st.one_of(
        st.floats(width=32, allow_nan=False),
        st.lists(st.floats(width=32, allow_nan=False), min_size=1, max_size=254),
    ),
    ids=st.tuples(st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1)),
    payload=payloads,
)
def test_pack_unpack_round_trip(label, ids, payload):
    header, back = recordio.unpack(recordio.pack((0, label, *ids), payload))
    assert back == payload and (header.id, header.id2) == ids
    if isinstance(label, float):
        assert header.flag == 0 and header.label == label
    else:
        assert header.flag == len(label)
        np.testing.assert_array_equal(header.label, np.array(label, dtype=np.float32))


# -- damage ---------------------------------------------------------------------------------

RECORDS = [b"", b"a", MAGIC, b"xy" + MAGIC + b"z", MAGIC + b"1234" + MAGIC + b"56", b"last rec"]


@pytest.fixture(scope="module")
def small_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    rec, idx = folder / "x.rec", folder / "x.idx"
    with recordio.MXIndexedRecordIO(idx, rec, "w") as writer:
        for key, record in enumerate(RECORDS):
            writer.write_idx(key, record)
    starts = [int(line.split("\t")[1]) for line in idx.read_text().splitlines()]
    return rec.read_bytes(), idx.read_bytes(), starts


def read_sequentially(path):
    """The records a sequential read gets before the end or a RecordIOError."""
    reader = recordio.MXRecordIO(path, "r")
    got = []
    try:
        while (record := reader.read()) is not None:
            got.append(record)
    except RecordIOError:
        return got, True
    return got, False


def read_by_key(folder):
    """Each record by key, or the RecordIOError instead; or the error opening the index."""
    try:
        reader = recordio.MXIndexedRecordIO(folder / "x.idx", folder / "x.rec", "r")
    except RecordIOError:
        return None
    out = []
    for key in range(len(RECORDS)):
        try:
            out.append(reader.read_idx(key))
        except RecordIOError:
            out.append(RecordIOError)
    return out


def test_truncation_at_every_offset(tmp_path, small_file):
    data, idx, starts = small_file
    (tmp_path / "x.idx").write_bytes(idx)
    for cut in range(len(data)):
        (tmp_path / "x.rec").write_bytes(data[:cut])
        got, failed = read_sequentially(tmp_path / "x.rec")
        complete = sum(1 for end in [*starts[1:], len(data)] if end <= cut)
        assert got == RECORDS[:complete]
        assert failed == (cut not in starts), cut
        by_key = read_by_key(tmp_path)  # None: the index points past the end, refused at once
        if by_key is not None:
            assert by_key[:complete] == RECORDS[:complete]
            assert set(by_key[complete:]) <= {RecordIOError}
        if failed:
            with pytest.raises(RecordIOError):
                recordio.build_index(tmp_path / "x.rec", tmp_path / "other.idx")
        else:
            recordio.build_index(tmp_path / "x.rec", tmp_path / "other.idx")
            assert len((tmp_path / "other.idx").read_text().splitlines()) == complete


def affected_record(offset, starts, size):
    """The index of the record whose bytes include ``offset``."""
    return max(i for i, s in enumerate(starts) if s <= offset) if offset < size else None


@pytest.mark.parametrize("xor", [0xFF, 0x01, 0x80, 0x20])
def test_a_damaged_byte_anywhere_gives_an_error_or_the_other_records_intact(
    tmp_path, small_file, xor
):
    """RecordIO has no checksum: a damaged payload byte reads back damaged, and a damaged length
    can make a sequential read take the following records as part of this one (MXNet does the
    same). Records before the damage read back intact; through the .idx, every other record does,
    and a record that would run into the next indexed one, or end where none starts, is an error."""
    data, idx, starts = small_file
    (tmp_path / "x.idx").write_bytes(idx)
    for offset in range(len(data)):
        damaged = bytearray(data)
        damaged[offset] ^= xor
        (tmp_path / "x.rec").write_bytes(bytes(damaged))
        hit = affected_record(offset, starts, len(data))
        got, _ = read_sequentially(tmp_path / "x.rec")
        assert got[:hit] == RECORDS[:hit]
        by_key = read_by_key(tmp_path)
        assert by_key is not None  # the .rec's size did not change
        for key, record in enumerate(by_key):
            if key != hit:
                assert record == RECORDS[key], (offset, key)
            elif record is not RecordIOError:
                assert abs(len(record) - len(RECORDS[key])) < 4  # a length within the padding


def test_a_damaged_index_gives_an_error_or_good_records(tmp_path, small_file):
    data, idx, _ = small_file
    (tmp_path / "x.rec").write_bytes(data)
    rng = np.random.default_rng(0)
    for offset in range(len(idx)):
        for value in (*rng.integers(0, 256, 3).tolist(), ord("\t"), ord("\n"), ord("9")):
            damaged = bytearray(idx)
            damaged[offset] = value
            (tmp_path / "x.idx").write_bytes(bytes(damaged))
            try:
                reader = recordio.MXIndexedRecordIO(tmp_path / "x.idx", tmp_path / "x.rec", "r")
            except RecordIOError:
                continue
            for key in reader.keys.tolist():
                try:
                    record = reader.read_idx(key)
                except RecordIOError:
                    continue
                assert record in RECORDS


# -- the .idx parser's fast path ------------------------------------------------------------

fields = st.one_of(
    st.integers(-(10**19), 10**19).map(str),
    st.integers(-5, 10**6).map(str),
    st.text("0123456789", max_size=22),  # leading zeros, empty, too long for an int64
    st.text("0123456789-+\t\r x", max_size=6),
)
idx_lines = st.tuples(
    fields, st.sampled_from(["\t", "\t", " ", "\t\t", ""]), fields, st.sampled_from(["\n", "\r\n"])
).map("".join)


@SETTINGS
@given(lines=st.lists(idx_lines, max_size=6), end=st.sampled_from(["", "\n", "\r"]))
def test_the_fast_index_parse_agrees_with_the_line_by_line_one(lines, end):
    data = ("".join(lines) + end).encode()

    def parse(key_type):
        try:
            index = RecordIndex.parse(data, "x.idx", key_type)
        except RecordIOError as err:
            return str(err)
        return index.keys.tolist(), index.offsets.tolist()

    assert parse(int) == parse(lambda text: int(text))  # a lambda: always line by line


def test_the_fast_index_parse_takes_signs_and_crlf():
    data = b"-3\t0\r\n0007\t12\n5\t999999999999999999\n"
    assert _int_pairs(data).tolist() == [[-3, 0], [7, 12], [5, 999999999999999999]]
    for slow in (b"1\t2\t3\n", b"1\t-2\n", b"1 \t2\n", b"1\t9999999999999999999\n", b"-\t2\n"):
        assert _int_pairs(slow) is None, slow
