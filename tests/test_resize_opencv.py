"""GLUONDATA_RESIZE=opencv: interpolated resizes through cv2.resize, on every path."""

import sys

import numpy as np
import pytest

from gluondata import DataLoader
from gluondata._geometry import Plan
from gluondata._resize import crop_resize
from gluondata.random import sample_context
from gluondata.vision import ImageFolderDataset
from gluondata.vision import transforms as T

cv2 = pytest.importorskip("cv2")

from test_image_draft import array_path, fused, photo  # noqa: E402


@pytest.fixture
def opencv(monkeypatch):
    monkeypatch.setenv("GLUONDATA_RESIZE", "opencv")


def image(h=60, w=80, channels=3, dtype=np.uint8):
    values = np.random.default_rng(0).integers(0, 256, (h, w, channels))
    return values.astype(dtype)


@pytest.mark.parametrize("interp", [1, 2, 3, 4])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_crop_resize_is_cv2_resize_of_the_crop(opencv, interp, dtype):
    src = image(dtype=dtype)
    out = crop_resize(src, Plan((5, 7, 50, 40), (32, 24), interp))
    expected = cv2.resize(np.ascontiguousarray(src[7:47, 5:55]), (32, 24), interpolation=interp)
    assert out.dtype == dtype and out.shape == (24, 32, 3)
    np.testing.assert_array_equal(out, expected)


def test_single_channel_keeps_its_axis(opencv):
    out = crop_resize(image(channels=1), Plan((0, 0, 80, 60), (40, 30), 1))
    assert out.shape == (30, 40, 1)


def test_pillow_stays_the_default(monkeypatch):
    monkeypatch.delenv("GLUONDATA_RESIZE", raising=False)
    src = image()
    plan = Plan((0, 0, 80, 60), (40, 30), 1)
    with_pillow = crop_resize(src, plan)
    monkeypatch.setenv("GLUONDATA_RESIZE", "opencv")
    assert not np.array_equal(with_pillow, crop_resize(src, plan))


def test_fused_decode_matches_the_array_path_with_opencv(opencv):
    data = photo()
    for i in range(5):
        with sample_context(1, 0, i):
            expected = array_path(data, T.RandomResizedCrop(224))
        with sample_context(1, 0, i):
            np.testing.assert_array_equal(fused(data, T.RandomResizedCrop(224)), expected)


def test_a_bad_backend_name_and_a_missing_opencv_are_clear(monkeypatch):
    monkeypatch.setenv("GLUONDATA_RESIZE", "cv3")
    with pytest.raises(ValueError, match="'pillow' or 'opencv'"):
        crop_resize(image(), Plan((0, 0, 80, 60), (40, 30), 1))
    monkeypatch.setenv("GLUONDATA_RESIZE", "opencv")
    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(ImportError, match=r"gluondata\[opencv\]"):
        crop_resize(image(), Plan((0, 0, 80, 60), (40, 30), 1))


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

    for got, expected in zip(
        batches(num_workers=2, start_method="spawn"), batches(), strict=True
    ):
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

    monkeypatch.setenv("GLUONDATA_RESIZE", "pillow")
    with_pillow = first_batch(preprocess_threads=0)
    monkeypatch.setenv("GLUONDATA_RESIZE", "opencv")
    with_opencv = first_batch(preprocess_threads=0)
    assert not np.array_equal(with_pillow, with_opencv)
    np.testing.assert_array_equal(first_batch(preprocess_threads=2), with_opencv)
