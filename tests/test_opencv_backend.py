"""The OpenCV image backend (the default): JPEGs decoded by cv2.imdecode, resizes by cv2.resize."""

import sys

import cv2
import numpy as np
import pytest
from test_image_draft import array_path, fused, photo

from gluondata import DataLoader, image
from gluondata.image import _backend
from gluondata.image._geometry import Plan
from gluondata.image._resize import crop_resize
from gluondata.random import sample_context
from gluondata.vision import ImageFolderDataset
from gluondata.vision import transforms as T


@pytest.fixture(autouse=True)
def process_backend(monkeypatch):
    """Each test starts from an unset process-wide choice and leaves it so."""
    monkeypatch.setattr(_backend, "_process_choice", None)
    monkeypatch.delenv("GLUONDATA_IMAGE_BACKEND", raising=False)


@pytest.fixture
def opencv():
    image.set_backend("opencv")


@pytest.fixture
def calls(monkeypatch):
    """The flags of every cv2.imdecode call (which still decodes)."""
    flags = []
    imdecode = cv2.imdecode
    monkeypatch.setattr(cv2, "imdecode", lambda *a: flags.append(a[1]) or imdecode(*a))
    return flags


def pixels(h=60, w=80, channels=3, dtype=np.uint8):
    values = np.random.default_rng(0).integers(0, 256, (h, w, channels))
    return values.astype(dtype)


@pytest.mark.parametrize("interp", [1, 2, 3, 4])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_crop_resize_is_cv2_resize_of_the_crop(opencv, interp, dtype):
    src = pixels(dtype=dtype)
    out = crop_resize(src, Plan((5, 7, 50, 40), (32, 24), interp))
    expected = cv2.resize(np.ascontiguousarray(src[7:47, 5:55]), (32, 24), interpolation=interp)
    assert out.dtype == dtype and out.shape == (24, 32, 3)
    np.testing.assert_array_equal(out, expected)


def test_colour_jpegs_are_decoded_by_opencv_and_give_pillows_pixels(opencv, calls, monkeypatch):
    data = photo()
    got = image.imdecode(data)
    assert len(calls) == 1
    image.set_backend("pillow")
    np.testing.assert_array_equal(got, image.imdecode(data))
    assert len(calls) == 1


def test_a_jpeg_without_its_end_marker_last_is_left_to_pillow(opencv, calls, monkeypatch):
    data = photo() + b"\x00\x00"  # padding after the end marker: Pillow decodes it
    image.set_backend("pillow")
    expected = image.imdecode(data)
    image.set_backend("opencv")
    np.testing.assert_array_equal(image.imdecode(data), expected)
    with pytest.raises(image.ImageDecodeError, match="truncated"):
        image.imdecode(photo()[:-2])  # OpenCV 4 would fill it in without an error
    assert calls == []


def test_an_opencv_error_leaves_the_image_to_pillow(opencv, monkeypatch):
    def refuse(*args):
        raise cv2.error("over the pixel limit")

    monkeypatch.setattr(cv2, "imdecode", refuse)
    data = photo()
    got = image.imdecode(data)
    image.set_backend("pillow")
    np.testing.assert_array_equal(got, image.imdecode(data))


def test_the_fused_random_resized_crop_decodes_once_with_opencv(opencv, calls):
    with sample_context(1, 0, 0):
        out = fused(photo(), T.RandomResizedCrop(224))
    assert out.shape == (224, 224, 3) and len(calls) == 1


