"""MXNet's NDArray file format (``mx.nd.save`` / ``mx.nd.load``), for mean images.

The layout MXNet 1.x writes (all little-endian): ``u64 0x112``, ``u64 0``,
``u64 count``; per array ``u32 0xF993FAC9`` (the V2 magic), ``i32`` storage
type (0: dense), ``u32 ndim`` and ``i64`` dims, ``i32`` device type and id,
``i32`` type flag, then the raw data; finally ``u64`` name count and each name
as ``u64 length`` + bytes.
"""

from __future__ import annotations

import os
import struct

import numpy as np

__all__ = ["load_ndarrays", "save_ndarrays"]

_LIST_MAGIC = 0x112
_V2_MAGIC = 0xF993FAC9
_V3_MAGIC = 0xF993FACA
_TYPES = {
    0: np.float32,
    1: np.float64,
    2: np.float16,
    3: np.uint8,
    4: np.int32,
    5: np.int8,
    6: np.int64,
}
_FLAGS = {np.dtype(t): flag for flag, t in _TYPES.items()}


def save_ndarrays(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> None:
    """Write named arrays in MXNet's NDArray file format (readable by ``mx.nd.load``)."""
    parts = [struct.pack("<QQQ", _LIST_MAGIC, 0, len(arrays))]
    for array in arrays.values():
        array = np.ascontiguousarray(array)
        if array.dtype not in _FLAGS:
            raise TypeError(f"MXNet's NDArray format cannot hold {array.dtype} arrays")
        parts.append(struct.pack("<Ii", _V2_MAGIC, 0))
        parts.append(struct.pack(f"<I{array.ndim}q", array.ndim, *array.shape))
        parts.append(struct.pack("<iii", 1, 0, _FLAGS[array.dtype]))
        parts.append(array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes())
    parts.append(struct.pack("<Q", len(arrays)))
    for name in arrays:
        encoded = name.encode("utf-8")
        parts.append(struct.pack("<Q", len(encoded)) + encoded)
    with open(path, "wb") as f:
        f.write(b"".join(parts))


def load_ndarrays(path: str | os.PathLike) -> dict[str, np.ndarray] | list[np.ndarray]:
    """Read a file written by ``mx.nd.save``: a dict if it has names, else a list.

    Raises
    ------
    ValueError
        The file is not in the format (naming the file and byte offset).
    """
    name = os.fspath(path)
    with open(name, "rb") as f:
        data = f.read()
    reader = _Reader(data, name)
    magic, _, count = reader.unpack("<QQQ")
    if magic != _LIST_MAGIC:
        reader.fail(0, f"the NDArray list magic 0x{_LIST_MAGIC:x}, found 0x{magic:x}")
    arrays = [reader.array() for _ in range(count)]
    if reader.at == len(data):
        return arrays
    (named,) = reader.unpack("<Q")
    names = []
    for _ in range(named):
        (length,) = reader.unpack("<Q")
        names.append(reader.take(length).decode("utf-8"))
    if not names:
        return arrays
    if len(names) != len(arrays):
        reader.fail(reader.at, f"{len(arrays)} names, found {len(names)}")
    return dict(zip(names, arrays, strict=True))


class _Reader:
    def __init__(self, data: bytes, name: str) -> None:
        self.data, self.name, self.at = data, name, 0

    def fail(self, at: int, expected: str) -> None:
        raise ValueError(f"{self.name}: at byte offset {at}: expected {expected}")

    def take(self, size: int) -> bytes:
        if self.at + size > len(self.data):
            self.fail(self.at, f"{size} more bytes, but the file ends (truncated?)")
        chunk = self.data[self.at : self.at + size]
        self.at += size
        return chunk

    def unpack(self, fmt: str) -> tuple[int, ...]:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))

    def array(self) -> np.ndarray:
        start = self.at
        magic, storage = self.unpack("<Ii")
        if magic not in (_V2_MAGIC, _V3_MAGIC):
            self.fail(start, f"an NDArray (magic 0x{_V2_MAGIC:x}), found 0x{magic:x}")
        if storage != 0:
            self.fail(start, f"a dense NDArray (storage type 0), found storage type {storage}")
        (ndim,) = self.unpack("<I")
        shape = self.unpack(f"<{ndim}q")
        if ndim == 0:
            return np.zeros(0, np.float32)
        self.unpack("<ii")  # the device it was saved from
        (flag,) = self.unpack("<i")
        if flag not in _TYPES:
            self.fail(self.at - 4, f"a known type flag (0-6), found {flag}")
        dtype = np.dtype(_TYPES[flag]).newbyteorder("<")
        count = int(np.prod(shape, dtype=np.int64))
        values = np.frombuffer(self.take(count * dtype.itemsize), dtype=dtype)
        return values.astype(dtype.newbyteorder("="), copy=True).reshape(shape)
