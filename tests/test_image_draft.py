"""Decode fused with crop/resize: reduced-scale JPEG decoding, same plan as on arrays."""

import io
import math

import numpy as np
import pytest
from PIL import Image

from gluondata.image import _decode, use_backend
from gluondata.image._fused import reduction
from gluondata.image._geometry import Plan
from gluondata.random import sample_context
from gluondata.vision import ImageFolderDataset
from gluondata.vision import transforms as T
from gluondata.vision.transforms._base import fuses_decode


def photo(w=400, h=300, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([128 + 100 * np.sin(xx / (20 + 9 * c) + yy / 31) for c in range(3)], axis=-1)
    img += rng.normal(0, 4, img.shape)
    out = io.BytesIO()
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.fixture
def decoded_sizes(monkeypatch):
    """The (width, height) of each colour JPEG decode, whichever decoder does it."""
    sizes = []
    turbo = _decode.simplejpeg.decode_jpeg

    def spy(*args, **kwargs):
        out = turbo(*args, **kwargs)
        sizes.append((out.shape[1], out.shape[0]))
        return out

    monkeypatch.setattr(_decode.simplejpeg, "decode_jpeg", spy)
    return sizes


def decoded_size(enc, sizes):
    """The size ``enc`` was decoded at: libjpeg-turbo's output, else Pillow's image."""
    return sizes[-1] if sizes else enc.img.size


def array_path(data, transform, flag=1):
    return transform(_decode.to_array(_decode.open_image(data), flag, True))


def fused(data, transform, flag=1):
    return transform.decode_apply(_decode.open_image(data), flag, True)


@pytest.mark.parametrize(
    ("box", "out", "scale"),
    [
        ((500, 375), (64, 64), 4),
        ((448, 448), (224, 224), 2),
        ((447, 448), (224, 224), 1),
        ((2000, 2000), (64, 64), 8),
        ((100, 100), (200, 200), 1),
    ],
)
def test_reduction_is_the_largest_keeping_the_crop_at_or_above_the_output(box, out, scale):
    assert reduction(box, out) == scale


def test_resize_decodes_at_a_reduced_scale_with_a_small_difference(decoded_sizes):
    data = photo()
    enc = _decode.open_image(data)
    out = T.Resize(64).decode_apply(enc, 1, True)
    assert decoded_size(enc, decoded_sizes) == (math.ceil(400 / 4), math.ceil(300 / 4))  # 1/4
    reference = array_path(data, T.Resize(64))
    assert out.shape == reference.shape == (64, 64, 3) and out.dtype == np.uint8
    diff = np.abs(out.astype(int) - reference)
    assert diff.mean() < 2.0


@pytest.mark.parametrize("backend", ["opencv", "pillow"])
def test_scaled_decode_can_be_turned_off_for_the_array_paths_pixels(
    tmp_path, decoded_sizes, backend
):
    (tmp_path / "c").mkdir()
    data = photo()
    (tmp_path / "c" / "0.jpg").write_bytes(data)
    folder = ImageFolderDataset(tmp_path, backend=backend)
    scaled = folder.transform_first(T.Resize(64))[0][0]
    assert decoded_sizes == [(100, 75)]  # 1/4 scale
    exact = folder.transform_first(T.Resize(64), scaled_decode=False)[0][0]
    with use_backend(backend):
        np.testing.assert_array_equal(exact, array_path(data, T.Resize(64)))
    assert not np.array_equal(scaled, exact)


def test_random_resized_crop_draws_the_same_box_fused_or_not():
    data = photo()
    transform = T.RandomResizedCrop(48, scale=(0.2, 1.0))
    for i in range(8):
        with sample_context(1, 0, i):
            a = fused(data, transform)
        with sample_context(1, 0, i):
            b = array_path(data, transform)
        assert a.shape == b.shape == (48, 48, 3)
        assert np.abs(a.astype(int) - b).mean() < 3.0  # a different box would differ by ~50


def test_crop_without_resize_is_exact():
    data = photo()
    np.testing.assert_array_equal(
        fused(data, T.CenterCrop(100)), array_path(data, T.CenterCrop(100))
    )


@pytest.mark.parametrize(
    "transform",
    [T.CropResize(100, 50, 300, 250, size=(200, 180)), T.Resize((450, 320)), T.CenterCrop(350)],
    ids=repr,
)
@pytest.mark.parametrize("flag", [1, 0])
def test_resize_without_reduction_crops_first_and_matches_the_array_path_exactly(transform, flag):
    data = photo()
    np.testing.assert_array_equal(fused(data, transform, flag), array_path(data, transform, flag))


def test_grayscale_fused_decode():
    data = photo()
    out = fused(data, T.Resize((50, 40)), flag=0)
    assert out.shape == (40, 50, 1)
    assert np.abs(out.astype(int) - array_path(data, T.Resize((50, 40)), flag=0)).mean() < 2.0


def test_compose_hands_the_encoded_image_to_its_first_transform(decoded_sizes):
    data = photo()
    compose = T.Compose([T.Resize(32), T.ToTensor()])
    enc = _decode.open_image(data)
    out = compose.decode_apply(enc, 1, True)
    assert out.shape == (3, 32, 32) and out.dtype == np.float32
    assert decoded_size(enc, decoded_sizes)[0] <= 400 // 8 + 1  # decoded at 1/8


class Inverted(T.Resize):
    def forward(self, x):
        return 255 - super().forward(x)


class TopLeftCrop(T.CenterCrop):
    def plan(self, src_size):
        return Plan((0, 0, src_size[0] // 2, src_size[1] // 2), self.size, 1)


def test_only_the_librarys_own_methods_steer_the_decode(decoded_sizes):
    assert fuses_decode(T.Resize(8)) and fuses_decode(T.Compose([T.Resize(8)]))
    assert fuses_decode(TopLeftCrop(8))  # its plan is used on both paths
    assert not fuses_decode(Inverted(8)) and not fuses_decode(lambda x: x)
    data = photo()
    for transform in (
        T.Compose([Inverted(16), T.ToTensor()]),
        T.Compose([T.Compose([Inverted(16)])]),
    ):
        np.testing.assert_array_equal(fused(data, transform), array_path(data, transform))
    enc = _decode.open_image(data)
    out = T.Compose([TopLeftCrop((20, 15))]).decode_apply(enc, 1, True)
    assert decoded_size(enc, decoded_sizes) == (50, 38)  # decoded at 1/8
    assert np.abs(out.astype(int) - array_path(data, TopLeftCrop((20, 15)))).mean() < 3.0


def test_non_jpeg_and_exif_rotated_jpeg_take_the_array_path():
    png = io.BytesIO()
    Image.open(io.BytesIO(photo())).save(png, "PNG")
    data = png.getvalue()
    np.testing.assert_array_equal(fused(data, T.Resize(20)), array_path(data, T.Resize(20)))
    exif = Image.Exif()
    exif[0x0112] = 6
    rotated = io.BytesIO()
    Image.open(io.BytesIO(photo())).save(rotated, "JPEG", exif=exif.tobytes())
    data = rotated.getvalue()
    data = data[:2] + data[4 + int.from_bytes(data[4:6], "big") :]  # drop JFIF: EXIF applies
    out = fused(data, T.Resize((30, 40)))
    assert out.shape == (40, 30, 3)
    np.testing.assert_array_equal(out, array_path(data, T.Resize((30, 40))))


def test_a_box_outside_the_image_is_an_error_on_both_paths():
    data = photo()
    with pytest.raises(ValueError, match="does not fit"):
        fused(data, T.CropResize(390, 0, 20, 20, size=10))
    with pytest.raises(ValueError, match="does not fit"):
        array_path(data, T.CropResize(390, 0, 20, 20, size=10))


@pytest.mark.parametrize("subsampling", [0, 1, 2])
@pytest.mark.parametrize("scale", [1, 2, 4, 8])
def test_libjpeg_turbo_gives_pillows_pixels_at_every_scale(subsampling, scale):
    out = io.BytesIO()
    rng = np.random.default_rng(scale)
    Image.fromarray(rng.integers(0, 256, (77, 101, 3), dtype=np.uint8)).save(
        out, "JPEG", quality=85, subsampling=subsampling
    )
    enc = _decode.open_image(out.getvalue())
    turbo = _decode.turbo_rgb(enc, scale)
    pillow = _decode.open_image(out.getvalue())
    _decode.draft(pillow, gray=False, scale=scale)
    np.testing.assert_array_equal(turbo, np.asarray(_decode.load(pillow)))
    bgr = _decode.turbo_rgb(_decode.open_image(out.getvalue()), scale, to_rgb=False)
    np.testing.assert_array_equal(bgr, turbo[:, :, ::-1])


def test_a_truncated_jpeg_goes_to_pillow_which_names_it():
    enc = _decode.open_image(photo()[:-300], name="cut.jpg")
    assert _decode.turbo_rgb(enc, 1) is None
    with pytest.raises(_decode.ImageDecodeError, match=r"cut\.jpg"):
        _decode.to_array(enc)
