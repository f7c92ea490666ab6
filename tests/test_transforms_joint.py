"""Joint image+mask transforms: the mask stays aligned with the image it came from."""

import pickle

import numpy as np
import pytest

from gluondata.random import sample_context
from gluondata.vision.transforms import joint


@pytest.fixture
def pair():
    """An image whose pixels encode their own position, and the mask derived from it."""
    h, w = 48, 64
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([yy * 4, xx * 3, (yy + xx) % 256], axis=-1).astype(np.uint8)
    mask = (img[:, :, 0] // 32) * 10 + img[:, :, 1] // 48  # class = coarse position cell
    return img, mask.astype(np.int64)


def derive_mask(img):
    return (img[..., 0].astype(np.int64) // 32) * 10 + img[..., 1] // 48


def assert_aligned(img, mask, min_agreement=0.95):
    assert img.shape[:2] == mask.shape
    agreement = (derive_mask(img) == mask).mean()
    assert agreement >= min_agreement, agreement


TRANSFORMS = [
    joint.RandomResizedCrop(32, scale=(0.2, 1.0), interpolation=0),
    joint.RandomCrop((24, 16), interpolation=0),
    joint.CenterCrop(20, interpolation=0),
    joint.Resize((32, 24), interpolation=0),
    joint.RandomFlipLeftRight(),
    joint.RandomFlipTopBottom(),
]


@pytest.mark.parametrize("transform", TRANSFORMS, ids=lambda t: type(t).__name__)
def test_nearest_joint_transforms_keep_mask_exactly_aligned(pair, transform):
    img, mask = pair
    for i in range(10):
        with sample_context(0, 0, i):
            out_img, out_mask = transform(img, mask)
        np.testing.assert_array_equal(derive_mask(out_img), out_mask)
        assert out_mask.dtype == mask.dtype


def test_bilinear_image_with_nearest_mask_stays_aligned(pair):
    img, mask = pair
    transform = joint.Compose(
        [joint.RandomResizedCrop(40, scale=(0.3, 1.0)), joint.RandomFlipLeftRight()]
    )
    for i in range(10):
        with sample_context(1, 0, i):
            out_img, out_mask = transform(img, mask)
        assert out_img.shape == (40, 40, 3) and out_mask.shape == (40, 40)
        assert set(np.unique(out_mask)) <= set(np.unique(mask))  # no interpolated class ids
        assert_aligned(out_img, out_mask, 0.85)  # pixels at cell borders may blend


def test_chw_float_images_are_handled_and_keep_their_layout(pair):
    img, mask = pair
    chw = np.ascontiguousarray(img.transpose(2, 0, 1)).astype(np.float32)
    transform = joint.Compose([joint.RandomCrop(16, interpolation=0), joint.RandomFlipTopBottom()])
    for i in range(5):
        with sample_context(2, 0, i):
            out_img, out_mask = transform(chw, mask)
        assert out_img.shape == (3, 16, 16) and out_img.dtype == np.float32
        np.testing.assert_array_equal(derive_mask(out_img.transpose(1, 2, 0)), out_mask)


def test_apply_to_image_leaves_the_mask(pair):
    img, mask = pair
    out_img, out_mask = joint.ApplyToImage(lambda x: x // 2)(img, mask)
    np.testing.assert_array_equal(out_img, img // 2)
    assert out_mask is mask


def test_mismatched_shapes_are_an_error(pair):
    img, mask = pair
    with pytest.raises(ValueError, match=r"image of shape \(48, 64, 3\) does not match mask"):
        joint.RandomFlipLeftRight()(img, mask[:, :10])


def test_joint_transforms_pickle(pair):
    transform = joint.Compose([joint.RandomResizedCrop(16), joint.RandomFlipLeftRight()])
    clone = pickle.loads(pickle.dumps(transform))
    with sample_context(0, 0, 0):
        a = transform(*pair)
    with sample_context(0, 0, 0):
        b = clone(*pair)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert "RandomResizedCrop" in repr(transform)
