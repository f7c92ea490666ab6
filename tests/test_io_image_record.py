"""ImageRecordIter: MXNet 1.9.1's traces, parts, labels, pixels, mean image, parameters."""

import io as pyio
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gluondata import cli, image, io, recordio
from gluondata.io import _record_aug as _io_record_aug
from gluondata.io._ndfile import load_ndarrays

FIXTURES = Path(__file__).parent / "data" / "mxnet-recordio"


def png(array):
    buf = pyio.BytesIO()
    Image.fromarray(array).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def ten(tmp_path_factory):
    """MXNet's probe file: 10 records, 8x8 images of value 20 i, label i."""
    folder = tmp_path_factory.mktemp("ten")
    rec, idx = folder / "ten.rec", folder / "ten.idx"
    with recordio.MXIndexedRecordIO(str(idx), str(rec), "w") as writer:
        for i in range(10):
            img = np.full((8, 8, 3), 20 * i, np.uint8)
            writer.write_idx(i, recordio.pack((0, float(i), i, 0), png(img)))
    return rec, idx


def make(rec, idx=None, **params):
    params = {"data_shape": (3, 8, 8), "batch_size": 4, "preprocess_threads": 0, **params}
    if idx is not None:
        params["path_imgidx"] = str(idx)
    return io.ImageRecordIter(path_imgrec=str(rec), verbose=False, **params)


def trace(it, epochs=3):
    out = []
    for _ in range(epochs):
        out.append([(b.label[0].astype(int).tolist(), b.pad) for b in it])
        it.reset()
    return out


# MXNet 1.9.1 on the same 10 records, batch 4
MXNET_ROUND_BATCH = [
    [([0, 1, 2, 3], 0), ([4, 5, 6, 7], 0), ([8, 9, 0, 1], 2)],
    [([2, 3, 4, 5], 0), ([6, 7, 8, 9], 0)],
    [([0, 1, 2, 3], 0), ([4, 5, 6, 7], 0), ([8, 9, 0, 1], 2)],
]


def test_round_batch_reproduces_mxnet(ten):
    rec, idx = ten
    assert trace(make(rec)) == MXNET_ROUND_BATCH
    assert trace(make(rec, idx)) == MXNET_ROUND_BATCH


def test_without_round_batch_the_padding_is_zeros_and_counted(ten):
    rec, _ = ten
    epochs = trace(make(rec, round_batch=False))
    # MXNet 1.9.1 reports pad 0 here and leaves garbage in the two slots
    assert epochs == [[([0, 1, 2, 3], 0), ([4, 5, 6, 7], 0), ([8, 9, 0, 0], 2)]] * 3
    last = list(make(rec, round_batch=False))[-1]
    assert last.index.tolist() == [8, 9, -1, -1] and not last.data[0][2:].any()


def test_parts_reproduce_mxnet(ten):
    rec, idx = ten
    # without .idx MXNet cuts by bytes (4/3/3 records here), with .idx by records (4/4/2)
    by_bytes = [trace(make(rec, num_parts=3, part_index=k), 1)[0] for k in range(3)]
    assert by_bytes == [[([0, 1, 2, 3], 0)], [([4, 5, 6, 4], 1)], [([7, 8, 9, 7], 1)]]
    by_records = [trace(make(rec, idx, num_parts=3, part_index=k), 1)[0] for k in range(3)]
    assert by_records == [[([0, 1, 2, 3], 0)], [([4, 5, 6, 7], 0)], [([8, 9, 8, 9], 2)]]


def records_of(it):
    return [int(i) for b in it for i in b.index[: len(b.index) - b.pad]]


@pytest.mark.parametrize("with_idx", [False, True])
def test_parts_cover_the_mxnet_fixture_exactly_once(with_idx):
    rec, idx = FIXTURES / "images.rec", FIXTURES / "images.idx"
    for parts in range(1, 6):
        seen = []
        for k in range(parts):
            it = make(
                rec,
                idx if with_idx else None,
                data_shape=(3, 16, 16),
                path_imglist=str(FIXTURES / "images.lst"),
                round_batch=False,
                num_parts=parts,
                part_index=k,
            )
            seen += records_of(it)
        assert sorted(seen) == list(range(12)), (parts, seen)


