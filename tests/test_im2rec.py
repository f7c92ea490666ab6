"""``gluondata im2rec`` and ``gluondata inspect``: lists, packing, and reading the result back."""

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gluondata import im2rec, recordio
from gluondata.im2rec._lst import read_lst
from gluondata.recordio._inspect import inspect_file
from gluondata.vision import ImageRecordDataset

ROOT = Path(__file__).resolve().parents[1]


def pixels(h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([xx * 255 // w, yy * 255 // h, np.full_like(xx, seed * 40 % 256)], axis=-1)
    return (img + rng.integers(0, 8, img.shape)).clip(0, 255).astype(np.uint8)


# name -> (height, width); all in RGB
GOOD = {
    "top.jpg": (20, 30),
    "cat/a.jpg": (40, 30),
    "cat/b.png": (24, 36),
    "dog/c.jpg": (30, 30),
    "dog/d.JPG": (18, 26),
    "dog/sub/e.png": (32, 20),
}
LABELS = {".": 0, "cat": 1, "dog": 2, "dog/sub": 3}


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    root = tmp_path_factory.mktemp("images")
    for seed, (name, (h, w)) in enumerate(GOOD.items()):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels(h, w, seed)).save(root / name, quality=95)
    good = io.BytesIO()
    Image.fromarray(pixels(50, 50, 9)).save(good, "JPEG")
    (root / "dog" / "broken.jpg").write_bytes(good.getvalue()[:400])  # a truncated JPEG
    (root / "cat" / "fake.png").write_text("not an image at all")
    (root / "cat" / "notes.txt").write_text("not listed: not an image extension")
    return root


def gluondata_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gluondata", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def lst_lines(path: Path) -> list[list[str]]:
    return [line.split("\t") for line in path.read_text().splitlines()]


# -- lists ----------------------------------------------------------------------------------


def test_recursive_list_labels_folders_in_sorted_order(images, tmp_path):
    written, labels = im2rec.make_list(tmp_path / "all", images, recursive=True, shuffle=False)
    assert written == [str(tmp_path / "all.lst")] and labels == LABELS
    rows = lst_lines(tmp_path / "all.lst")
    names = ["top.jpg", "cat/a.jpg", "cat/b.png", "cat/fake.png", "dog/broken.jpg", "dog/c.jpg"]
    names += ["dog/d.JPG", "dog/sub/e.png"]
    assert [r[2] for r in rows] == names
    assert [r[0] for r in rows] == [str(i) for i in range(len(names))]
    assert [r[1] for r in rows] == [f"{LABELS[str(Path(n).parent)]:f}" for n in names]
    assert (tmp_path / "all.lst").read_text().startswith("0\t0.000000\ttop.jpg\n")


def test_flat_list_takes_only_the_roots_files(images, tmp_path):
    items, labels = im2rec.list_images(images / "dog", exts=[".JPG"])
    expected = [("broken.jpg", (0.0,)), ("c.jpg", (0.0,)), ("d.JPG", (0.0,))]
    assert [(i.path, i.labels) for i in items] == expected
    assert labels == {".": 0}


def test_shuffle_is_mxnets(tmp_path):
    for i in range(6):
        (tmp_path / f"{i}.jpg").write_bytes(b"")
    im2rec.make_list(tmp_path / "s", tmp_path)
    assert [r[2] for r in lst_lines(tmp_path / "s.lst")] == [f"{i}.jpg" for i in (2, 5, 0, 4, 3, 1)]


def test_chunks_and_splits_are_mxnets(tmp_path):
    for i in range(10):
        (tmp_path / f"{i}.png").write_bytes(b"")
    written, _ = im2rec.make_list(
        tmp_path / "ch", tmp_path, train_ratio=0.5, test_ratio=0.2, chunks=2, shuffle=False
    )
    names = [Path(p).name for p in written]
    assert names == [f"ch_{c}_{part}.lst" for c in (0, 1) for part in ("test", "val", "train")]
    sizes = {Path(p).name: len(lst_lines(Path(p))) for p in written}
    assert sizes == {
        f"ch_{c}_{p}.lst": n
        for c in (0, 1)
        for p, n in zip(("test", "val", "train"), (1, 2, 2), strict=True)
    }
    assert [r[2] for r in lst_lines(tmp_path / "ch_1_train.lst")] == ["6.png", "7.png"]


def test_read_list_reports_bad_lines(tmp_path):
    lst = tmp_path / "x.lst"
    lst.write_text("0\t1.5\t2\ta.jpg\nnot a line\n1\tx\tb.jpg\n2\t3\tc.jpg\n")
    items, problems = im2rec.read_list(lst)
    assert items == [im2rec.ListItem(0, "a.jpg", (1.5, 2.0)), im2rec.ListItem(2, "c.jpg", (3.0,))]
    assert [p.split(": ")[1] for p in problems] == ["line 2", "line 3"]
    assert all(p.startswith(f"{lst}: line") for p in problems)


def test_one_lst_parser_strict_or_skipping(tmp_path):
    lst = tmp_path / "x.lst"
    text = "0\t1.5\t2\ta.jpg\n\n7\t3\t sub/b c.jpg \r\nnot a line\n1\tx\tb.jpg\n-2\t4\tc.jpg\n"
    lst.write_bytes(text.encode() + b"3\t0\t\xff.jpg\n")  # a file name that is not UTF-8
    read = read_lst(lst, strict=False)
    assert read.index.tolist() == [0, 7, -2, 3] and read.index.dtype == np.int64
    assert [read.label(i).tolist() for i in range(4)] == [[1.5, 2.0], [3.0], [4.0], [0.0]]
    assert read.label_offsets.tolist() == [0, 2, 3, 4, 5] and read.labels.dtype == np.float64
    assert list(read.paths)[:3] == ["a.jpg", "sub/b c.jpg", "c.jpg"]
    assert os.fsencode(read.paths[3]) == b"\xff.jpg"
    assert not read.index.flags.writeable and not read.labels.flags.writeable
    assert [(bad.number, bad.line) for bad in read.bad] == [(4, "not a line"), (5, "1\tx\tb.jpg")]
    assert read.bad[0].message.startswith(f"{lst}: line 4: expected 'index<TAB>label(s)<TAB>path'")
    assert "could not convert string to float: 'x'" in read.bad[1].message
    with pytest.raises(ValueError, match=r"x\.lst: line 4: .*found 'not a line'"):
        read_lst(lst)
    (tmp_path / "empty.lst").write_text("\n\n")
    empty = read_lst(tmp_path / "empty.lst")
    assert len(empty.index) == len(empty.paths) == 0 and empty.label_offsets.tolist() == [0]


def test_find_lists_takes_every_list_with_the_prefix(tmp_path):
    for name in ("data_train.lst", "data_val.lst", "data.rec", "other.lst"):
        (tmp_path / name).write_text("")
    found = [Path(p).name for p in im2rec.find_lists(tmp_path / "data")]
    assert found == ["data_train.lst", "data_val.lst"]


# -- packing --------------------------------------------------------------------------------


def test_cli_packs_a_folder_and_skips_bad_images(images, tmp_path):
    prefix = str(tmp_path / "pets")
    listed = gluondata_cli("im2rec", "--list", "--recursive", prefix, str(images))
    assert listed.returncode == 0, listed.stderr
    assert "cat 1\ndog 2\ndog/sub 3" in listed.stdout
    packed = gluondata_cli("im2rec", "--num-thread", "2", prefix, str(images))
    assert packed.returncode == 0, packed.stderr
    assert "wrote 6 records" in packed.stdout and "skipped 2 unreadable" in packed.stdout
    for bad in ("broken.jpg", "fake.png"):
        assert f"skipped {images}" in packed.stderr and bad in packed.stderr
    assert "img/s" in packed.stderr  # the progress bar

    by_path = {r[-1]: (int(r[0]), float(r[1])) for r in lst_lines(tmp_path / "pets.lst")}
    dataset = ImageRecordDataset(tmp_path / "pets.rec")
    assert len(dataset) == len(GOOD)
    reader = recordio.MXIndexedRecordIO(tmp_path / "pets.idx", tmp_path / "pets.rec", "r")
    for position, key in enumerate(reader.keys.tolist()):
        header, _ = recordio.unpack(reader.read_idx(key))
        name = next(n for n, (index, _) in by_path.items() if index == key)
        img, label = dataset[position]
        assert header.id == key and label == by_path[name][1] == LABELS[str(Path(name).parent)]
        assert img.shape == (*GOOD[name], 3)
        seed = list(GOOD).index(name)
        assert np.abs(img.astype(int) - pixels(*GOOD[name], seed)).mean() < 4

    inspected = gluondata_cli("inspect", str(tmp_path / "pets.rec"))
    assert inspected.returncode == 0, inspected.stderr
    assert "6 records" in inspected.stdout and "JPEG RGB (6)" in inspected.stdout
    assert "every record indexed" in inspected.stdout


def pack(images, tmp_path, name, lst_items, **options):
    lst = tmp_path / f"{name}.lst"
    im2rec.write_list(lst, lst_items)
    result = im2rec.pack_list(
        lst,
        images,
        im2rec.PackOptions(**{k: v for k, v in options.items() if k != "num_thread"}),
        num_thread=options.get("num_thread", 1),
        progress=False,
        report=lambda message: None,
    )
    return result, ImageRecordDataset(result.rec_path)


def items(*names, labels=(1.0,)):
    return [im2rec.ListItem(i, name, labels) for i, name in enumerate(names)]


def test_resize_and_center_crop(images, tmp_path):
    _, data = pack(images, tmp_path, "r", items("cat/a.jpg", "cat/b.png"), resize=12)
    assert [img.shape for img, _ in data] == [(16, 12, 3), (12, 18, 3)]
    _, data = pack(images, tmp_path, "c", items("cat/a.jpg", "cat/b.png"), center_crop=True)
    assert [img.shape for img, _ in data] == [(30, 30, 3), (24, 24, 3)]
    _, data = pack(images, tmp_path, "rc", items("cat/b.png"), center_crop=True, resize=10)
    assert data[0][0].shape == (10, 10, 3)


def test_png_encoding_keeps_pixels_and_gray_color_mode(images, tmp_path):
    _, data = pack(images, tmp_path, "p", items("cat/b.png"), encoding=".png")
    np.testing.assert_array_equal(data[0][0], pixels(24, 36, 2))
    result, data = pack(images, tmp_path, "g", items("cat/b.png"), color=0, encoding=".png")
    _, img = recordio.unpack_img(recordio.MXRecordIO(result.rec_path, "r").read())
    assert img.ndim == 2 and img.shape == (24, 36)


@pytest.mark.parametrize("color", [1, 0, -1])
def test_a_16_bit_png_is_packed_by_its_high_byte(tmp_path, color):
    """As cv2.imread: 16-bit samples keep their high byte (not all white)."""
    values = (np.arange(24 * 36).reshape(24, 36) * 75).astype(np.uint16)
    Image.fromarray(values).save(tmp_path / "deep.png")
    result, _ = pack(tmp_path, tmp_path, "deep", items("deep.png"), color=color, encoding=".png")
    _, img = recordio.unpack_img(recordio.MXRecordIO(result.rec_path, "r").read())
    expected = (values >> 8).astype(np.uint8)
    np.testing.assert_array_equal(img, expected if color != 1 else np.dstack([expected] * 3))


def test_gray_mode_is_opencvs(images, tmp_path):
    """--color 0 gives libpng's integer gray for a PNG and libjpeg's luma for a JPEG, as OpenCV."""
    result, _ = pack(
        images, tmp_path, "g", items("cat/b.png", "cat/a.jpg"), color=0, encoding=".png"
    )
    reader = recordio.MXRecordIO(result.rec_path, "r")
    rgb = np.asarray(Image.open(images / "cat" / "b.png"), dtype=np.int32)
    libpng = ((rgb @ np.array([9797, 19234, 3737])) >> 15).astype(np.uint8)
    np.testing.assert_array_equal(recordio.unpack_img(reader.read())[1], libpng)
    with Image.open(images / "cat" / "a.jpg") as jpeg:
        jpeg.draft("L", jpeg.size)  # libjpeg's own RGB-to-gray, as cv2.imread(path, 0)
        np.testing.assert_array_equal(recordio.unpack_img(reader.read())[1], np.asarray(jpeg))


def test_exif_orientation_and_alpha_are_cv2_imreads(tmp_path):
    """1 and 0 apply the EXIF orientation (even after JFIF); -1 ignores it and keeps alpha."""
    wide = np.zeros((10, 16, 3), np.uint8)
    wide[:, :8] = 255
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view
    Image.fromarray(wide).save(tmp_path / "turn.jpg", quality=95, exif=exif.tobytes())
    assert (tmp_path / "turn.jpg").read_bytes()[6:11] == b"JFIF\0"
    rgba = np.dstack([wide, np.full((10, 16), 128, np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "alpha.png")
    names = items("turn.jpg", "alpha.png")
    shapes = {}
    for color in (1, 0, -1):
        result, _ = pack(tmp_path, tmp_path, f"c{color + 1}", names, color=color, encoding=".png")
        reader = recordio.MXRecordIO(result.rec_path, "r")
        payloads = [recordio.unpack(reader.read())[1] for _ in names]
        shapes[color] = [np.asarray(Image.open(io.BytesIO(p))).shape for p in payloads]
    assert shapes == {
        1: [(16, 10, 3), (10, 16, 3)],
        0: [(16, 10), (10, 16)],
        -1: [(10, 16, 3), (10, 16, 4)],
    }


def test_pass_through_stores_the_files_bytes(images, tmp_path):
    result, _ = pack(images, tmp_path, "pt", items("top.jpg", "cat/fake.png"), pass_through=True)
    assert result.written == 1 and "fake.png" in result.skipped[0]
    header, payload = recordio.unpack(recordio.MXRecordIO(result.rec_path, "r").read())
    assert payload == (images / "top.jpg").read_bytes() and header.label == 1.0


def test_pack_label_stores_every_label(images, tmp_path):
    labels = (1.0, 2.5, -3.0)
    _, data = pack(images, tmp_path, "ml", items("top.jpg", labels=labels), pack_label=True)
    assert data[0][1].tolist() == list(labels)
    _, data = pack(images, tmp_path, "sl", items("top.jpg", labels=labels))
    assert data[0][1] == 1.0


def test_threads_write_the_same_file_in_list_order(images, tmp_path):
    names = [n for n in GOOD for _ in range(3)] + ["dog/broken.jpg"]
    one, _ = pack(images, tmp_path, "t1", items(*names))
    three, _ = pack(images, tmp_path, "t3", items(*names), num_thread=3)
    assert Path(one.rec_path).read_bytes() == Path(three.rec_path).read_bytes()
    assert Path(one.idx_path).read_bytes() == Path(three.idx_path).read_bytes()
    assert (one.written, len(one.skipped)) == (len(GOOD) * 3, 1)


def test_an_interrupted_run_leaves_files_that_agree(images, tmp_path):
    lst = tmp_path / "stop.lst"
    names = list(GOOD) * 4
    im2rec.write_list(lst, items(*names[:10], "dog/broken.jpg", *names[10:]))

    def interrupt(message):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        im2rec.pack_list(lst, images, num_thread=2, progress=False, report=interrupt)
    reader = recordio.MXIndexedRecordIO(tmp_path / "stop.idx", tmp_path / "stop.rec", "r")
    assert reader.keys.tolist() == list(range(10))
    assert all(recordio.unpack(reader.read_idx(k))[0].id == k for k in range(10))


# -- inspect --------------------------------------------------------------------------------


def test_inspect_reports_a_bad_index_and_rebuilds_it(images, tmp_path):
    result, _ = pack(images, tmp_path, "i", items("top.jpg", "cat/a.jpg", "cat/b.png"))
    idx = Path(result.idx_path)
    lines = idx.read_text().splitlines()
    idx.write_text("\n".join(["0\t8", *lines[1:]]) + "\n")  # 8: inside the first record
    bad = gluondata_cli("inspect", result.rec_path)
    assert bad.returncode == 1 and "index BAD" in bad.stdout and "line 1" in bad.stdout
    fixed = gluondata_cli("inspect", result.rec_path, "--build-index", "--key", "id")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert idx.read_text().splitlines()[0] == "0\t0"
    missing = gluondata_cli("inspect", str(tmp_path / "nope.rec"))
    assert missing.returncode == 1 and "nope.rec" in missing.stderr


def test_inspect_counts_label_formats_with_the_recordio_header_parser(tmp_path):
    image = io.BytesIO()
    Image.fromarray(pixels(8, 8, 0)).save(image, "PNG")
    records = [recordio.pack((0, 1.0, i, 0), image.getvalue()) for i in range(3)]
    records += [recordio.pack((0, [1.0, 2.0], 3, 0), b"not an image")] * 2
    records += [b"short", recordio.pack((0, [1.0] * 9, 4, 0), b"")[:40]]  # 9 labels announced
    rec = tmp_path / "mixed.rec"
    with recordio.MXRecordIO(rec, "w") as writer:
        for record in records:
            writer.write(record)
    lines, sound = inspect_file(rec)
    assert sound
    assert lines[1] == (
        "labels: scalar (3), 2 floats (2), no IRHeader (too short for its header and labels) (2)"
    )
    assert lines[2] == "payloads: PNG RGB (3), not an image (2)"


def test_inspect_reports_a_damaged_file(images, tmp_path):
    result, _ = pack(images, tmp_path, "d", items("top.jpg", "cat/a.jpg"))
    rec = Path(result.rec_path)
    rec.write_bytes(rec.read_bytes()[:-10])
    damaged = gluondata_cli("inspect", str(rec))
    assert damaged.returncode == 1
    assert "1 records" in damaged.stdout and "DAMAGED" in damaged.stdout
    assert "truncated" in damaged.stdout and "1 lines point past the damage" in damaged.stdout


def test_cli_errors_are_one_line_and_exit_1(tmp_path):
    no_lists = gluondata_cli("im2rec", str(tmp_path / "none"), str(tmp_path))
    assert no_lists.returncode == 1 and "no .lst file with prefix" in no_lists.stderr
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs.lst").write_text("0\t1\ta.jpg\n")
    folder = gluondata_cli("im2rec", str(tmp_path / "imgs"), str(tmp_path))
    assert folder.returncode == 1
    assert f"no .lst file in {tmp_path / 'imgs'}: a prefix that names a folder" in folder.stderr
    assert f"to pack {tmp_path / 'imgs.lst'}, pass it as the prefix" in folder.stderr
    no_root = gluondata_cli("im2rec", "--list", str(tmp_path / "x"), str(tmp_path / "missing"))
    assert no_root.returncode == 1 and "missing" in no_root.stderr
    assert "Traceback" not in no_root.stderr
