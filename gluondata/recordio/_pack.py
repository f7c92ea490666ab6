"""IRHeader and the record payload layout MXNet's image tools use (``pack``/``unpack``).

A packed record is ``struct('<IfQQ')`` (flag, label, id, id2), then ``flag``
float32 labels when the label is an array, then the payload.
"""

from __future__ import annotations

import io
import numbers
import struct
from typing import Any, NamedTuple

import numpy as np

from ._format import RecordIOError

__all__ = ["IRHeader", "encode_image", "pack", "pack_img", "read_header", "unpack", "unpack_img"]

_IR = struct.Struct("<IfQQ")
_IR_SIZE = _IR.size


class IRHeader(NamedTuple):
    """The header of an image record (``mxnet.recordio.IRHeader``).

    Attributes
    ----------
    flag : int
        0 for a scalar label; else the number of float32 labels stored before the payload.
    label : float or numpy.ndarray
        The label (a float32 array when ``flag > 0``).
    id : int
        The record's id (im2rec stores the .lst index).
    id2 : int
        A second id (0 from im2rec).
    """

    flag: int
    label: Any
    id: int
    id2: int


def pack(header: IRHeader | tuple, s: bytes) -> bytes:
    """Pack a header and a payload into one record, byte for byte as MXNet does.

    Parameters
    ----------
    header : IRHeader or 4-tuple
        A number as ``label`` is stored in the header (``flag`` is then
        forced to 0); anything else is taken as an array of float32 labels,
        flattened, written after the header, and ``flag`` becomes its size.
    s : bytes
        The payload.

    Returns
    -------
    bytes
        The record.
    """
    header = IRHeader(*header)
    if not isinstance(s, (bytes, bytearray, memoryview)):
        raise TypeError(f"the payload must be bytes, got {type(s).__name__}")
    if isinstance(header.label, numbers.Number):
        return _IR.pack(0, header.label, header.id, header.id2) + bytes(s)
    label = np.asarray(header.label, dtype=np.float32)
    return _IR.pack(label.size, 0.0, header.id, header.id2) + label.tobytes() + bytes(s)


def read_header(s: bytes) -> IRHeader:
    """Read the IRHeader at the start of a record, as stored (``label`` is the header's float).

    Raises
    ------
    RecordIOError
        The record is shorter than an IRHeader (24 bytes).
    """
    if len(s) < _IR_SIZE:
        raise RecordIOError(
            f"a packed record needs a {_IR_SIZE}-byte IRHeader, this one has {len(s)} bytes"
        )
    return IRHeader(*_IR.unpack_from(s))


def unpack(s: bytes) -> tuple[IRHeader, bytes]:
    """Split a record made by :func:`pack` into its header and payload.

    Parameters
    ----------
    s : bytes
        The record.

    Returns
    -------
    (IRHeader, bytes)
        The header (``label`` is a float, or a read-only float32 array of
        ``flag`` values) and the payload.

    Raises
    ------
    RecordIOError
        The record is too short for its header and labels.
    """
    header = read_header(s)
    if header.flag == 0:
        return header, bytes(s[_IR_SIZE:])
    end = _IR_SIZE + 4 * header.flag
    if end > len(s):
        raise RecordIOError(
            f"the IRHeader announces {header.flag} float32 labels ({4 * header.flag} bytes), "
            f"but only {len(s) - _IR_SIZE} bytes follow it"
        )
    label = np.frombuffer(s, dtype=np.float32, count=header.flag, offset=_IR_SIZE)
    return header._replace(label=label), bytes(s[end:])


def encode_image(img: Any, quality: int = 95, img_fmt: str = ".jpg") -> bytes:
    """Encode a ``PIL.Image`` or an RGB/gray numpy array as MXNet's ``pack_img`` does.

    ``.jpg``/``.jpeg``: JPEG at ``quality``; ``.png``: PNG at compression
    level ``min(quality, 9)`` (OpenCV's reading of the same number); other
    extensions: Pillow's defaults for that format.
    """
    from PIL import Image

    if not isinstance(img, Image.Image):
        img = Image.fromarray(_as_image_array(img))
    ext = img_fmt.lower()
    out = io.BytesIO()
    if ext in (".jpg", ".jpeg"):
        if img.mode not in ("RGB", "L", "CMYK"):
            img = img.convert("RGB")
        img.save(out, "JPEG", quality=int(quality))
    elif ext == ".png":
        img.save(out, "PNG", compress_level=min(int(quality), 9))
    else:
        fmt = Image.registered_extensions().get(ext)
        if fmt is None:
            raise ValueError(f"unknown image format {img_fmt!r}: use '.jpg' or '.png'")
        img.save(out, fmt)
    return out.getvalue()


def _as_image_array(img: Any) -> np.ndarray:
    array = np.asarray(img)
    if array.dtype != np.uint8:
        raise ValueError(f"pack_img needs a uint8 image, got dtype {array.dtype}")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ValueError(
            f"pack_img needs an (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) image, got {array.shape}"
        )
    return np.ascontiguousarray(array)


def pack_img(header: IRHeader | tuple, img: Any, quality: int = 95, img_fmt: str = ".jpg") -> bytes:
    """Encode an image and pack it with a header (``mxnet.recordio.pack_img``).

    Parameters
    ----------
    header : IRHeader or 4-tuple
        See :func:`pack`.
    img : numpy.ndarray
        uint8 pixels, **RGB** ``(H, W, 3)`` (or RGBA, or gray ``(H, W)``).
        MXNet's version took OpenCV's BGR order: reverse the channels
        (``img[:, :, ::-1]``) of arrays prepared for it.
    quality : int, default 95
        JPEG quality (1-100), or PNG compression level (values above 9 mean 9).
    img_fmt : str, default '.jpg'
        ``'.jpg'`` or ``'.png'`` (any extension Pillow can write works).

    Returns
    -------
    bytes
        The record. JPEG bytes equal OpenCV's for the same pixels and quality
        (both use libjpeg-turbo's defaults); PNG bytes differ but decode to
        the same pixels.
    """
    return pack(header, encode_image(img, quality, img_fmt))


def unpack_img(s: bytes, iscolor: int = -1) -> tuple[IRHeader, np.ndarray]:
    """Unpack a record made by :func:`pack_img` and decode its image.

    Parameters
    ----------
    s : bytes
        The record.
    iscolor : {-1, 0, 1}, default -1
        1: colour ``(H, W, 3)``; 0: gray ``(H, W)``; -1: as stored (gray
        images without alpha as ``(H, W)``, the others as colour; alpha is
        dropped).

    Returns
    -------
    (IRHeader, numpy.ndarray)
        The header and the uint8 pixels in **RGB** order (MXNet's version
        returned OpenCV's BGR).
    """
    from ..image._decode import open_image, to_array, unchanged_channels

    header, payload = unpack(s)
    if iscolor not in (-1, 0, 1):
        raise ValueError(f"iscolor must be -1, 0 or 1, got {iscolor!r}")
    encoded = open_image(payload)
    if iscolor == -1:
        iscolor = 0 if unchanged_channels(encoded.img) == 1 else 1
    img = to_array(encoded, iscolor)
    return header, img[:, :, 0] if iscolor == 0 else img
