"""Reduced-scale JPEG decoding (Pillow's ``draft``) against full decode + resize.

For photo-like JPEGs of about 500x375 (quality 90, as in workload W3) it times,
on one core, two ways to get the same output from the encoded bytes:

- full: decode at full size, then crop and resize with Pillow (one pass, same box);
- fused: ``gluondata``'s path (``transforms.X.decode_apply``), which decodes at
  1/2, 1/4 or 1/8 scale when the crop stays at or above the output size;

and, for reference, the unfused array path (``imdecode`` then the transform on
the numpy array, what ``dataset.transform_first`` does with a non-built-in
callable). It reports images/s and the pixel difference between fused and
full (mean and max absolute difference on the 0-255 scale, PSNR), per case.

    python benchmarks/draft_decode.py [--images 200]
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable

import numpy as np
from PIL import Image

from gluondata.image import _decode
from gluondata.image._resize import pil_resize
from gluondata.random import sample_context
from gluondata.vision import transforms as T


def photo(rng: np.random.Generator, w: int, h: int) -> bytes:
    """A photo-like JPEG: smooth gradients, a few shapes, mild noise."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.empty((h, w, 3), np.float32)
    for c in range(3):
        a, b, p = rng.uniform(-1, 1, 3)
        img[:, :, c] = 128 + 60 * np.sin(a * xx / 40 + p) + 50 * np.cos(b * yy / 30)
    for _ in range(6):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(10, 80)
        disc = (xx - cx) ** 2 + (yy - cy) ** 2 < r * r
        img[disc] = rng.uniform(0, 255, 3)
    img += rng.normal(0, 6, img.shape)
    out = io.BytesIO()
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(out, "JPEG", quality=90)
    return out.getvalue()


def full(data: bytes, transform: T.Transform) -> np.ndarray:
    """Decode at full size, then crop and resize once with Pillow (same plan, same filter)."""
    enc = _decode.open_image(data)
    plan = transform.plan(enc.size)
    img = _decode.load(enc).convert("RGB")
    x0, y0, w, h = plan.box
    if plan.size == (w, h):
        return np.asarray(img.crop((x0, y0, x0 + w, y0 + h)))
    return np.asarray(pil_resize(img, plan.size, plan.interp, plan.box))


def fused(data: bytes, transform: T.Transform) -> np.ndarray:
    """Decode and transform in one step (the draft decode at the crop's scale)."""
    return transform.decode_apply(_decode.open_image(data), 1, True)


def array_path(data: bytes, transform: T.Transform) -> np.ndarray:
    """Decode the full image to an array, then transform it."""
    return transform(_decode.to_array(_decode.open_image(data)))


def run(
    images: list[bytes],
    transform: T.Transform,
    fn: Callable[[bytes, T.Transform], np.ndarray],
) -> tuple[float, list[np.ndarray]]:
    """Images per second of ``fn`` over ``images``, and its outputs."""
    outs = []
    start = time.perf_counter()
    for i, data in enumerate(images):
        with sample_context(0, 0, i):  # the same random boxes for both ways
            outs.append(fn(data, transform))
    return len(images) / (time.perf_counter() - start), outs


def main() -> None:
    """Time both ways on synthetic photos; print their speeds and how far apart they are."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    images = [
        photo(rng, int(500 * rng.uniform(0.9, 1.1)), int(375 * rng.uniform(0.9, 1.1)))
        for _ in range(args.images)
    ]
    cases = {
        "RandomResizedCrop(224)": T.RandomResizedCrop(224),
        "Resize(112)": T.Resize(112),
        "Resize(64)": T.Resize(64),
        "RandomResizedCrop(64)": T.RandomResizedCrop(64),
        "CenterCrop(224) (no resize)": T.CenterCrop(224),
    }
    print(
        f"{len(images)} JPEGs ~500x375 q90; one core; images/s "
        "(best of 5 interleaved runs: the machine is shared and noisy)"
    )
    print(
        "| case | array path | full decode + resize | fused (draft) | speed-up vs full | "
        "mean abs diff | max abs diff | PSNR dB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, transform in cases.items():
        rates_array, rates_full, rates_fused = [], [], []
        for _ in range(5):
            rates_array.append(run(images, transform, array_path)[0])
            rate, a = run(images, transform, full)
            rates_full.append(rate)
            rate, b = run(images, transform, fused)
            rates_fused.append(rate)
        diff = np.concatenate(
            [np.abs(x.astype(np.int16) - y).ravel() for x, y in zip(a, b, strict=True)]
        )
        mse = float(np.mean(diff.astype(np.float64) ** 2))
        psnr = float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)
        r, f, g = max(rates_array), max(rates_full), max(rates_fused)
        print(
            f"| {name} | {r:.0f} | {f:.0f} | {g:.0f} | {g / f:.2f}x | {diff.mean():.2f} | "
            f"{diff.max()} | {psnr:.1f} |"
        )


if __name__ == "__main__":
    main()