def test_a_corrupt_jpeg_in_a_folder_is_an_error_naming_it(opencv, tmp_path):
    (tmp_path / "c").mkdir()
    good = photo(120, 90)
    (tmp_path / "c" / "0.jpg").write_bytes(good)
    (tmp_path / "c" / "1.jpg").write_bytes(good[: len(good) // 3])
    data = ImageFolderDataset(tmp_path).transform_first(T.RandomResizedCrop(32))
    assert data[0][0].shape == (32, 32, 3)
    with pytest.raises(image.ImageDecodeError, match=r"1\.jpg"):
        data[1]


def test_single_channel_keeps_its_axis(opencv):
    out = crop_resize(pixels(channels=1), Plan((0, 0, 80, 60), (40, 30), 1))
    assert out.shape == (30, 40, 1)


def test_opencv_is_the_default_and_pillow_a_choice():
    src = pixels()
    plan = Plan((0, 0, 80, 60), (40, 30), 1)
    assert image.get_backend() == "opencv"
    by_default = crop_resize(src, plan)
    np.testing.assert_array_equal(by_default, cv2.resize(src, (40, 30)))
    image.set_backend("pillow")
    assert not np.array_equal(by_default, crop_resize(src, plan))


def test_fused_decode_matches_the_array_path_with_opencv(opencv):
    data = photo()
    for i in range(5):
        with sample_context(1, 0, i):
            expected = array_path(data, T.RandomResizedCrop(224))
        with sample_context(1, 0, i):
            np.testing.assert_array_equal(fused(data, T.RandomResizedCrop(224)), expected)


def test_a_bad_backend_name_in_the_variable_is_clear(monkeypatch):
    monkeypatch.setenv("GLUONDATA_IMAGE_BACKEND", "cv3")
    with pytest.raises(
        ValueError, match=r"GLUONDATA_IMAGE_BACKEND value 'cv3'.*'pillow' or 'opencv'"
    ):
        crop_resize(pixels(), Plan((0, 0, 80, 60), (40, 30), 1))


def test_the_variable_is_the_initial_choice_only(monkeypatch):
    monkeypatch.setenv("GLUONDATA_IMAGE_BACKEND", "opencv")
    assert image.get_backend() == "opencv"
    monkeypatch.setenv("GLUONDATA_IMAGE_BACKEND", "pillow")
    assert image.get_backend() == "opencv"
    image.set_backend("pillow")
    assert image.get_backend() == "pillow"


def test_a_bad_backend_name_and_a_missing_opencv_are_clear(monkeypatch):
    with pytest.raises(ValueError, match=r"unknown image backend 'cv3'.*installed here: 'pillow'"):
        image.set_backend("cv3")
    with pytest.raises(ValueError, match="unknown image backend 'PIL'"):
        T.Compose([T.Resize(8)], backend="PIL")
    image.set_backend("opencv")
    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(ImportError, match=r"pip install opencv-python-headless"):
        crop_resize(pixels(), Plan((0, 0, 80, 60), (40, 30), 1))
    monkeypatch.setattr(_backend, "_opencv_installed", lambda: False)
    with pytest.raises(ImportError, match=r"'opencv' needs OpenCV.*installed here: 'pillow'\)"):
        ImageFolderDataset(".", backend="opencv")


def test_spawned_workers_resize_like_the_loop(opencv, tmp_path):
    for k in range(2):
        (tmp_path / f"c{k}").mkdir()
        for i in range(3):
            (tmp_path / f"c{k}" / f"{i}.jpg").write_bytes(photo(120, 90, seed=3 * k + i))
    data = ImageFolderDataset(tmp_path).transform_first(
        T.Compose([T.RandomResizedCrop(32), T.ToTensor()])
    )

    def batches(**workers):
        with DataLoader(data, batch_size=3, shuffle=True, seed=4, **workers) as loader:
            return [b[0] for b in loader]

    for got, expected in zip(batches(num_workers=2, start_method="spawn"), batches(), strict=True):
        np.testing.assert_array_equal(got, expected)


def test_image_record_iter_resamples_with_opencv_in_every_worker(monkeypatch, tmp_path):
    from gluondata import recordio
    from gluondata.io import ImageRecordIter

    rec, idx = str(tmp_path / "photos.rec"), str(tmp_path / "photos.idx")
    with recordio.MXIndexedRecordIO(idx, rec, "w") as out:
        for i in range(8):
            header = recordio.IRHeader(0, float(i), i, 0)
            out.write_idx(i, recordio.pack(header, photo(120, 90, seed=i)))

    def first_batch(**kwargs):
        it = ImageRecordIter(
            path_imgrec=rec,
            path_imgidx=idx,
            data_shape=(3, 64, 64),
            batch_size=4,
            random_resized_crop=True,
            min_random_area=0.3,
            seed=2,
            **kwargs,
        )
        return next(iter(it)).data[0]

    image.set_backend("pillow")
    with_pillow = first_batch(preprocess_threads=0)
    image.set_backend("opencv")
    with_opencv = first_batch(preprocess_threads=0)
    assert not np.array_equal(with_pillow, with_opencv)
    np.testing.assert_array_equal(first_batch(preprocess_threads=2), with_opencv)


def test_a_dataset_compose_or_call_can_choose_its_own_backend(tmp_path, calls):
    image.set_backend("pillow")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "0.jpg").write_bytes(photo(120, 90))
    crop = T.Compose([T.Resize(48), T.ToTensor()])
    pillow = ImageFolderDataset(tmp_path).transform_first(crop)[0][0]
    assert calls == []
    by_dataset = ImageFolderDataset(tmp_path, backend="opencv").transform_first(crop)[0][0]
    assert len(calls) == 1
    by_compose = ImageFolderDataset(tmp_path).transform_first(
        T.Compose([T.Resize(48), T.ToTensor()], backend="opencv")
    )[0][0]
    assert len(calls) == 2
    assert not np.array_equal(pillow, by_dataset)
    np.testing.assert_array_equal(by_dataset, by_compose)
    assert image.get_backend() == "pillow"  # nothing leaked out of the scopes
    data = photo()
    np.testing.assert_array_equal(image.imdecode(data, backend="opencv"), image.imdecode(data))
    assert len(calls) == 3
    src = pixels()
    np.testing.assert_array_equal(
        image.imresize(src, 40, 30, backend="opencv"), cv2.resize(src, (40, 30))
    )


def test_an_inner_choice_wins_and_threads_keep_their_own(opencv):
    import threading

    seen = {}
    with image.use_backend("pillow"):
        assert image.get_backend() == "pillow"
        thread = threading.Thread(target=lambda: seen.update(thread=image.get_backend()))
        thread.start()
        thread.join()
    assert image.get_backend() == "opencv"
    assert seen == {"thread": "opencv"}  # a scope is per thread; the process choice is shared


@pytest.mark.parametrize("start_method", ["spawn", "forkserver"])
def test_workers_start_with_the_process_choice_made_in_code(opencv, tmp_path, start_method):
    for i in range(4):
        (tmp_path / "c").mkdir(exist_ok=True)
        (tmp_path / "c" / f"{i}.jpg").write_bytes(photo(120, 90, seed=i))
    data = ImageFolderDataset(tmp_path).transform_first(T.Compose([T.Resize(100), T.ToTensor()]))
    inline = next(iter(DataLoader(data, batch_size=4)))[0]
    with DataLoader(data, batch_size=4, num_workers=1, start_method=start_method) as loader:
        np.testing.assert_array_equal(next(iter(loader))[0], inline)
    image.set_backend("pillow")
    assert not np.array_equal(next(iter(DataLoader(data, batch_size=4)))[0], inline)


def test_image_record_iter_takes_a_backend(tmp_path):
    from gluondata import recordio
    from gluondata.io import ImageIter, ImageRecordIter

    rec, idx = str(tmp_path / "photos.rec"), str(tmp_path / "photos.idx")
    with recordio.MXIndexedRecordIO(idx, rec, "w") as out:
        for i in range(4):
            out.write_idx(
                i, recordio.pack(recordio.IRHeader(0, float(i), i, 0), photo(120, 90, seed=i))
            )
    args = {"path_imgrec": rec, "path_imgidx": idx, "data_shape": (3, 64, 64), "batch_size": 4}

    def record_iter(**kwargs):
        return next(
            iter(
                ImageRecordIter(
                    **args,
                    random_resized_crop=True,
                    min_random_area=0.3,
                    seed=2,
                    preprocess_threads=0,
                    **kwargs,
                )
            )
        ).data[0]

    def image_iter(**kwargs):
        return next(iter(ImageIter(**args, resize=80, **kwargs))).data[0]

    image.set_backend("pillow")
    for first_batch in (record_iter, image_iter):
        with_opencv = first_batch(backend="opencv")
        assert not np.array_equal(first_batch(), with_opencv)
        image.set_backend("opencv")
        np.testing.assert_array_equal(first_batch(), with_opencv)
        image.set_backend("pillow")


@pytest.mark.parametrize(("backend", "imported"), [("opencv", True), ("pillow", False)])
def test_an_image_dataset_imports_its_backend_before_workers_fork(tmp_path, backend, imported):
    """Forked workers then share OpenCV's pages with the main process instead of loading it."""
    import subprocess

    (tmp_path / "cat").mkdir()
    code = (
        "import sys\n"
        "from gluondata.vision import ImageFolderDataset\n"
        "assert 'cv2' not in sys.modules\n"
        f"ImageFolderDataset({str(tmp_path)!r}, backend={backend!r})\n"
        "print('cv2' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(imported)
