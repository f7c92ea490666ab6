"""Rotation: image.imrotate / random_rotate, transforms.Rotate / RandomRotation, joint rotation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gluondata import DataLoader, image
from gluondata.dataset import SimpleDataset
from gluondata.random import sample_context
from gluondata.vision import transforms
from gluondata.vision.transforms import joint


def _chw(h: int, w: int, c: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((c, h, w), dtype=np.float32)


def test_90_degrees_on_a_square_is_rot90_counter_clockwise() -> None:
    img = _chw(7, 7)
    out = image.imrotate(img, 90)
    np.testing.assert_allclose(out, np.rot90(img, k=1, axes=(1, 2)), atol=1e-5)
    # MXNet's documented example: the pixel at row 1, col 2 goes to row 0, col 1 (3x3)
    small = np.zeros((1, 3, 3), np.float32)
    small[0, 1, 2] = 1
    assert image.imrotate(small, 90)[0, 0, 1] == pytest.approx(1, abs=1e-6)


def test_180_and_minus_90_degrees() -> None:
    img = _chw(6, 9)
    np.testing.assert_allclose(image.imrotate(img, 180), img[:, ::-1, ::-1], atol=1e-5)
    square = _chw(5, 5)
    np.testing.assert_allclose(
        image.imrotate(square, -90), np.rot90(square, k=-1, axes=(1, 2)), atol=1e-5
    )


def test_a_bright_pixel_lands_where_the_rotation_matrix_sends_it() -> None:
    h, w, angle = 41, 61, 30.0
    src = np.zeros((1, h, w), np.float32)
    y, x = 10, 45
    src[0, y, x] = 1.0
    out = image.imrotate(src, angle)[0]
    # counter-clockwise as displayed: in (x right, y down) coordinates that is (x, y) ->
    # (x cos + y sin, -x sin + y cos) about the centre
    t = math.radians(angle)
    cx, cy = (w - 1) / 2, (h - 1) / 2
    dx, dy = x - cx, y - cy
    tx, ty = dx * math.cos(t) + dy * math.sin(t) + cx, -dx * math.sin(t) + dy * math.cos(t) + cy
    peak_y, peak_x = np.unravel_index(np.argmax(out), out.shape)
    assert abs(peak_x - tx) <= 1 and abs(peak_y - ty) <= 1
    assert out.sum() == pytest.approx(1.0, abs=0.2)  # roughly one pixel of mass


def test_matches_scipy_rotate_order_1_in_the_interior() -> None:
    ndimage = pytest.importorskip("scipy.ndimage")
    img = _chw(40, 52, c=2, seed=3)
    out = image.imrotate(img, 6.0)
    ref = ndimage.rotate(img, 6.0, axes=(2, 1), reshape=False, order=1)
    np.testing.assert_allclose(out[:, 8:-8, 8:-8], ref[:, 8:-8, 8:-8], atol=1e-4)


@settings(max_examples=25, deadline=None)
@given(
    h=st.integers(2, 12),
    w=st.integers(2, 12),
    angle=st.floats(-180, 180),
    a=st.floats(-2, 2),
    b=st.floats(-2, 2),
)
def test_linear_images_are_sampled_exactly_inside(h, w, angle, a, b) -> None:
    """Bilinear sampling of a linear ramp gives the ramp at the rotated point, where inside."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    ramp = (a * yy + b * xx + 5).astype(np.float32)[None]
    out = image.imrotate(ramp, angle)[0]
    t = math.radians(angle)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    dx, dy = xx - cx, yy - cy
    sx = dx * math.cos(t) - dy * math.sin(t) + cx  # the inverse map: where each output reads
    sy = dx * math.sin(t) + dy * math.cos(t) + cy
    inside = (sx >= 0) & (sx <= w - 1) & (sy >= 0) & (sy <= h - 1)
    inside &= (np.ceil(sx) <= w - 1) & (np.ceil(sy) <= h - 1)
    np.testing.assert_allclose(out[inside], (a * sy + b * sx + 5)[inside], atol=1e-3)


def test_outside_is_zero_and_zoom_flags() -> None:
    img = np.ones((1, 20, 30), np.float32)
    plain = image.imrotate(img, 45)[0]
    assert plain[0, 0] == 0 and plain[10, 15] == pytest.approx(1)
    zoomed_in = image.imrotate(img, 45, zoom_in=True)[0]
    # no padding shows (MXNet's factor uses h and w, not h-1 and w-1: the four corner
    # pixels still blend a little with the outside)
    assert zoomed_in.min() > 0.85 and (zoomed_in < 0.999).sum() <= 4
    whole = np.ones((1, 20, 30), np.float32)
    zoomed_out = image.imrotate(whole, 45, zoom_out=True)[0]
    assert zoomed_out.sum() < plain.sum()  # the whole image, shrunk, fits inside
    assert zoomed_out[0, 0] == 0 and zoomed_out[10, 15] == pytest.approx(1)
    # zoom_out shows every source pixel: a marked corner survives the rotation
    corner = np.zeros((1, 20, 30), np.float32)
    corner[0, 0, 0] = 1
    assert image.imrotate(corner, 45, zoom_out=True).sum() > 0.1
    assert image.imrotate(corner, 45).sum() < 1e-6
    with pytest.raises(ValueError, match="cannot be both True"):
        image.imrotate(img, 10, zoom_in=True, zoom_out=True)


