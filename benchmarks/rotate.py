"""Per-image rotation cost: gluondata's MXNet-style rotation next to Pillow's ``Image.rotate``.

Standalone: ``python benchmarks/rotate.py``. Rotates one 224x224 RGB image by
17 degrees, in this process, and prints a Markdown table of the mean time per
call. gluondata's rotation computes MXNet's sampling grid in numpy (bilinear,
zero outside); Pillow's runs in C on uint8 only, with its own pixel-centre and
border conventions (so its pixels differ from MXNet's at the borders).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from PIL import Image

from gluondata import image
from gluondata.vision.transforms import joint

ANGLE = 17.0
SIZE = 224


def milliseconds(fn: Callable[[], object], repeat: int = 100) -> float:
    """Mean wall time of one call of ``fn``, after one warm-up call."""
    fn()
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat * 1e3


def cases() -> dict[str, Callable[[], object]]:
    """The timed calls by name."""
    rng = np.random.default_rng(0)
    hwc = rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    chw = np.ascontiguousarray(np.moveaxis(hwc, -1, 0), dtype=np.float32) / 255
    mask = rng.integers(0, 21, (SIZE, SIZE), dtype=np.uint8)
    pil = Image.fromarray(hwc)
    rotate_pair = joint.Rotate(ANGLE)
    return {
        "gluondata `image.imrotate`, float32 CHW (= `transforms.Rotate`)": lambda: image.imrotate(
            chw, ANGLE
        ),
        "gluondata `joint.Rotate`, uint8 HWC image + uint8 mask": lambda: rotate_pair(hwc, mask),
        "Pillow `Image.rotate(BILINEAR)`, uint8 RGB": lambda: pil.rotate(
            ANGLE, Image.Resampling.BILINEAR
        ),
        "Pillow `Image.rotate(BILINEAR)` + `np.asarray`, uint8 RGB": lambda: np.asarray(
            pil.rotate(ANGLE, Image.Resampling.BILINEAR)
        ),
    }


def main() -> None:
    print(f"| rotation of one {SIZE}x{SIZE} RGB image by {ANGLE:g} degrees | ms per call |")
    print("|---|---|")
    for name, fn in cases().items():
        print(f"| {name} | {milliseconds(fn):.2f} |")


if __name__ == "__main__":
    main()
