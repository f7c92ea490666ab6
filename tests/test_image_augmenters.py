"""mx.image Augmenters and CreateAugmenter."""

import json
import pickle

import numpy as np
import pytest

from gluondata import image
from gluondata.random import sample_context


@pytest.fixture
def img():
    return np.random.default_rng(3).integers(0, 256, (40, 60, 3), dtype=np.uint8)


def test_create_augmenter_order_matches_mxnet():
    augs = image.CreateAugmenter(
        (3, 20, 24),
        resize=32,
        rand_crop=True,
        rand_resize=True,
        rand_mirror=True,
        mean=True,
        std=True,
        brightness=0.1,
        contrast=0.1,
        saturation=0.1,
        hue=0.1,
        pca_noise=0.1,
        rand_gray=0.2,
    )
    names = [type(a).__name__ for a in augs]
    assert names == [
        "ResizeAug",
        "RandomSizedCropAug",
        "HorizontalFlipAug",
        "CastAug",
        "ColorJitterAug",
        "HueJitterAug",
        "LightingAug",
        "RandomGrayAug",
        "ColorNormalizeAug",
    ]
    assert augs[1].size == (24, 20)
    assert json.loads(augs[0].dumps()) == ["resizeaug", {"size": 32, "interp": 2}]
    assert augs[4].dumps()[0] == "colorjitteraug"


def test_create_augmenter_defaults_and_validation():
    assert [type(a).__name__ for a in image.CreateAugmenter((3, 8, 8))] == [
        "CenterCropAug",
        "CastAug",
    ]
    with pytest.raises(ValueError, match="rand_crop"):
        image.CreateAugmenter((3, 8, 8), rand_resize=True)
    with pytest.raises(ValueError, match="1 or 3 values"):
        image.CreateAugmenter((3, 8, 8), mean=np.zeros(2))


def test_pipeline_runs_deterministically_and_is_picklable(img):
    augs = image.CreateAugmenter(
        (3, 16, 16), rand_crop=True, rand_resize=True, rand_mirror=True, mean=True, std=True,
        brightness=0.3, contrast=0.3, saturation=0.3, hue=0.3, pca_noise=0.1, rand_gray=0.5,
    )  # fmt: skip
    augs = pickle.loads(pickle.dumps(augs))

    def run():
        x = img
        with sample_context(7, 1, 2):
            for aug in augs:
                x = aug(x)
        return x

    first = run()
    assert first.shape == (16, 16, 3) and first.dtype == np.float32
    np.testing.assert_array_equal(first, run())


def test_geometry_augmenters(img):
    assert image.ResizeAug(20)(img).shape == (20, 30, 3)
    assert image.ForceResizeAug((10, 7))(img).shape == (7, 10, 3)
    assert image.RandomCropAug((10, 7))(img).shape == (7, 10, 3)
    assert image.CenterCropAug((10, 7))(img).shape == (7, 10, 3)
    assert image.RandomSizedCropAug((10, 7), 0.1, (0.5, 2))(img).shape == (7, 10, 3)
    np.testing.assert_array_equal(image.HorizontalFlipAug(1.0)(img), img[:, ::-1])
    assert image.HorizontalFlipAug(0.0)(img) is img


def test_color_augmenters_follow_mxnets_formulas(img):
    src = img.astype(np.float32)
    with sample_context(0, 0, 0):
        out = image.BrightnessJitterAug(0.5)(src)
    alpha = out / np.where(src == 0, 1, src)
    assert np.allclose(alpha[src > 0], alpha[src > 0].flat[0], rtol=1e-5)
    coef = np.array([0.299, 0.587, 0.114])
    gray = np.full_like(src, 100.0)
    np.testing.assert_allclose(image.SaturationJitterAug(0.5)(gray), gray, rtol=1e-5)
    np.testing.assert_allclose(image.ContrastJitterAug(0.5)(gray), gray, rtol=1e-5)
    mean_luma = (src * coef).sum() / (src.size / 3)
    out = image.ContrastJitterAug(0.5)(src)
    assert abs((out * coef).sum() / (src.size / 3) - mean_luma) < 1e-2
    # MXNet's 3-digit YIQ matrices are not exact inverses: a zero rotation is off by < 1.
    np.testing.assert_allclose(image.HueJitterAug(0.0)(src), src, atol=1.0)
    gray_out = image.RandomGrayAug(1.0)(src)
    np.testing.assert_allclose(gray_out[..., 0], src @ np.array([0.21, 0.72, 0.07]), rtol=1e-5)
    assert image.CastAug("float64")(img).dtype == np.float64


def test_lighting_adds_one_offset_per_channel(img):
    src = img.astype(np.float32)
    out = image.LightingAug(0.1, np.array([55.46, 4.794, 1.148]), np.eye(3))(src)
    offset = (out - src).reshape(-1, 3)
    assert np.allclose(offset, offset[0], atol=1e-3)


def test_color_normalize_aug(img):
    mean, std = np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0])
    out = image.ColorNormalizeAug(mean, std)(img.astype(np.float32))
    np.testing.assert_allclose(out, (img - mean) / std, rtol=1e-5)


def test_random_order_aug_draws_its_order_per_image():
    calls = []

    class Tag(image.Augmenter):
        def __init__(self, name):
            super().__init__(name=name)
            self.name = name

        def __call__(self, src):
            calls.append(self.name)
            return src

    aug = image.RandomOrderAug([Tag("a"), Tag("b"), Tag("c")])
    orders = set()
    for i in range(30):
        calls.clear()
        with sample_context(0, 0, i):
            aug(np.zeros(1))
        orders.add(tuple(calls))
    assert len(orders) > 1 and all(sorted(o) == ["a", "b", "c"] for o in orders)
    assert aug.dumps() == [
        "randomorderaug",
        ['["tag", {"name": "a"}]', '["tag", {"name": "b"}]', '["tag", {"name": "c"}]'],
    ]