def test_labels_and_label_width_as_mxnet_checks_them():
    rec = FIXTURES / "images.rec"
    with pytest.raises(ValueError, match=r"record 2 .*holds 4 labels but label_width is 1"):
        list(make(rec, data_shape=(3, 16, 16)))
    with pytest.raises(ValueError, match="label_width must be 1 unless path_imglist"):
        list(make(rec, data_shape=(3, 16, 16), label_width=4))
    lst = str(FIXTURES / "images.lst")
    it = make(rec, data_shape=(3, 16, 16), path_imglist=lst)
    # MXNet 1.9.1: the first label of each .lst line, by the record's id
    assert trace(it, 1)[0] == [([0, 1, 2, 3], 0), ([4, 5, 1, 2], 0), ([8, 4, 0, 11], 0)]
    with pytest.raises(ValueError, match=r"images.lst: line 1: expected an index and 2 label"):
        make(rec, data_shape=(3, 16, 16), path_imglist=lst, label_width=2)


def test_multi_label_records(tmp_path):
    rec, idx = tmp_path / "m.rec", tmp_path / "m.idx"
    with recordio.MXIndexedRecordIO(str(idx), str(rec), "w") as writer:
        for i in range(3):
            label = [i, i + 0.5]
            writer.write_idx(i, recordio.pack((0, label, i, 0), png(np.zeros((4, 4, 3), np.uint8))))
    it = make(rec, data_shape=(3, 4, 4), batch_size=3, label_width=2)
    assert it.provide_label == [("softmax_label", (3, 2))]
    assert it.next().label[0].tolist() == [[0, 0.5], [1, 1.5], [2, 2.5]]


def test_pixels_are_the_centre_crop_of_the_decoded_image():
    rec, lst = FIXTURES / "images.rec", str(FIXTURES / "images.lst")
    it = io.ImageRecordUInt8Iter(
        path_imgrec=str(rec), path_imglist=lst, data_shape=(3, 24, 32), batch_size=12,
        preprocess_threads=0, verbose=False,
    )  # fmt: skip
    batch = it.next()
    assert batch.data[0].dtype == np.uint8 and it.provide_data[0].dtype is np.uint8
    reader = recordio.MXIndexedRecordIO(str(FIXTURES / "images.idx"), str(rec), "r")
    for k in range(12):
        decoded = image.imdecode(recordio.unpack(reader.read_idx(k))[1])
        h, w = decoded.shape[:2]
        y, x = (h - 24) // 2, (w - 32) // 2
        expected = decoded[y : y + 24, x : x + 32].transpose(2, 0, 1)
        assert (batch.data[0][k] == expected).all(), k


def test_normalization_and_output_types(ten):
    rec, _ = ten
    scaled = make(
        rec, batch_size=10, mean_r=1, mean_g=2, mean_b=3, std_r=2, std_g=2, std_b=2, scale=0.5
    )
    # MXNet 1.9.1 on pixel 60: (60 - mean) * scale / std
    assert scaled.next().data[0][3, :, 0, 0].tolist() == [14.75, 14.5, 14.25]
    uint8 = io.ImageRecordUInt8Iter(
        path_imgrec=str(rec), data_shape=(3, 8, 8), batch_size=10, mean_r=10, scale=0.5,
        preprocess_threads=0, verbose=False,
    )  # fmt: skip
    assert uint8.next().data[0][:, 0, 0, 0].tolist() == [20 * i for i in range(10)]  # raw
    int8 = io.ImageRecordInt8Iter(
        path_imgrec=str(rec), data_shape=(3, 8, 8), batch_size=10, preprocess_threads=0,
        verbose=False,
    )  # fmt: skip
    assert int8.next().data[0][:, 0, 0, 0].tolist() == [0, 20, 40, 60, 80, 100, 120, 127, 127, 127]
    gray = make(rec, data_shape=(1, 8, 8), batch_size=10)
    assert gray.provide_data == [("data", (10, 1, 8, 8))]
    assert gray.next().data[0][:, 0, 0, 0].tolist() == [20 * i for i in range(10)]


