"""ImageIter: MXNet 1.9.1's last-batch traces, sources, parts, labels and hooks."""

import numpy as np
import pytest
from PIL import Image

from gluondata import io, recordio
from gluondata.image import HorizontalFlipAug, ImageDecodeError


@pytest.fixture(scope="module")
def seven(tmp_path_factory):
    """7 PNGs of value 30 i (10x12), a .lst with label i, and the same packed in a .rec."""
    root = tmp_path_factory.mktemp("seven")
    lines = []
    with recordio.MXIndexedRecordIO(str(root / "s.idx"), str(root / "s.rec"), "w") as writer:
        for i in range(7):
            img = np.full((10, 12, 3), 30 * i, np.uint8)
            Image.fromarray(img).save(root / f"img{i}.png")
            lines.append(f"{i}\t{float(i)}\timg{i}.png\n")
            writer.write_idx(i, recordio.pack_img((0, float(i), i, 0), img, img_fmt=".png"))
    (root / "s.lst").write_text("".join(lines))
    return root


def trace(it, epochs=3):
    out = []
    for _ in range(epochs):
        out.append([(b.label[0].astype(int).tolist(), b.pad) for b in it])
        it.reset()
    return out


def from_list(root, **kwargs):
    return io.ImageIter(
        3, (3, 10, 12), path_imglist=str(root / "s.lst"), path_root=str(root), **kwargs
    )


def test_last_batch_handles_reproduce_mxnet(seven):
    # MXNet 1.9.1, 7 images, batch 3
    assert trace(from_list(seven)) == [[([0, 1, 2], 0), ([3, 4, 5], 0), ([6, 0, 1], 2)]] * 3
    assert (
        trace(from_list(seven, last_batch_handle="discard"))
        == [[([0, 1, 2], 0), ([3, 4, 5], 0)]] * 3
    )
    # roll_over: pad counts the new images of the batch that completes the kept ones
    assert trace(from_list(seven, last_batch_handle="roll_over")) == [
        [([0, 1, 2], 0), ([3, 4, 5], 0)],
        [([6, 0, 1], 2), ([2, 3, 4], 0)],
        [([5, 6, 0], 1), ([1, 2, 3], 0), ([4, 5, 6], 0)],
    ]


def test_nothing_more_until_reset(seven):
    it = from_list(seven, last_batch_handle="discard")
    assert len(list(it)) == 2 and list(it) == []
    it = from_list(seven, last_batch_handle="roll_over")
    list(it)
    it.hard_reset()
    assert [b.pad for b in it] == [0, 0]


def test_data_is_float_chw_rgb_and_labels_take_dtype(seven):
    it = from_list(seven, dtype="int64")
    assert it.provide_data == [("data", (3, 3, 10, 12))]
    assert it.provide_label == [("softmax_label", (3,))] and it.provide_label[0].dtype is np.int64
    batch = it.next()
    assert batch.data[0].dtype == np.float32 and batch.data[0][:, :, 4, 5].tolist() == [
        [0.0] * 3,
        [30.0] * 3,
        [60.0] * 3,
    ]
    assert batch.label[0].dtype == np.int64  # MXNet 1.9.1 gives float32 whatever dtype says


@pytest.mark.parametrize("with_idx", [False, True])
def test_record_files_with_and_without_idx_and_lists(seven, with_idx):
    idx = str(seven / "s.idx") if with_idx else None
    rec = str(seven / "s.rec")
    it = io.ImageIter(3, (3, 10, 12), path_imgrec=rec, path_imgidx=idx, shuffle=True, seed=2)
    labels = [int(v) for b in it for v in b.label[0][: 3 - b.pad]]
    assert sorted(labels) == list(range(7))
    # with a list, labels come from it (by .idx key, else by record id)
    (seven / "shifted.lst").write_text("".join(f"{i}\t{i + 10}\timg{i}.png\n" for i in range(7)))
    listed = io.ImageIter(
        7, (3, 10, 12), path_imgrec=rec, path_imgidx=idx, path_imglist=str(seven / "shifted.lst")
    )
    assert listed.next().label[0].tolist() == list(range(10, 17))


def test_an_imglist_gives_string_keys_and_labels(seven):
    items = [[float(i), 2.0 * i, f"img{i}.png"] for i in range(4)]
    it = io.ImageIter(2, (3, 10, 12), label_width=2, imglist=items, path_root=str(seven))
    assert it.seq == ["1", "2", "3", "4"] and it.provide_label == [("softmax_label", (2, 2))]
    assert it.next().label[0].tolist() == [[0, 0], [1, 2]]


def test_parts_cover_every_image_once(seven):
    for parts in range(1, 5):
        seen = []
        for k in range(parts):
            it = io.ImageIter(
                1, (3, 10, 12), path_imglist=str(seven / "s.lst"), path_root=str(seven),
                num_parts=parts, part_index=k,
            )  # fmt: skip
            seen += [int(b.label[0][0]) for b in it]
        # MXNet 1.9.1 drops the remainder (7 images in 3 parts: image 6 is never read)
        assert sorted(seen) == list(range(7)), parts


def test_seed_makes_shuffle_and_augmenters_reproducible(seven):
    def run(seed):
        it = from_list(seven, shuffle=True, seed=seed, aug_list=[HorizontalFlipAug(0.5)])
        return [(b.label[0].tolist(), b.data[0].tolist()) for _ in range(2) for b in it]

    assert run(1) == run(1) and run(1) != run(2)


def test_hooks_and_errors(seven, tmp_path):
    class Halved(io.ImageIter):
        def postprocess_data(self, datum):
            return super().postprocess_data(datum) / 2

    batch = Halved(3, (3, 10, 12), path_imglist=str(seven / "s.lst"), path_root=str(seven)).next()
    assert batch.data[0][1, 0, 0, 0] == 15
    (tmp_path / "img0.png").write_bytes(b"broken")
    (tmp_path / "one.lst").write_text("0\t0\timg0.png\n")
    with pytest.raises(ImageDecodeError, match=r"Broken image image 'img0.png'"):
        io.ImageIter(
            1, (3, 4, 4), path_imglist=str(tmp_path / "one.lst"), path_root=str(tmp_path)
        ).next()
    (tmp_path / "bad.lst").write_text("0\tzero\timg0.png\n")
    with pytest.raises(ValueError, match=r"bad.lst: line 1"):
        io.ImageIter(1, (3, 4, 4), path_imglist=str(tmp_path / "bad.lst"))
    with pytest.raises(ValueError, match="3 channels"):
        io.ImageIter(1, (1, 4, 4), path_imglist=str(seven / "s.lst"))
    with pytest.raises(ValueError, match="needs path_imgrec"):
        io.ImageIter(1, (3, 4, 4))
    with pytest.raises(ValueError, match="label_width is 2"):
        io.ImageIter(1, (3, 10, 12), label_width=2, path_imgrec=str(seven / "s.rec")).next()


def test_num_parts_auto_takes_the_world_from_the_launcher(seven, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    common = {"path_imglist": str(seven / "s.lst"), "path_root": str(seven)}
    auto = io.ImageIter(1, (3, 10, 12), num_parts="auto", **common)
    part = io.ImageIter(1, (3, 10, 12), num_parts=2, part_index=1, **common)
    assert [b.label[0].tolist() for b in auto] == [b.label[0].tolist() for b in part]
