"""vision.transforms: shapes, dtypes, exact pixels where exact is possible, determinism."""

import pickle

import numpy as np
import pytest

from gluondata.random import sample_context
from gluondata.vision import transforms as T


@pytest.fixture
def img():
    return np.random.default_rng(4).integers(0, 256, (24, 32, 3), dtype=np.uint8)


def test_to_tensor_is_chw_divided_by_255(img):
    out = T.ToTensor()(img)
    assert out.shape == (3, 24, 32) and out.dtype == np.float32 and out.flags.c_contiguous
    np.testing.assert_array_equal(out, img.transpose(2, 0, 1).astype(np.float32) / np.float32(255))
    assert T.ToTensor()(np.array([[[0], [255]]], np.uint8)).ravel().tolist() == [0.0, 1.0]
    batch = T.ToTensor()(np.stack([img, img]))
    assert batch.shape == (2, 3, 24, 32)
    assert T.ToTensor()(img[:, :, 0]).shape == (1, 24, 32)
    floats = T.ToTensor()(img.astype(np.float32))
    np.testing.assert_allclose(floats, out, rtol=1e-6)
    with pytest.raises(ValueError, match="HWC or NHWC"):
        T.ToTensor()(np.zeros((1, 2, 3, 4, 5)))


def test_normalize_per_channel():
    x = np.random.default_rng(0).random((3, 4, 5), dtype=np.float32)
    out = T.Normalize((0, 1, 2), (3, 2, 1))(x)
    mean, std = np.float32([0, 1, 2]), np.float32([3, 2, 1])
    np.testing.assert_array_equal(out, (x - mean[:, None, None]) / std[:, None, None])
    assert T.Normalize(0.5, 2.0)(np.stack([x, x])).shape == (2, 3, 4, 5)
    with pytest.raises(ValueError, match="3 values but the input has 4 channels"):
        T.Normalize((0, 1, 2), 1)(np.zeros((4, 2, 2), np.float32))
    with pytest.raises(ValueError, match="CHW or NCHW"):
        T.Normalize()(np.zeros((1, 1, 1, 1, 1), np.float32))


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_compose_fuses_to_tensor_and_normalize_with_identical_values(img, dtype):
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    steps = [T.ToTensor(), T.Normalize(mean, std)]
    composed = T.Compose(steps)
    assert len(composed.transforms) == 1 and "ToTensorNormalize" in repr(composed)
    assert len(steps) == 2  # the caller's list is left alone (MXNet's Compose appends to it)
    x = img.astype(dtype)[:, ::-1]  # a flipped view, as a random flip leaves it
    np.testing.assert_array_equal(composed(x), steps[1](steps[0](x)))


def test_cast(img):
    assert T.Cast()(img).dtype == np.float32
    assert T.Cast("float16")(img).dtype == np.float16


@pytest.mark.parametrize(
    ("shape", "size", "keep", "out"),
    [
        ((6, 8, 3), 4, True, (4, 5, 3)),
        ((9, 6, 3), 4, True, (6, 4, 3)),
        ((200, 300, 3), 150, True, (150, 225, 3)),
        ((24, 32, 3), 10, False, (10, 10, 3)),
        ((24, 32, 3), (12, 7), True, (7, 12, 3)),
    ],
)
def test_resize_sizes_match_mxnet(shape, size, keep, out):
    assert T.Resize(size, keep_ratio=keep)(np.zeros(shape, np.uint8)).shape == out


def test_resize_batches_dtypes_and_validation(img):
    assert T.Resize(8)(np.stack([img] * 3)).shape == (3, 8, 8, 3)
    for dtype in (np.uint8, np.float32, np.float64):
        assert T.Resize(8)(img.astype(dtype)).dtype == dtype
    for bad in (-1, 0, (1, 2, 3)):
        with pytest.raises(ValueError, match="size"):
            T.Resize(bad)


def test_center_crop_exact_pixels(img):
    np.testing.assert_array_equal(T.CenterCrop((10, 6))(img), img[9:15, 11:21])
    assert T.CenterCrop(40)(img).shape == (40, 40, 3)  # up-sampled when the image is smaller


def test_crop_resize(img):
    np.testing.assert_array_equal(T.CropResize(1, 2, 5, 4)(img), img[2:6, 1:6])
    assert T.CropResize(1, 2, 5, 4, size=(10, 8))(img).shape == (8, 10, 3)
    with pytest.raises(ValueError):
        T.CropResize(0, 0, 0, 4)