def test_mirror_flips_the_columns(tmp_path):
    rec = tmp_path / "ramp.rec"
    ramp = np.broadcast_to(np.arange(0, 240, 30, dtype=np.uint8)[None, :, None], (8, 8, 3))
    with recordio.MXRecordIO(str(rec), "w") as writer:
        writer.write(recordio.pack((0, 0.0, 0, 0), png(np.ascontiguousarray(ramp))))
    plain = make(rec, batch_size=1).next().data[0][0, 0, 0]
    mirrored = make(rec, batch_size=1, mirror=True).next().data[0][0, 0, 0]
    assert plain.tolist() == list(range(0, 240, 30)) and mirrored.tolist() == plain[::-1].tolist()


MXNET_MEAN_HEAD = bytes.fromhex(
    "1201000000000000" "0000000000000000" "0100000000000000" "c9fa93f9" "00000000"
    "03000000" "0300000000000000" "0800000000000000" "0800000000000000"
    "01000000" "00000000" "00000000"
)  # fmt: skip


def test_mean_img_is_computed_saved_in_mxnet_format_and_reused(ten, tmp_path):
    rec, _ = ten
    path = tmp_path / "mean.bin"
    first = make(rec, mean_img=str(path)).next()
    # MXNet 1.9.1 wrote exactly these bytes for this file (the mean of 0, 20, ..., 180 is 90)
    mean = np.full(3 * 8 * 8, 90, np.float32).tobytes()
    names = struct.pack("<QQ", 1, 8) + b"mean_img"
    assert path.read_bytes() == MXNET_MEAN_HEAD + mean + names
    assert first.data[0][:, 0, 0, 0].tolist() == [-90, -70, -50, -30]
    path.write_bytes(MXNET_MEAN_HEAD + np.full(192, 50, np.float32).tobytes() + names)
    again = make(rec, mean_img=str(path), std_r=2, std_g=2, std_b=2).next()
    assert again.data[0][:, 0, 0, 0].tolist() == [-25, -15, -5, 5]
    assert load_ndarrays(path)["mean_img"].shape == (3, 8, 8)
    with pytest.raises(ValueError, match=r"expected one array of shape \(3, 4, 4\)"):
        make(rec, data_shape=(3, 4, 4), mean_img=str(path))


def test_parameters_are_checked():
    with pytest.raises(TypeError, match=r"unknown parameter\(s\) 'foo'.*\n  dataset: path_imgrec"):
        io.ImageRecordIter(path_imgrec="x.rec", data_shape=(3, 8, 8), batch_size=4, foo=1)
    with pytest.raises(TypeError, match=r"missing required parameter\(s\) data_shape, batch_size"):
        io.ImageRecordIter(path_imgrec="x.rec")
    with pytest.raises(TypeError, match="only accepts keyword arguments"):
        io.ImageRecordIter("x.rec")
    with pytest.raises(ValueError, match="random_h=5 is not supported"):
        io.ImageRecordIter(path_imgrec="x.rec", data_shape=(3, 8, 8), batch_size=4, random_h=5)
    with pytest.raises(ValueError, match="dtype='float16'"):
        io.ImageRecordIter(path_imgrec="x", data_shape=(3, 8, 8), batch_size=4, dtype="float16")
    with pytest.raises(ValueError, match="1 or 3 channels"):
        io.ImageRecordIter(path_imgrec="x.rec", data_shape=(2, 8, 8), batch_size=4)


def test_string_values_are_accepted_as_mxnet_passed_them(ten):
    rec, _ = ten
    it = io.ImageRecordIter(
        path_imgrec=str(rec), data_shape="(3, 8, 8)", batch_size="5", shuffle="True",
        round_batch="0", preprocess_threads="0", verbose="False",
    )  # fmt: skip
    assert it.batch_size == 5 and it.params["shuffle"] is True and not it.params["round_batch"]
    assert sorted(records_of(it)) == list(range(10))


