"""Per-image JPEG decode cost of the candidate decoders, and their difference from Pillow.

Standalone: ``python benchmarks/image_path.py``. Makes one photo-like ~500x375
quality-90 JPEG (the W3 shape), times each decoder on it in this process, and
reports the mean absolute difference of its pixels from Pillow's exact decode.
Decoders whose package is not installed are skipped.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable

import numpy as np
from PIL import Image


def sample_jpeg(width: int = 500, height: int = 375, quality: int = 90) -> bytes:
    """A gradient-plus-noise RGB JPEG like the W3 images."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 / width, y * 255 / height, (x + y) * 255 / (width + height)], -1)
    rgb = np.clip(rgb + rng.normal(0, 6, rgb.shape), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def milliseconds(fn: Callable[[], object], repeat: int = 300) -> float:
    """Mean wall time of one call of ``fn``, after one warm-up call."""
    fn()
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat * 1e3


def decoders(data: bytes) -> dict[str, Callable[[], np.ndarray]]:
    """Full-size RGB decoders of ``data`` by name, for the packages installed."""
    found: dict[str, Callable[[], np.ndarray]] = {
        "pillow": lambda: np.asarray(Image.open(io.BytesIO(data)).convert("RGB")),
    }
    try:
        import simplejpeg
    except ImportError:
        pass
    else:
        found["simplejpeg"] = lambda: simplejpeg.decode_jpeg(data)
        found["simplejpeg fastdct+fastupsample"] = lambda: simplejpeg.decode_jpeg(
            data, fastdct=True, fastupsample=True
        )
    try:
        import cv2
    except ImportError:
        pass
    else:
        encoded = np.frombuffer(data, np.uint8)
        found["opencv"] = lambda: cv2.imdecode(encoded, cv2.IMREAD_COLOR)[:, :, ::-1]
    return found


def main() -> None:
    """Print each decoder's time and its mean absolute difference from Pillow's pixels."""
    data = sample_jpeg()
    exact = decoders(data)["pillow"]().astype(np.int16)
    print(f"{len(data)} byte JPEG, {exact.shape[1]}x{exact.shape[0]}")
    for name, fn in decoders(data).items():
        mad = float(np.abs(fn().astype(np.int16) - exact).mean())
        print(f"{name:34s} {milliseconds(fn):6.2f} ms  MAD vs Pillow {mad:.3f}")


if __name__ == "__main__":
    main()
