"""Decode encoded images (JPEG, PNG, ...) to numpy HWC uint8: OpenCV, libjpeg-turbo or Pillow.

The conversions follow MXNet's OpenCV decoder: RGB (or BGR) with alpha
dropped, palette expanded, 16-bit samples cut to their high byte; grayscale
is libjpeg's own luma for JPEG and libpng's integer formula otherwise; EXIF
orientation is applied only to JPEGs whose first segment is not JFIF.

:func:`open_image` parses the header only, so a caller that knows the output
will be small can ask the JPEG decoder for a reduced scale (``Image.draft``)
before the pixels are decoded (see :mod:`gluondata.image._fused`). Under the
default ``"opencv"`` backend, :func:`to_array` decodes colour JPEGs with
``cv2.imdecode`` (the same libjpeg-turbo pixels, without Pillow's copy out of
its 4-byte layout); anything OpenCV cannot decode goes to Pillow, which then
decodes it or raises the error naming its source. Under the Pillow backend,
baseline and progressive RGB JPEGs are decoded by libjpeg-turbo through
``simplejpeg`` (:func:`turbo_rgb`), as are reduced-scale decodes under both:
the same pixels as Pillow's decoder, at every DCT scale, without Pillow's
copy out of its 4-byte layout.
"""

from __future__ import annotations

import io
import os

import numpy as np
import simplejpeg
from PIL import Image, UnidentifiedImageError

from .._stages import timed
from ._backend import opencv, use_opencv

__all__ = [
    "Buffer",
    "Encoded",
    "ImageDecodeError",
    "check_flag",
    "draft",
    "exif_orientation",
    "load",
    "open_image",
    "pixels",
    "raw_array",
    "read_file",
    "to_array",
    "turbo_rgb",
    "unchanged_channels",
]

Buffer = bytes | bytearray | memoryview | np.ndarray

_JFIF_START = b"\xff\xd8\xff\xe0"
_JPEG_END = b"\xff\xd9"
_JFIF_ID = b"JFIF\x00"
_SIXTEEN_BIT = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})
# libpng's rgb_to_gray weights (out of 2**15), which OpenCV's PNG reader uses.
_PNG_GRAY = np.array([9797, 19234, 3737], dtype=np.int32)
# Pillow's Image.transpose operation for each EXIF orientation 2..8.
_ORIENT = {
    2: Image.FLIP_LEFT_RIGHT,
    3: Image.ROTATE_180,
    4: Image.FLIP_TOP_BOTTOM,
    5: Image.TRANSPOSE,
    6: Image.ROTATE_270,
    7: Image.TRANSVERSE,
    8: Image.ROTATE_90,
}


class ImageDecodeError(ValueError):
    """An encoded image that cannot be decoded; the message names its source."""


def check_flag(flag: int) -> int:
    """Return ``flag`` as an int after checking it is 0 (grayscale) or 1 (colour)."""
    if flag not in (0, 1):
        raise ValueError(f"flag must be 0 (grayscale) or 1 (colour), got {flag!r}")
    return int(flag)


def as_bytes(buf: Buffer) -> bytes | bytearray | memoryview:
    """Return ``buf`` as a bytes-like object, rejecting ``str`` like MXNet does."""
    if isinstance(buf, (bytes, bytearray, memoryview)):
        return buf
    if isinstance(buf, np.ndarray):
        if buf.dtype != np.uint8:
            raise ValueError(f"an encoded image array must be uint8, got {buf.dtype}")
        return memoryview(np.ascontiguousarray(buf).reshape(-1))
    raise ValueError(
        "buf must be of type bytes, bytearray or numpy.ndarray, got "
        f"{type(buf).__name__}; if you would like to input type str, please convert to bytes"
    )


def describe(data: bytes | bytearray | memoryview, name: str | None) -> str:
    """Name an encoded image in an error message: its file (if known) and length."""
    size = f"{len(data)} bytes"
    if name is None:
        return f"image buffer ({size}, starting {bytes(data[:8]).hex()})"
    return f"image file {name!r} ({size})"


class Encoded:
    """An image whose header is parsed and whose pixels are not decoded yet.

    Attributes
    ----------
    img : PIL.Image.Image
        The lazily decoding Pillow image.
    source : str
        The file name or buffer description, for error messages.
    orientation : int
        The EXIF orientation to apply after decoding (1: none).
    data : bytes-like
        The encoded bytes.
    """

    __slots__ = ("data", "img", "orientation", "source")

    def __init__(
        self, img: Image.Image, source: str, orientation: int, data: bytes | bytearray | memoryview
    ) -> None:
        self.img = img
        self.source = source
        self.orientation = orientation
        self.data = data

    @property
    def size(self) -> tuple[int, int]:
        """The decoded image's ``(width, height)``, after orientation."""
        w, h = self.img.size
        return (h, w) if self.orientation >= 5 else (w, h)


