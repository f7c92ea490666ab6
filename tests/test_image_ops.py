"""mx.image geometry: MXNet's integer arithmetic exactly, shapes, dtypes, determinism."""

import numpy as np
import pytest

from gluondata import image
from gluondata.random import sample_context


@pytest.fixture
def img():
    return np.random.default_rng(1).integers(0, 256, (30, 50, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    ("src", "size", "expected"),
    [
        ((640, 480), (720, 120), (640, 106)),
        ((360, 1000), (480, 500), (360, 375)),
        ((300, 400), (0, 0), (0, 0)),
    ],
)
def test_scale_down_matches_mxnet(src, size, expected):
    assert image.scale_down(src, size) == expected


@pytest.mark.parametrize(("shape", "out"), [((30, 50, 3), (20, 33, 3)), ((50, 30, 3), (33, 20, 3))])
def test_resize_short_floors_the_long_side(shape, out):
    assert image.resize_short(np.zeros(shape, np.uint8), 20).shape == out


@pytest.mark.parametrize("interp", [0, 1, 2, 3, 4, 9])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64, np.int32])
def test_imresize_shapes_and_dtypes(img, interp, dtype):
    out = image.imresize(img.astype(dtype), 17, 9, interp)
    assert out.shape == (9, 17, 3) and out.dtype == dtype


def test_imresize_keeps_a_constant_image_constant(img):
    for interp in range(5):
        out = image.imresize(np.full((30, 50, 3), 77, np.uint8), 71, 13, interp)
        assert (out == 77).all()


def test_nearest_picks_opencvs_floor_indices():
    row = np.arange(10, dtype=np.uint8).reshape(1, 10)
    np.testing.assert_array_equal(image.imresize(row, 4, 1, interp=0)[0], [0, 2, 5, 7])
    mask = np.arange(12, dtype=np.int64).reshape(3, 4)
    np.testing.assert_array_equal(image.imresize(mask, 8, 6, 0), mask.repeat(2, 0).repeat(2, 1))


def test_imresize_same_size_is_a_copy(img):
    out = image.imresize(img, 50, 30)
    np.testing.assert_array_equal(out, img)
    assert not np.shares_memory(out, img)


def test_bilinear_downscale_is_close_to_the_area_mean():
    src = np.random.default_rng(2).integers(0, 256, (64, 64), dtype=np.uint8)
    out = image.imresize(src, 32, 32, interp=3).astype(float)
    area = src.reshape(32, 2, 32, 2).mean(axis=(1, 3))
    assert np.abs(out - area).max() <= 1


def test_unknown_interp_is_rejected(img):
    with pytest.raises(ValueError, match="Unknown interp method 7"):
        image.imresize(img, 10, 10, interp=7)


def test_fixed_crop_is_a_view_without_resize_and_resizes_otherwise(img):
    out = image.fixed_crop(img, 3, 4, 10, 5)
    np.testing.assert_array_equal(out, img[4:9, 3:13])
    assert np.shares_memory(out, img)
    assert image.fixed_crop(img, 3, 4, 10, 5, size=(20, 10)).shape == (10, 20, 3)


def test_center_crop_of_a_small_image_takes_the_largest_box_of_the_ratio():
    out, box = image.center_crop(np.zeros((30, 50, 3), np.uint8), (60, 40))
    assert box == (2, 0, 45, 30) and out.shape == (40, 60, 3)


def test_center_crop_of_a_large_image_crops_exactly(img):
    out, box = image.center_crop(img, (8, 6))
    assert box == (21, 12, 8, 6)
    np.testing.assert_array_equal(out, img[12:18, 21:29])


def test_random_crop_box_is_inside_and_deterministic_under_a_key(img):
    with sample_context(3, 0, 5):
        out, box = image.random_crop(img, (20, 10))
    with sample_context(3, 0, 5):
        again, box2 = image.random_crop(img, (20, 10))
    assert box == box2
    np.testing.assert_array_equal(out, again)
    x0, y0, w, h = box
    assert (w, h) == (20, 10) and 0 <= x0 <= 30 and 0 <= y0 <= 20
    np.testing.assert_array_equal(out, img[y0 : y0 + h, x0 : x0 + w])


def test_random_size_crop_ratio_and_fallback(img):
    for i in range(50):
        with sample_context(0, 0, i):
            out, (x0, y0, w, h) = image.random_size_crop(img, (8, 8), 0.3, (0.75, 1.33))
        assert out.shape == (8, 8, 3)
        assert 0.75 - 0.05 <= w / h <= 1.33 + 0.05
        assert x0 + w <= 50 and y0 + h <= 30
    # An area no crop can have: MXNet falls back to a centre crop of `size` itself.
    assert image.random_size_crop(img, (8, 8), (5.0, 6.0), (1.0, 1.0))[1] == (21, 11, 8, 8)


def test_random_size_crop_accepts_the_deprecated_min_area(img):
    with pytest.warns(DeprecationWarning, match="min_area"):
        image.random_size_crop(img, (8, 8), 0.5, (0.75, 1.33), min_area=0.2)
    with pytest.raises(TypeError, match="unexpected"):
        image.random_size_crop(img, (8, 8), 0.5, (0.75, 1.33), bogus=1)


def test_color_normalize_works_in_place_on_floats(img):
    src = img.astype(np.float32)
    mean, std = np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 8.0])
    expected = (src - mean) / std
    out = image.color_normalize(src, mean, std)
    assert out is src
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    assert image.color_normalize(img, 10.0).dtype == np.float32


@pytest.mark.parametrize(
    ("border", "mode"), [(1, "edge"), (2, "symmetric"), (3, "wrap"), (4, "reflect")]
)
def test_copy_make_border_types(img, border, mode):
    out = image.copyMakeBorder(img, 1, 2, 3, 4, type=border)
    np.testing.assert_array_equal(out, np.pad(img, [(1, 2), (3, 4), (0, 0)], mode=mode))


def test_copy_make_border_constant_values(img):
    out = image.copyMakeBorder(img, 1, 0, 0, 2, value=9)
    assert out.shape == (31, 52, 3) and (out[0] == 9).all() and (out[:, -2:] == 9).all()
    out = image.copyMakeBorder(img, 1, 0, 0, 0, values=(1, 2, 3))
    np.testing.assert_array_equal(out[0, 0], [1, 2, 3])
