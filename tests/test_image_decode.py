"""imdecode / imread: formats, channels, MXNet's conversions, errors that name the input.

Every test runs with both image backends: Pillow, and OpenCV (``image.set_backend``).
"""

import io

import numpy as np
import pytest
from PIL import Image

from gluondata import image
from gluondata.image import ImageDecodeError, _backend


def encode(array, fmt, **kw):
    out = io.BytesIO()
    Image.fromarray(array).save(out, fmt, **kw)
    return out.getvalue()


@pytest.fixture(autouse=True, params=["pillow", "opencv"])
def backend(request, monkeypatch):
    if request.param == "opencv":
        pytest.importorskip("cv2")
    monkeypatch.setattr(_backend, "_process_choice", request.param)
    return request.param


@pytest.fixture
def rgb():
    return np.random.default_rng(0).integers(0, 256, (37, 53, 3), dtype=np.uint8)


@pytest.mark.parametrize("fmt", ["PNG", "BMP", "TIFF"])
def test_lossless_formats_decode_exactly(rgb, fmt):
    out = image.imdecode(encode(rgb, fmt))
    assert out.dtype == np.uint8 and out.shape == (37, 53, 3)
    np.testing.assert_array_equal(out, rgb)


@pytest.mark.parametrize("channels", [3, 1])
def test_jpeg_decodes_like_pillow(rgb, channels):
    data = encode(rgb if channels == 3 else rgb[:, :, 0], "JPEG", quality=90)
    expected = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    np.testing.assert_array_equal(image.imdecode(data), expected)
    np.testing.assert_array_equal(image.imdecode(data, to_rgb=False), expected[:, :, ::-1])


def test_buffer_types_bytes_bytearray_memoryview_ndarray(rgb):
    data = encode(rgb, "PNG")
    for buf in (data, bytearray(data), memoryview(data), np.frombuffer(data, np.uint8)):
        np.testing.assert_array_equal(image.imdecode(buf), rgb)


def test_str_buffer_is_rejected_like_mxnet():
    with pytest.raises(ValueError, match=r"buf must be of type bytes, bytearray or numpy\.ndarray"):
        image.imdecode("not bytes")


def test_to_rgb_false_gives_bgr(rgb):
    np.testing.assert_array_equal(image.imdecode(encode(rgb, "PNG"), to_rgb=False), rgb[:, :, ::-1])


def test_flag_0_png_uses_libpngs_integer_gray(rgb):
    gray = image.imdecode(encode(rgb, "PNG"), flag=0)
    assert gray.shape == (37, 53, 1) and gray.dtype == np.uint8
    expected = (rgb.astype(np.int64) @ np.array([9797, 19234, 3737])) >> 15
    np.testing.assert_array_equal(gray[:, :, 0], expected)


def test_flag_0_jpeg_is_libjpegs_luma(rgb):
    data = encode(rgb, "JPEG", quality=90)
    reference = Image.open(io.BytesIO(data))
    reference.draft("L", reference.size)
    np.testing.assert_array_equal(image.imdecode(data, flag=0)[:, :, 0], np.asarray(reference))


def test_bad_flag_is_rejected(rgb):
    with pytest.raises(ValueError, match="flag"):
        image.imdecode(encode(rgb, "PNG"), flag=-1)


def test_rgba_drops_alpha_without_blending(rgb):
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 7, np.uint8)])
    np.testing.assert_array_equal(image.imdecode(encode(rgba, "PNG")), rgb)


def test_gray_png_gives_three_equal_channels_with_flag_1(rgb):
    out = image.imdecode(encode(rgb[:, :, 0], "PNG"))
    assert out.shape == (37, 53, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[:, :, c], rgb[:, :, 0])


def test_palette_png_is_expanded(rgb):
    palette = Image.fromarray(rgb).quantize(16)
    out = io.BytesIO()
    palette.save(out, "PNG")
    np.testing.assert_array_equal(
        image.imdecode(out.getvalue()), np.asarray(palette.convert("RGB"))
    )


def test_16_bit_png_keeps_the_high_byte():
    values = np.arange(0, 65536, 257 * 3, dtype=np.uint16).reshape(1, -1)
    out = io.BytesIO()
    Image.fromarray(values).save(out, "PNG")
    decoded = image.imdecode(out.getvalue(), flag=0)
    np.testing.assert_array_equal(decoded[0, :, 0], values[0] >> 8)


def exif_jpeg(array, orientation, jfif):
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(array, "JPEG", quality=95, exif=exif.tobytes())
    if not jfif:  # drop the JFIF APP0 segment so that EXIF's APP1 comes first
        assert data[2:4] == b"\xff\xe0"
        length = int.from_bytes(data[4:6], "big")
        data = data[:2] + data[4 + length :]
    return data


def test_exif_orientation_applied_only_without_a_leading_jfif_segment():
    tall = np.zeros((80, 40, 3), np.uint8)
    assert image.imdecode(exif_jpeg(tall, 6, jfif=True)).shape == (80, 40, 3)
    assert image.imdecode(exif_jpeg(tall, 6, jfif=False)).shape == (40, 80, 3)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", r"image buffer \(0 bytes.*empty"),
        (b"hello, world", r"image buffer \(12 bytes, starting 68656c6c.*not in an image format"),
    ],
)
def test_undecodable_buffers_raise_a_value_error_with_the_length(data, message):
    with pytest.raises(ImageDecodeError, match=message):
        image.imdecode(data)
    assert issubclass(ImageDecodeError, ValueError)


@pytest.mark.parametrize(("fmt", "cut"), [("JPEG", 0.5), ("JPEG", -2), ("PNG", 0.5)])
def test_truncated_file_raises_naming_the_file(tmp_path, rgb, fmt, cut):
    path = tmp_path / f"cut.{fmt.lower()}"
    data = encode(rgb, fmt)
    kept = int(len(data) * cut) if cut > 0 else len(data) + cut
    path.write_bytes(data[:kept])
    with pytest.raises(ImageDecodeError, match=rf"'{path}' \({kept} bytes\)"):
        image.imread(path)


def test_imread_matches_imdecode_and_reports_missing_files(tmp_path, rgb):
    path = tmp_path / "a.png"
    path.write_bytes(encode(rgb, "PNG"))
    np.testing.assert_array_equal(image.imread(path), rgb)
    np.testing.assert_array_equal(
        image.imread(str(path), flag=0), image.imdecode(path.read_bytes(), 0)
    )
    with pytest.raises(FileNotFoundError, match=r"missing\.jpg"):
        image.imread(tmp_path / "missing.jpg")