AUGMENTATIONS = {
    "random crop and jitter": dict(
        resize=10, rand_crop=True, rand_mirror=True, brightness=0.3, contrast=0.3,
        saturation=0.3, pca_noise=0.1, max_random_contrast=0.2, max_random_illumination=5,
    ),
    "random resized crop": dict(
        random_resized_crop=True, min_random_area=0.3, max_random_area=1.0, max_aspect_ratio=0.3,
        inter_method=10,
    ),
    "affine and pad": dict(
        max_rotate_angle=20, max_shear_ratio=0.1, max_random_scale=1.3, min_random_scale=0.9,
        max_aspect_ratio=0.2, pad=2, fill_value=0, rand_crop=True, inter_method=9,
    ),
    "crop size range": dict(min_crop_size=5, max_crop_size=8, rand_crop=True, inter_method=2),
}  # fmt: skip


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """12 noisy 20x16 JPEGs, labels 0..11."""
    folder = tmp_path_factory.mktemp("photos")
    rec, idx = folder / "p.rec", folder / "p.idx"
    rng = np.random.default_rng(0)
    with recordio.MXIndexedRecordIO(str(idx), str(rec), "w") as writer:
        for i in range(12):
            img = rng.integers(0, 256, (16, 20, 3), dtype=np.uint8)
            writer.write_idx(i, recordio.pack_img((0, float(i), i, 0), img, quality=90))
    return rec, idx


def data_of(it, epochs=2):
    """The data of ``epochs`` epochs, one array per epoch."""
    out = []
    for _ in range(epochs):
        out.append(np.concatenate([b.data[0] for b in it]))
        it.reset()
    return out


@pytest.mark.parametrize("name", sorted(AUGMENTATIONS))
def test_augmentations_are_deterministic_under_a_seed(photos, name):
    rec, idx = photos
    params = dict(AUGMENTATIONS[name], data_shape=(3, 8, 8), batch_size=5, shuffle=True)
    first = data_of(make(rec, idx, seed=3, **params))
    # 12 records, batch 5: the first epoch borrows 3 records of the second
    assert [e.shape for e in first] == [(15, 3, 8, 8), (10, 3, 8, 8)]
    assert all(np.isfinite(e).all() for e in first)
    again = data_of(make(rec, idx, seed=3, **params))
    assert all((a == b).all() for a, b in zip(first, again, strict=True))
    assert not (first[0] == data_of(make(rec, idx, seed=4, **params), 1)[0]).all()


def test_workers_threads_and_caller_give_the_same_batches(photos):
    rec, idx = photos
    params = dict(AUGMENTATIONS["random crop and jitter"], data_shape=(3, 8, 8), batch_size=5)
    params.update(shuffle=True, seed=11)
    caller = data_of(make(rec, idx, **params))
    for extra in ({"preprocess_threads": 2}, {"preprocess_threads": 2, "thread_pool": True}):
        it = make(rec, idx, **params, **extra)
        assert all((a == b).all() for a, b in zip(data_of(it), caller, strict=True)), extra
        it.close()


def test_seed_aug_repeats_the_augmentation_every_epoch(photos):
    rec, idx = photos
    params = dict(AUGMENTATIONS["random crop and jitter"], data_shape=(3, 8, 8), batch_size=4)
    first, second = data_of(make(rec, idx, seed_aug=5, **params))
    assert (first == second).all()
    first, second = data_of(make(rec, idx, **params))
    assert not (first == second).all()


def test_a_broken_image_names_its_record(tmp_path):
    rec = tmp_path / "bad.rec"
    with recordio.MXRecordIO(str(rec), "w") as writer:
        writer.write(recordio.pack((0, 0.0, 0, 0), png(np.zeros((8, 8, 3), np.uint8))))
        writer.write(recordio.pack((0, 1.0, 1, 0), b"not an image at all"))
    with pytest.raises(recordio.RecordIOError, match=r"bad.rec: record 1 \(byte offset \d+\)"):
        list(make(rec, batch_size=2))


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    """A folder of 3 classes x 5 images packed with the ``gluondata im2rec`` command."""
    base = tmp_path_factory.mktemp("im2rec")
    rng = np.random.default_rng(1)
    for label, kind in enumerate(["a", "b", "c"]):
        (base / "images" / kind).mkdir(parents=True)
        for n in range(5):
            img = np.full((12, 14, 3), 40 * label + n, np.uint8)
            img[rng.integers(0, 12), :] = 255
            Image.fromarray(img).save(base / "images" / kind / f"{n}.png")
    prefix, root = str(base / "set"), str(base / "images")
    assert cli.main(["im2rec", "--list", "--recursive", prefix, root]) == 0
    assert cli.main(["im2rec", "--encoding", ".png", prefix, root]) == 0
    return base / "set.rec", base / "set.idx"


