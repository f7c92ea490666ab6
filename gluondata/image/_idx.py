"""The idx-ubyte format of MNIST-style files (gzip or plain): a magic number, the shape, uint8s."""

from __future__ import annotations

import gzip
import struct

import numpy as np

__all__ = ["IDX_IMAGES", "IDX_LABELS", "read_idx"]

IDX_LABELS = 2049  # magic of a 1-D uint8 file
IDX_IMAGES = 2051  # magic of a 3-D uint8 file


def read_idx(path: str, magic: int) -> np.ndarray:
    """Read an idx-ubyte file (gzip or plain): labels (magic 2049) or images (2051)."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            content = f.read()
    except (OSError, EOFError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from exc
    dims = 1 if magic == 2049 else 3
    header = 4 + 4 * dims
    if len(content) < header:
        raise ValueError(f"{path} is too short ({len(content)} bytes) for an idx header")
    found, *shape = struct.unpack(f">{1 + dims}I", content[:header])
    if found != magic:
        raise ValueError(
            f"{path} is not an idx file of the expected kind: magic {found}, expected {magic}"
        )
    expected = int(np.prod(shape))
    if len(content) - header != expected:
        raise ValueError(
            f"{path}: the header promises {expected} bytes of shape {tuple(shape)}, "
            f"the file holds {len(content) - header}"
        )
    return np.frombuffer(content, dtype=np.uint8, offset=header).reshape(shape)
