"""Byte compatibility with MXNet 1.9.1: its files read back exactly; ours equal its bytes."""

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from gluondata import RecordFileDataset, recordio
from gluondata.vision import ImageRecordDataset

DATA = Path(__file__).parent / "data" / "mxnet-recordio"
EXPECTED = json.loads((DATA / "expected.json").read_text())
MAGIC = bytes.fromhex("0a23d7ce")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fixture_pixels(key: int) -> np.ndarray:
    """The pixels MXNet packed as image ``key`` (see tests/data/README.md)."""
    h, w = 24 + 2 * key, 32 + key
    img = np.empty((h, w, 3), np.uint8)
    img[:, :, 0] = (np.arange(w) * 255 // w)[None, :]
    img[:, :, 1] = (np.arange(h) * 255 // h)[:, None]
    img[:, :, 2] = 40 * key % 240
    return img


# -- hex examples of mxnet.md §7 ------------------------------------------------------------


def written(tmp_path, records):
    path = tmp_path / "x.rec"
    with recordio.MXRecordIO(path, "w") as writer:
        for record in records:
            writer.write(record)
    return path.read_bytes()


def test_plain_records_match_mxnet_hex(tmp_path):
    assert written(tmp_path, [b"abc", b"", b"12345678", b"record_3"]) == bytes.fromhex(
        "0a23d7ce 03000000 61626300 0a23d7ce 00000000 0a23d7ce 08000000 31323334 35363738"
        "0a23d7ce 08000000 7265636f 72645f33"
    )


def test_aligned_magic_is_split_like_mxnet(tmp_path):
    assert written(tmp_path, [MAGIC + b"ZZZZ" + MAGIC + b"Q"]) == bytes.fromhex(
        "0a23d7ce 00000020 0a23d7ce 04000040 5a5a5a5a 0a23d7ce 01000060 51000000"
    )
    assert written(tmp_path, [MAGIC]) == bytes.fromhex("0a23d7ce 00000020 0a23d7ce 00000060")


def test_unaligned_magic_is_not_split(tmp_path):
    data = written(tmp_path, [b"xy" + MAGIC + b"z"])
    assert data == MAGIC + (7).to_bytes(4, "little") + b"xy" + MAGIC + b"z" + b"\0"


def test_pack_matches_mxnet_hex():
    assert recordio.pack((7, 3.5, 42, 0), b"PAYLOAD") == bytes.fromhex(
        "00000000 00006040 2a000000 00000000 00000000 00000000 5041594c 4f4144"
    )
    assert recordio.pack((0, [1, 2.5, -1], 43, 1), b"PL") == bytes.fromhex(
        "03000000 00000000 2b000000 00000000 01000000 00000000 0000803f 00002040 000080bf 504c"
    )


def test_indexed_writer_matches_mxnet_hex(tmp_path):
    rec, idx = tmp_path / "x.rec", tmp_path / "x.idx"
    with recordio.MXIndexedRecordIO(idx, rec, "w") as writer:
        writer.write_idx(0, recordio.pack((7, 3.5, 42, 0), b"PAYLOAD"))
        writer.write_idx(1, recordio.pack((0, [1, 2.5, -1], 43, 1), b"PL"))
    data = rec.read_bytes()
    assert data[:8] == bytes.fromhex("0a23d7ce 1f000000") and data[39] == 0
    assert data[40:48] == bytes.fromhex("0a23d7ce 26000000") and data[-2:] == b"\0\0"
    assert len(data) == 40 + 48
    assert idx.read_text() == "0\t0\n1\t40\n"


def test_idx_lines_follow_write_order(tmp_path):
    rec, idx = tmp_path / "x.rec", tmp_path / "x.idx"
    with recordio.MXIndexedRecordIO(idx, rec, "w") as writer:
        for key in (5, 2, 9):
            writer.write_idx(key, b"abcd")
    assert idx.read_text() == "5\t0\n2\t12\n9\t24\n"


# -- MXNet's own files ----------------------------------------------------------------------


def test_mxnet_records_read_back_by_key_and_in_sequence():
    expected = EXPECTED["records"]
    with recordio.MXIndexedRecordIO(DATA / "records.idx", DATA / "records.rec", "r") as reader:
        assert reader.keys.tolist() == [e["key"] for e in expected]
        for e in reversed(expected):
            record = reader.read_idx(e["key"])
            assert (len(record), sha(record)) == (e["len"], e["sha256"])
        reader.reset()
        sequence = iter(reader.read, None)
        assert [sha(r) for r in sequence] == [e["sha256"] for e in expected]


def test_mxnet_records_batched_read_in_any_order():
    dataset = RecordFileDataset(DATA / "records.rec")
    order = [11, 0, 5, 6, 7, 1, 10, 3]
    got = dataset.__getitems__(order)
    assert [sha(r) for r in got] == [EXPECTED["records"][i]["sha256"] for i in order]


def test_rewriting_mxnet_records_gives_the_same_bytes(tmp_path):
    rec, idx = tmp_path / "records.rec", tmp_path / "records.idx"
    reader = recordio.MXIndexedRecordIO(DATA / "records.idx", DATA / "records.rec", "r")
    with recordio.MXIndexedRecordIO(idx, rec, "w") as writer:
        for key in reader.keys:
            writer.write_idx(key, reader.read_idx(key))
    assert rec.read_bytes() == (DATA / "records.rec").read_bytes()
    assert idx.read_bytes() == (DATA / "records.idx").read_bytes()


@pytest.mark.parametrize("e", EXPECTED["images"], ids=lambda e: f"key{e['key']}")
def test_mxnet_images_unpack_as_expected(e):
    reader = recordio.MXIndexedRecordIO(DATA / "images.idx", DATA / "images.rec", "r")
    record = reader.read_idx(e["key"])
    assert sha(record) == e["record_sha256"]
    header, payload = recordio.unpack(record)
    assert (header.flag, header.id, header.id2) == (e["flag"], e["id"], e["id2"])
    assert np.array(header.label).tolist() == e["label"]
    assert sha(payload) == e["payload_sha256"]
    _, img = recordio.unpack_img(record, 1)
    assert list(img.shape) == e["shape"] and img.dtype == np.uint8
    if e["fmt"] == ".png":
        assert sha(img.tobytes()) == e["decoded_sha256"]
        np.testing.assert_array_equal(img, fixture_pixels(e["key"]))
    else:
        diff = img.astype(int) - fixture_pixels(e["key"])
        assert np.abs(diff).mean() < 2  # JPEG at quality 95


@pytest.mark.parametrize("e", [e for e in EXPECTED["images"] if e["fmt"] == ".jpg"][:3])
def test_pack_img_gives_mxnet_jpeg_bytes(e):
    header = recordio.IRHeader(0, e["label"], e["key"], 0)
    assert (
        sha(recordio.pack_img(header, fixture_pixels(e["key"]), quality=95)) == e["record_sha256"]
    )


def test_image_record_dataset_reads_mxnet_images():
    dataset = ImageRecordDataset(DATA / "images.rec")
    assert len(dataset) == len(EXPECTED["images"])
    for e, (img, label) in zip(EXPECTED["images"], dataset, strict=True):
        assert list(img.shape) == e["shape"]
        if e["flag"] == 0:
            assert isinstance(label, float) and label == e["label"]
        else:
            assert label.dtype == np.float32 and label.tolist() == e["label"]
    gray, _ = ImageRecordDataset(DATA / "images.rec", flag=0)[3]
    assert gray.shape == (30, 35, 1)
    batch = dataset.__getitems__([4, 3, 2])
    assert [s[0].shape for s in batch] == [(32, 36, 3), (30, 35, 3), (28, 34, 3)]


def test_build_index_by_id_recreates_im2recs_index(tmp_path):
    shutil.copy(DATA / "images.rec", tmp_path / "images.rec")
    idx = recordio.build_index(tmp_path / "images.rec", key="id")
    assert Path(idx).read_bytes() == (DATA / "images.idx").read_bytes()


def test_a_record_that_does_not_decode_names_file_sample_key_and_offset(tmp_path):
    for name in ("images.rec", "images.idx"):
        shutil.copy(DATA / name, tmp_path / name)
    data = bytearray((tmp_path / "images.rec").read_bytes())
    data[872 + 8 + 24 : 872 + 8 + 24 + 4] = b"GIF?"  # record 1's JPEG signature
    (tmp_path / "images.rec").write_bytes(bytes(data))
    dataset = ImageRecordDataset(tmp_path / "images.rec")
    with pytest.raises(recordio.RecordIOError, match=r"sample 1 \(key 1, byte offset 872\)"):
        dataset[1]
    assert dataset[2][0].shape == (28, 34, 3)