def open_image(buf: Buffer, name: str | None = None) -> Encoded:
    """Parse an encoded image's header; pixels are decoded later, by :func:`to_array`.

    Parameters
    ----------
    buf : bytes, bytearray, memoryview or numpy.ndarray of uint8
        The encoded image.
    name : str, optional
        The file it came from, for error messages.

    Raises
    ------
    ImageDecodeError
        The data is not an image Pillow can read (empty, unknown format).
    """
    data = as_bytes(buf)
    if len(data) == 0:
        raise ImageDecodeError(f"cannot decode {describe(data, name)}: it is empty")
    try:
        img = Image.open(io.BytesIO(data))
    except UnidentifiedImageError as exc:
        raise ImageDecodeError(
            f"cannot decode {describe(data, name)}: not in an image format Pillow reads"
        ) from exc
    except Exception as exc:  # Pillow raises many types on malformed headers
        if isinstance(exc, MemoryError):
            raise
        raise ImageDecodeError(f"cannot decode {describe(data, name)}: {exc}") from exc
    jfif = bytes(data[:4]) == _JFIF_START and bytes(data[6:11]) == _JFIF_ID
    orientation = 1 if jfif else _exif_orientation(img)
    return Encoded(img, describe(data, name), orientation, data)


def _exif_orientation(img: Image.Image) -> int:
    """Return the EXIF orientation MXNet applies to ``img`` (1 when it ignores it).

    OpenCV's ``imdecode`` applies it to JPEGs, but MXNet's fast path (taken
    when a JPEG starts with a JFIF segment) decodes with the orientation ignored.
    """
    return exif_orientation(img) if img.format == "JPEG" else 1


def orient(img: Image.Image, orientation: int) -> Image.Image:
    """Apply an EXIF orientation (2..8) to a decoded image."""
    return img.transpose(_ORIENT[orientation]) if orientation in _ORIENT else img


def load(enc: Encoded) -> Image.Image:
    """Decode the pixels and orient them; a decoder failure raises :class:`ImageDecodeError`."""
    try:
        enc.img.load()
    except Exception as exc:
        if isinstance(exc, MemoryError):
            raise
        raise ImageDecodeError(f"cannot decode {enc.source}: {exc}") from exc
    return orient(enc.img, enc.orientation)


@timed("decode")
def to_array(enc: Encoded, flag: int = 1, to_rgb: bool = True) -> np.ndarray:
    """Decode and convert to HWC uint8: 3 channels, or 1 if ``flag`` is 0."""
    if flag == 0:
        draft(enc, gray=True, scale=1)
        return _gray(load(enc))[:, :, None]
    if use_opencv():
        decoded = _opencv_color(enc, to_rgb)
        if decoded is not None:
            return decoded
    else:
        decoded = turbo_rgb(enc, 1, to_rgb)
        if decoded is not None:
            return decoded
    return pixels(load(enc), flag, to_rgb)