def test_random_crop_with_padding(img):
    with sample_context(0, 0, 0):
        out = T.RandomCrop(32, pad=4)(img)
    assert out.shape == (32, 32, 3)
    with sample_context(0, 0, 0):
        assert T.RandomCrop((8, 8))(img).shape == (8, 8, 3)


def test_random_crop_pads_only_height_and_width_of_a_batch(img):
    batch = np.stack([img, img[::-1]])
    with sample_context(0, 0, 0):
        out = T.RandomCrop((36, 28), pad=2, pad_value=7)(batch)  # the padded size: no room to move
    assert out.shape == (2, 28, 36, 3)
    np.testing.assert_array_equal(out[:, 2:-2, 2:-2], batch)
    assert (out[:, :2] == 7).all() and (out[:, :, -2:] == 7).all()
    with sample_context(0, 0, 0):
        single = T.RandomCrop((36, 28), pad=2, pad_value=7)(img)
    np.testing.assert_array_equal(single, out[0])


def test_random_resized_crop_shapes(img):
    for i in range(20):
        with sample_context(0, 0, i):
            assert T.RandomResizedCrop((16, 12))(img).shape == (12, 16, 3)


@pytest.mark.parametrize(
    ("transform", "flipped"),
    [
        (T.RandomFlipLeftRight, lambda x: x[:, ::-1]),
        (T.RandomFlipTopBottom, lambda x: x[::-1]),
    ],
)
def test_flips_are_exact_views(img, transform, flipped):
    out = transform(p=1.0)(img)
    np.testing.assert_array_equal(out, flipped(img))
    assert np.shares_memory(out, img)
    assert transform(p=0.0)(img) is img
    seen = set()
    for i in range(40):
        with sample_context(0, 0, i):
            seen.add(transform()(img) is img)
    assert seen == {True, False}


def test_brightness_scales_and_saturates(img):
    with sample_context(0, 0, 0):
        out = T.RandomBrightness(0.9)(img)
    assert out.dtype == np.uint8
    with sample_context(0, 0, 0):
        floats = T.RandomBrightness(0.9)(img.astype(np.float32))
    np.testing.assert_array_equal(out, np.clip(np.rint(floats), 0, 255).astype(np.uint8))


def test_gray_pixels_are_fixed_points_of_saturation_and_hue():
    gray = np.full((4, 4, 3), 90, np.uint8)
    for i in range(5):
        with sample_context(0, 0, i):
            np.testing.assert_array_equal(T.RandomSaturation(0.9)(gray), gray)
            np.testing.assert_array_equal(T.RandomHue(0.5)(gray), gray)


def test_contrast_keeps_a_flat_image(img):
    flat = np.full((4, 4, 3), 50.0, np.float32)
    np.testing.assert_allclose(T.RandomContrast(0.8)(flat), flat, rtol=1e-5)


def test_saturation_blends_with_the_full_luma_not_mxnets_blue_only_bug():
    x = np.array([[[200.0, 100.0, 50.0]]], np.float32)
    transform = T.RandomSaturation(1.0)
    with sample_context(0, 0, 3):
        out = transform(x)
    luma = 0.299 * 200 + 0.587 * 100 + 0.114 * 50
    # out = x*a + (1-a)*luma for one a: all channels give the same a.
    alphas = (out[0, 0] - luma) / (x[0, 0] - luma)
    assert np.allclose(alphas, alphas[0], rtol=1e-4)


def test_hue_rotation_by_120_degrees_cycles_primaries():
    from gluondata.vision.transforms._color import rotate_hue

    red = np.array([[[255, 0, 0]]], np.uint8)
    np.testing.assert_array_equal(rotate_hue(red, 120.0), [[[0, 255, 0]]])
    np.testing.assert_array_equal(rotate_hue(red, 240.0), [[[0, 0, 255]]])


def test_one_channel_images_are_left_alone_not_zeroed():
    gray = np.full((4, 4, 1), 90, np.uint8)
    for transform in (T.RandomHue(0.5), T.RandomLighting(0.5), T.RandomSaturation(0.5)):
        np.testing.assert_array_equal(transform(gray), gray)