def test_batches_shapes_and_errors() -> None:
    batch = np.stack([_chw(8, 10, seed=i) for i in range(3)])
    out = image.imrotate(batch, [0, 90, 180])
    assert out.shape == batch.shape and out.dtype == np.float32
    np.testing.assert_allclose(out[0], batch[0], atol=1e-6)
    np.testing.assert_allclose(out[2], batch[2][:, ::-1, ::-1], atol=1e-5)
    assert image.imrotate(batch, 30).shape == batch.shape
    assert image.random_rotate(batch, (-10, 10)).shape == batch.shape
    assert image.random_rotate(batch[0], (-10, 10)).shape == batch[0].shape
    with pytest.raises(TypeError, match="float32"):
        image.imrotate(batch.astype(np.float64), 10)
    with pytest.raises(TypeError, match="scalar"):
        image.imrotate(batch[0], [10, 20])
    with pytest.raises(ValueError, match="number of images"):
        image.imrotate(batch, [10, 20])
    with pytest.raises(ValueError, match="3D and 4D"):
        image.imrotate(batch[0, 0], 10)


def test_transforms_rotate_and_random_rotation() -> None:
    img = _chw(9, 9)
    np.testing.assert_allclose(
        transforms.Rotate(90)(img), np.rot90(img, 1, axes=(1, 2)), atol=1e-5
    )
    out, label = transforms.Rotate(10)(img, 7)
    assert out.shape == img.shape and label == 7
    with pytest.raises(TypeError, match="after ToTensor"):
        transforms.Rotate(10)(np.zeros((9, 9, 3), np.uint8))
    assert transforms.RandomRotation((-5, 5), rotate_with_proba=0.0)(img) is img
    with pytest.raises(ValueError, match="ordered"):
        transforms.RandomRotation((5, -5))
    with pytest.raises(ValueError, match="between 0 and 1"):
        transforms.RandomRotation((-5, 5), rotate_with_proba=1.5)
    with pytest.raises(ValueError, match="both True"):
        transforms.Rotate(5, zoom_in=True, zoom_out=True)
    pipeline = transforms.Compose([transforms.ToTensor(), transforms.RandomRotation((-20, 20))])
    hwc = (np.random.default_rng(1).random((12, 16, 3)) * 255).astype(np.uint8)
    with sample_context(5, 0, 3):
        first = pipeline(hwc)
    with sample_context(5, 0, 3):
        again = pipeline(hwc)
    np.testing.assert_array_equal(first, again)
    assert first.shape == (3, 12, 16) and first.dtype == np.float32


def test_joint_rotation_turns_image_and_mask_together() -> None:
    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, (11, 11, 3), dtype=np.uint8)
    mask = rng.integers(0, 5, (11, 11), dtype=np.uint8)
    out_img, out_mask = joint.Rotate(90)(img, mask)
    np.testing.assert_array_equal(out_img, np.rot90(img, 1))
    np.testing.assert_array_equal(out_mask, np.rot90(mask, 1))
    assert out_img.dtype == np.uint8
    # 45 degrees: the mask keeps only its own class ids, plus the fill where uncovered
    out_img, out_mask = joint.Rotate(45, mask_fill=255)(img, mask)
    assert set(np.unique(out_mask)) <= set(np.unique(mask)) | {255}
    assert out_mask[0, 0] == 255 and out_img[0, 0].max() == 0
    chw = np.moveaxis(img, -1, 0).astype(np.float32)
    out_chw, _ = joint.Rotate(30)(chw, mask)
    np.testing.assert_allclose(out_chw, image.imrotate(chw, 30))


def test_joint_random_rotation_is_seeded_per_sample() -> None:
    rng = np.random.default_rng(4)
    pairs = [
        (rng.integers(0, 256, (16, 16, 3), dtype=np.uint8), np.full((16, 16), i, np.uint8))
        for i in range(6)
    ]
    ds = SimpleDataset(pairs).transform(joint.RandomRotation((-40, 40), mask_fill=9))
    runs = [
        [b for b in DataLoader(ds, batch_size=3, seed=11, num_workers=n)] for n in (0, 2)
    ]
    for (img_a, mask_a), (img_b, mask_b) in zip(*runs, strict=True):
        np.testing.assert_array_equal(img_a, img_b)
        np.testing.assert_array_equal(mask_a, mask_b)
    masks = np.concatenate([m for _, m in runs[0]])
    for i, m in enumerate(masks):
        assert set(np.unique(m)) <= {i, 9}
    assert (masks == 9).any()  # some angle was far enough from 0 to uncover corners