def turbo_rgb(enc: Encoded, scale: int, to_rgb: bool = True) -> np.ndarray | None:
    """Decode an RGB JPEG at 1/``scale`` with libjpeg-turbo (simplejpeg); None if it does not apply.

    The scale is chosen as Pillow's ``draft`` chooses it (the smallest libjpeg
    scale keeping at least ``size // scale``), so the pixels equal Pillow's.
    Only a complete (end-of-image marker), unrotated RGB JPEG qualifies; any
    other image, and data libjpeg-turbo rejects, go to Pillow, which decodes
    it or raises the error naming its source.
    """
    if not _whole_upright_jpeg(enc, ("RGB",)):
        return None
    w, h = enc.img.size
    try:
        return simplejpeg.decode_jpeg(
            enc.data,
            colorspace="RGB" if to_rgb else "BGR",
            min_width=max(w // scale, 1),
            min_height=max(h // scale, 1),
        )
    except ValueError:
        return None


def _whole_upright_jpeg(enc: Encoded, modes: tuple[str, ...]) -> bool:
    """Whether ``enc`` is a JPEG of one of ``modes``, not EXIF-rotated, ending with its end marker.

    Only such a JPEG goes to a fast decoder: OpenCV 4 fills in a truncated one
    without an error, where Pillow raises naming the file.
    """
    img = enc.img
    return (
        img.format == "JPEG"
        and img.mode in modes
        and enc.orientation == 1
        and bytes(enc.data[-2:]) == _JPEG_END
    )


def _opencv_color(enc: Encoded, to_rgb: bool) -> np.ndarray | None:
    """Decode a colour JPEG with OpenCV; None for other images and for data it rejects."""
    if not _whole_upright_jpeg(enc, ("RGB", "L")):
        return None
    cv2 = opencv()
    data = np.frombuffer(enc.data, dtype=np.uint8)
    rgb_flag = getattr(cv2, "IMREAD_COLOR_RGB", None)  # OpenCV >= 4.11
    flags = cv2.IMREAD_IGNORE_ORIENTATION
    try:
        if to_rgb and rgb_flag is not None:
            return cv2.imdecode(data, flags | rgb_flag)
        decoded = cv2.imdecode(data, flags | cv2.IMREAD_COLOR)
    except cv2.error:  # e.g. over OpenCV's pixel limit: Pillow decodes, or names the file
        return None
    if decoded is None or not to_rgb:
        return decoded
    return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)


def draft(enc: Encoded, gray: bool, scale: int) -> int:
    """Ask a JPEG decoder for a 1/``scale`` size (and luma if ``gray``); return the scale got.

    ``gray`` gives libjpeg's own luma (MXNet's ``flag=0``). ``scale`` is 1, 2,
    4 or 8. Other formats ignore the request and return 1. Call it once, before
    decoding.
    """
    img = enc.img
    if img.format != "JPEG" or img.mode not in ("RGB", "L") or (scale == 1 and not gray):
        return 1
    w, h = img.size
    granted = img.draft("L" if gray else img.mode, (max(w // scale, 1), max(h // scale, 1)))
    return 1 if granted is None else round(w / granted[1][2])


def raw_array(enc: Encoded) -> np.ndarray:
    """Decode to the stored values, unconverted: palette indices, 16-bit, 1- or 3-channel."""
    return np.asarray(load(enc))


def pixels(img: Image.Image, flag: int, to_rgb: bool) -> np.ndarray:
    """Convert a decoded Pillow image to HWC uint8 (3 channels, or 1 if ``flag`` is 0)."""
    if flag == 0:
        return _gray(img)[:, :, None]
    if img.mode in _SIXTEEN_BIT:
        gray = _high_byte(img)
        rgb = np.repeat(gray[:, :, None], 3, axis=2)
    else:
        rgb = np.asarray(img if img.mode == "RGB" else img.convert("RGB"))
    if not to_rgb:
        rgb = np.ascontiguousarray(rgb[:, :, ::-1])
    return rgb


def _gray(img: Image.Image) -> np.ndarray:
    if img.mode == "L":
        return np.asarray(img)
    if img.mode in _SIXTEEN_BIT:
        return _high_byte(img)
    if img.mode in ("LA", "1"):
        return np.asarray(img.convert("L"))
    rgb = np.asarray(img if img.mode == "RGB" else img.convert("RGB"), dtype=np.int32)
    return ((rgb @ _PNG_GRAY) >> 15).astype(np.uint8)


def _high_byte(img: Image.Image) -> np.ndarray:
    values = np.asarray(img).astype(np.int64)
    return np.clip(values >> 8, 0, 255).astype(np.uint8)


def read_file(path: str | os.PathLike[str]) -> bytes:
    """Read an image file's bytes (a missing file raises ``FileNotFoundError``)."""
    with open(path, "rb") as f:
        return f.read()


def exif_orientation(img: Image.Image) -> int:
    """Return the EXIF orientation ``cv2.imread`` applies to an opened image (1: none).

    OpenCV's ``imread`` in colour or gray applies it for any format, JFIF or
    not (what ``im2rec`` stored); :func:`open_image` follows MXNet's
    ``imdecode`` instead. A missing or malformed EXIF block gives 1.
    """
    if "exif" not in img.info:
        return 1
    try:
        orientation = img.getexif().get(0x0112, 1)
    except Exception:  # a malformed EXIF block: OpenCV ignores it too
        return 1
    return orientation if orientation in _ORIENT else 1


def unchanged_channels(img: Image.Image) -> int:
    """Return the channels OpenCV's ``IMREAD_UNCHANGED`` gives an opened image (header only).

    1 for gray of any bit depth; 4 for colour with alpha, which gray with
    alpha and a palette or RGB image with a transparent colour become; 3 otherwise.
    """
    mode = img.mode
    if mode in ("1", "L", "F") or mode in _SIXTEEN_BIT:
        return 1
    if mode in ("LA", "La", "PA", "RGBA", "RGBa"):
        return 4
    return 4 if mode in ("P", "RGB") and "transparency" in img.info else 3