@pytest.mark.parametrize(
    "transform",
    [
        T.RandomContrast(0.5),
        T.RandomSaturation(0.5),
        T.RandomHue(0.5),
        T.RandomLighting(0.5),
        T.RandomGray(1.0),
        T.RandomColorJitter(0.4, 0.4, 0.4, 0.1),
    ],
    ids=lambda t: type(t).__name__,
)
def test_colour_transforms_reject_chw_tensors_instead_of_ignoring_them(img, transform):
    name = type(transform).__name__
    for x in (T.ToTensor()(img), T.ToTensor()(np.stack([img, img]))):
        with pytest.raises(ValueError, match=rf"{name} expects HWC or NHWC.*before ToTensor"):
            transform(x)
    with sample_context(0, 0, 0):
        assert transform(img).shape == img.shape


def test_hue_rotation_matches_colorsys_on_floats_and_batches():
    import colorsys

    from gluondata.vision.transforms._color import rotate_hue

    rng = np.random.default_rng(2)
    pixels = rng.random((2, 5, 6, 3))
    for degrees in (-75.0, 40.0, 300.0):
        out = rotate_hue(pixels.astype(np.float32), degrees)
        assert out.dtype == np.float32 and out.shape == pixels.shape and out.flags.c_contiguous
        expected = []
        for r, g, b in pixels.reshape(-1, 3):
            h, lum, sat = colorsys.rgb_to_hls(r, g, b)
            expected.append(colorsys.hls_to_rgb((h + degrees / 360) % 1, lum, sat))
        np.testing.assert_allclose(out.reshape(-1, 3), expected, atol=1e-5)
        np.testing.assert_allclose(rotate_hue(pixels, degrees).reshape(-1, 3), expected, atol=1e-12)
    batch = rng.integers(0, 256, (2, 6, 7, 3), dtype=np.uint8)
    np.testing.assert_array_equal(rotate_hue(batch, 50.0)[1], rotate_hue(batch[1], 50.0))


def test_lighting_adds_a_per_channel_offset(img):
    x = img.astype(np.float32)
    out = T.RandomLighting(0.1)(x)
    offset = (out - x).reshape(-1, 3)
    assert np.allclose(offset, offset[0], atol=1e-3)
    assert T.RandomLighting(0.0)(img) is img


def test_random_gray_keeps_dtype_and_three_channels(img):
    out = T.RandomGray(1.0)(img)
    assert out.dtype == np.uint8 and out.shape == img.shape
    expected = np.rint(img.astype(np.float32) @ np.float32([0.2989, 0.587, 0.114])).astype(np.uint8)
    np.testing.assert_array_equal(out[..., 1], expected)
    assert T.RandomGray(0.0)(img) is img


def test_color_jitter_runs_in_a_seeded_random_order(img):
    jitter = T.RandomColorJitter(0.4, 0.4, 0.4, 0.1)
    with sample_context(5, 0, 1):
        a = jitter(img)
    with sample_context(5, 0, 1):
        b = jitter(img)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.uint8 and a.shape == img.shape
    assert T.RandomColorJitter()(img) is img


def test_random_apply_applies_about_p_of_the_time(img):
    apply = T.RandomApply(T.RandomFlipLeftRight(1.0), p=0.5)
    applied = 0
    for i in range(1000):
        with sample_context(0, 0, i):
            applied += apply(img) is not img
    assert 400 <= applied <= 600


def test_transforms_pass_extra_arguments_through(img):
    out, label = T.ToTensor()(img, 7)
    assert out.shape == (3, 24, 32) and label == 7


def test_transforms_within_one_sample_draw_different_numbers(img):
    """Two random transforms in one sample must not share their draws (else: both or neither)."""
    composed = T.Compose([T.RandomFlipLeftRight(), T.RandomFlipTopBottom()])
    outcomes = set()
    for i in range(40):
        with sample_context(0, 0, i):
            out = composed(img)
        outcomes.add((np.array_equal(out, img[:, ::-1]), np.array_equal(out, img[::-1])))
    assert (True, False) in outcomes and (False, True) in outcomes


def test_everything_pickles_and_composes(img):
    pipeline = T.Compose(
        [
            T.Resize(40, keep_ratio=True),
            T.RandomResizedCrop(20),
            T.RandomFlipLeftRight(),
            T.RandomFlipTopBottom(),
            T.RandomColorJitter(0.2, 0.2, 0.2, 0.05),
            T.RandomApply(T.RandomGray(1.0), p=0.3),
            T.RandomLighting(0.1),
            T.CenterCrop(16),
            T.ToTensor(),
            T.Normalize(0.5, 0.25),
        ]
    )
    clone = pickle.loads(pickle.dumps(pipeline))
    with sample_context(9, 2, 3):
        a = pipeline(img)
    with sample_context(9, 2, 3):
        b = clone(img)
    assert a.shape == (3, 16, 16) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