@pytest.mark.parametrize("with_idx", [False, True])
def test_an_im2rec_file_reads_back_and_its_parts_cover_it(packed, with_idx):
    rec, idx = packed
    idx = idx if with_idx else None
    whole = make(rec, idx, data_shape=(3, 12, 14), batch_size=15)
    batch = whole.next()
    values = batch.data[0][:, 0, 0, 0].astype(int)  # 40 * label + n, unless row 0 is a stripe
    stripes = batch.data[0][:, 0, 0, :].min(axis=1) == 255
    assert (values[~stripes] // 40 == batch.label[0][~stripes]).all()
    assert sorted(batch.label[0].tolist()) == [0.0] * 5 + [1.0] * 5 + [2.0] * 5
    for parts in (2, 3, 4):
        seen = []
        for k in range(parts):
            part = make(
                rec, idx, data_shape=(3, 12, 14), round_batch=False, num_parts=parts, part_index=k
            )
            seen += records_of(part)
        assert sorted(seen) == list(range(15))


def test_a_large_jpeg_is_decoded_at_a_reduced_scale_with_close_pixels(tmp_path, monkeypatch):
    rec = tmp_path / "big.rec"
    yy, xx = np.mgrid[0:192, 0:256]
    smooth = np.stack([xx, yy, (xx + yy) // 2], axis=-1).astype(np.uint8)
    with recordio.MXRecordIO(str(rec), "w") as writer:
        writer.write(recordio.pack_img((0, 0.0, 0, 0), smooth, quality=95))
    scales, turbo_rgb = [], _io_record_aug.turbo_rgb

    def spy(*args):
        decoded = turbo_rgb(*args)
        scales.append(256 // decoded.shape[1])
        return decoded

    monkeypatch.setattr(_io_record_aug, "turbo_rgb", spy, raising=True)
    # shorter edge 192 -> 24: the whole image becomes 32x24, from a JPEG decoded at 1/8 scale
    # by libjpeg-turbo (the vision datasets' fast path)
    fast = make(rec, data_shape=(3, 24, 32), batch_size=1, resize=24, dtype="uint8").next()
    assert scales == [8]
    with recordio.MXRecordIO(str(rec), "r") as reader:
        full = image.imresize(image.imdecode(recordio.unpack(reader.read())[1]), 32, 24)
    diff = np.abs(fast.data[0][0].transpose(1, 2, 0).astype(int) - full.astype(int))
    assert diff.mean() < 2 and diff.max() < 12
    exact = make(
        rec, data_shape=(3, 24, 32), batch_size=1, resize=24, dtype="uint8", scaled_decode=False
    ).next()
    assert scales == [8]  # no reduced decode this time
    np.testing.assert_array_equal(exact.data[0][0].transpose(1, 2, 0), full)


def test_num_parts_auto_takes_the_world_from_the_launcher(ten, monkeypatch):
    rec, idx = ten
    monkeypatch.setenv("WORLD_SIZE", "3")
    monkeypatch.setenv("RANK", "2")
    auto = make(rec, idx, num_parts="auto")
    assert (auto.params["num_parts"], auto.params["part_index"]) == (3, 2)
    assert trace(auto, 1) == trace(make(rec, idx, num_parts=3, part_index=2), 1)
    assert trace(make(rec, idx, num_parts="auto", part_index="auto"), 1) == trace(auto, 1)
    with pytest.raises(ValueError, match="part_index must be 'auto' or left out"):
        make(rec, idx, num_parts="auto", part_index=1)
    with pytest.raises(ValueError, match="num_parts=3 needs an integer part_index"):
        make(rec, idx, num_parts=3, part_index="auto")
