"""Per-image rotation cost: gluondata's MXNet-style rotation next to Pillow's ``Image.rotate``.

Standalone: ``python benchmarks/rotate.py``. Rotates one 224x224 RGB image (by
17 degrees, or by a new random angle each call), in this process, and prints a
Markdown table of the time per call (best of 5 means of 20 calls). gluondata's rotation computes
MXNet's sampling grid in numpy (bilinear, zero outside); Pillow's runs in C on
uint8 only, with its own pixel-centre and border conventions (so its pixels
differ from MXNet's at the borders).
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


def milliseconds(fn: Callable[[], object], rounds: int = 5, repeat: int = 20) -> float:
    """Wall time of one call of ``fn``: the best of ``rounds`` means (the machine is shared)."""
    fn()
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, (time.perf_counter() - start) / repeat * 1e3)
    return best


def cases() -> dict[str, Callable[[], object]]:
    """The timed calls by name."""
    rng = np.random.default_rng(0)
    hwc = rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    chw = np.ascontiguousarray(np.moveaxis(hwc, -1, 0), dtype=np.float32) / 255
    mask = rng.integers(0, 21, (SIZE, SIZE), dtype=np.uint8)
    pil = Image.fromarray(hwc)
    rotate_pair = joint.Rotate(ANGLE)
    angles = iter(np.random.default_rng(1).uniform(-30, 30, 10**6))
    bilinear = Image.Resampling.BILINEAR
    return {
        "gluondata `image.imrotate`, float32 CHW, a new angle each call (`RandomRotation`)": (
            lambda: image.imrotate(chw, next(angles))
        ),
        "gluondata `image.imrotate`, float32 CHW, a fixed angle (`Rotate`: grid cached)": (
            lambda: image.imrotate(chw, ANGLE)
        ),
        "gluondata `joint.Rotate`, uint8 HWC image + uint8 mask, a fixed angle": (
            lambda: rotate_pair(hwc, mask)
        ),
        "Pillow `Image.rotate(BILINEAR)`, uint8 RGB": lambda: pil.rotate(ANGLE, bilinear),
        "Pillow `Image.rotate(BILINEAR)` + `np.asarray`, uint8 RGB": (
            lambda: np.asarray(pil.rotate(ANGLE, bilinear))
        ),
    }


def main() -> None:
    """Print the time per call of each rotation as a Markdown table."""
    print(f"| rotation of one {SIZE}x{SIZE} RGB image ({ANGLE:g} degrees) | ms per call |")
    print("|---|---|")
    for name, fn in cases().items():
        print(f"| {name} | {milliseconds(fn):.2f} |")


if __name__ == "__main__":
    main()
