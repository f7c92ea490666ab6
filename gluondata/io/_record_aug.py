"""The per-image work of ImageRecordIter: MXNet's default augmenter, then CHW normalization.

Order, as in MXNet: decode → resize the shorter edge (``resize``) → either a
random-resized crop (``random_resized_crop``), or an affine transform (random
rotation, shear, scale and aspect ratio, when any is set) → border (``pad``)
→ crop (a random square size in ``[min_crop_size, max_crop_size]``, or
``data_shape``, enlarged first if the image is smaller) → brightness,
contrast and saturation in a random order → PCA lighting noise →
``(pixel - mean) * contrast * scale / std + illumination * scale / std``,
mirrored, written as CHW.

When there is no affine transform or border, the resize and the crop are one
resampling of a box of the source image, and a JPEG is decoded at a reduced
scale when that box is at least twice the output (see :mod:`gluondata.image._fused`);
an RGB JPEG is decoded by libjpeg-turbo (simplejpeg), the vision datasets' fast path.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PIL import Image

from ..image import _geometry as geo
from ..image._augmenters import EIGVAL, EIGVEC
from ..image._backend import use_opencv
from ..image._decode import Encoded, draft, load, open_image, pixels, to_array, turbo_rgb
from ..image._fused import reduction
from ..image._ops import copyMakeBorder
from ..image._resize import crop_resize
from ..random import generator

__all__ = ["RecordImagePipeline"]

_FILTERS = {0: Image.NEAREST, 1: Image.BILINEAR, 2: Image.BICUBIC, 3: Image.BOX, 4: Image.LANCZOS}
_AFFINE_FILTERS = {0: Image.NEAREST, 2: Image.BICUBIC}  # others: bilinear
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)

Box = tuple[float, float, float, float]


class RecordImagePipeline:
    """Turn an encoded image into one normalized ``data_shape`` example.

    Parameters
    ----------
    params : dict
        ImageRecordIter's checked parameters.
    mean_img : numpy.ndarray, optional
        A ``data_shape`` mean image, subtracted instead of ``mean_r/g/b``.
    normalize : bool
        False gives the augmented pixel values as float32 (for computing a mean image).
    """

    def __init__(self, params: dict[str, Any], mean_img: np.ndarray | None, normalize: bool):
        self.channels, self.height, self.width = params["data_shape"]
        self.flag = 0 if self.channels == 1 else 1
        self.p = params
        geo.check_interp(params["inter_method"])
        self.rrc = params["random_resized_crop"]
        self.affine = not self.rrc and (
            params["max_rotate_angle"] > 0
            or params["max_shear_ratio"] > 0
            or params["rotate"] > 0
            or params["max_random_scale"] != 1
            or params["min_random_scale"] != 1
            or params["max_aspect_ratio"] != 0
            or params["min_aspect_ratio"] is not None
            or params["max_img_size"] != 1e10
            or params["min_img_size"] != 0
        )
        self.crop_range = not self.rrc and (
            params["max_crop_size"] != -1 or params["min_crop_size"] != -1
        )
        if self.crop_range and not 0 < params["min_crop_size"] <= params["max_crop_size"]:
            raise ValueError(
                "min_crop_size and max_crop_size must both be set, with "
                f"0 < min_crop_size <= max_crop_size; got {params['min_crop_size']} and "
                f"{params['max_crop_size']}"
            )
        if params["min_aspect_ratio"] is None:
            self.aspect = (1 - params["max_aspect_ratio"], 1 + params["max_aspect_ratio"])
        else:
            self.aspect = (params["min_aspect_ratio"], params["max_aspect_ratio"])
        if not 0 < self.aspect[0] <= self.aspect[1]:
            raise ValueError(
                f"the aspect ratio range {self.aspect} must be positive: without "
                "min_aspect_ratio it is 1 -/+ max_aspect_ratio"
            )
        self.area = (params["min_random_area"], params["max_random_area"])
        self.jitter = [
            name for name in ("brightness", "contrast", "saturation") if params[name] > 0
        ]
        self.normalize = normalize
        self.mean_img = None if mean_img is None else np.asarray(mean_img, dtype=np.float32)
        channels = slice(0, self.channels)
        self.mean = np.array([params[f"mean_{c}"] for c in "rgb"], np.float32)[channels]
        self.std = np.array([params[f"std_{c}"] for c in "rgb"], np.float32)[channels]

    # -- geometry --------------------------------------------------------------------------

    def geometry(self, payload: bytes) -> np.ndarray:
        """Decode and crop/resize to ``(height, width, channels)`` uint8."""
        enc = open_image(payload)
        rng = generator()
        if self.rrc or not (self.affine or self.p["pad"] > 0):
            width, height = enc.size
            resized = self._resized((width, height))
            box = self._crop_box(resized, rng)
            sx, sy = width / resized[0], height / resized[1]
            box = (box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy)
            return self._decode_box(enc, box)
        img = to_array(enc, self.flag, True)
        resized = self._resized((img.shape[1], img.shape[0]))
        if resized != (img.shape[1], img.shape[0]):
            img = self._resample(img, (0, 0, img.shape[1], img.shape[0]), resized)
        if self.affine:
            img = self._warp(img, rng)
        if self.p["pad"] > 0:
            pad = self.p["pad"]
            img = copyMakeBorder(img, pad, pad, pad, pad, 0, self.p["fill_value"])
        box = self._crop_box((img.shape[1], img.shape[0]), rng)
        return self._resample(img, box, (self.width, self.height))

    def _resized(self, size: tuple[int, int]) -> tuple[int, int]:
        if self.p["resize"] > 0:
            return geo.resize_short_size(size, self.p["resize"])
        return size

    def _crop_box(self, size: tuple[int, int], rng: np.random.Generator) -> Box:
        """The box of an image of ``size`` that becomes the output (maybe resampled)."""
        w, h = size
        out_w, out_h = self.width, self.height
        if self.rrc:
            return self._random_area_box(size, rng)
        if self.crop_range:
            side = int(rng.integers(self.p["min_crop_size"], self.p["max_crop_size"] + 1))
            if w < self.p["max_crop_size"] or h < self.p["max_crop_size"]:
                raise ValueError(
                    f"the {w}x{h} image is smaller than max_crop_size ({self.p['max_crop_size']})"
                )
            x, y = self._place(w - side, h - side, rng)
            return x, y, side, side
        grow = max(out_w / w, out_h / h, 1.0)
        big_w, big_h = max(out_w, round(w * grow)), max(out_h, round(h * grow))
        x, y = self._place(big_w - out_w, big_h - out_h, rng)
        fx, fy = w / big_w, h / big_h
        return x * fx, y * fy, out_w * fx, out_h * fy

    def _place(self, room_x: int, room_y: int, rng: np.random.Generator) -> tuple[int, int]:
        if self.p["rand_crop"]:  # y first, as MXNet draws them
            y = int(rng.integers(0, room_y + 1))
            return int(rng.integers(0, room_x + 1)), y
        return room_x // 2, room_y // 2

    def _random_area_box(self, size: tuple[int, int], rng: np.random.Generator) -> Box:
        """MXNet's random-resized crop: 10 tries of a random area and aspect ratio."""
        w, h = size
        for _ in range(10):
            area = rng.uniform(*self.area) * w * h
            ratio = rng.uniform(*self.aspect)
            new_w = round(math.sqrt(area * ratio))
            new_h = round(math.sqrt(area / ratio))
            if 0 < new_w <= w and 0 < new_h <= h:
                x = int(rng.integers(0, w - new_w + 1))
                y = int(rng.integers(0, h - new_h + 1))
                return x, y, new_w, new_h
        return geo.center_box(size, (self.width, self.height))

    def _interp(self, box: Box, out: tuple[int, int]) -> int:
        """The interpolation for resampling ``box`` to ``out`` (9: by direction, 10: random)."""
        return geo.interp_method(self.p["inter_method"], (box[3], box[2], out[1], out[0]))

    def _decode_box(self, enc: Encoded, box: Box) -> np.ndarray:
        """Decode the part of ``enc`` in ``box`` resampled to the output size."""
        x0, y0, w, h = box
        out = (self.width, self.height)
        exact = (w, h) == out and float(x0).is_integer() and float(y0).is_integer()
        scaled = self.p["scaled_decode"] and not exact
        factor = reduction((w, h), out) if scaled else 1
        opencv = _opencv_box(box)
        if enc.img.format != "JPEG" or enc.orientation != 1 or (factor == 1 and opencv):
            return self._resample(to_array(enc, self.flag, True), box, out)
        decoded = turbo_rgb(enc, factor) if self.flag != 0 else None
        if decoded is not None and exact:  # libjpeg-turbo's pixels, cropped without a copy
            return decoded[int(y0) : int(y0) + out[1], int(x0) : int(x0) + out[0]]
        if decoded is not None:
            scale = round(enc.size[0] / decoded.shape[1])
            img = Image.fromarray(decoded)
        else:
            scale = draft(enc, self.flag == 0, factor)
            img = load(enc)
        if img.mode not in ("RGB", "L"):
            img = img.convert("RGB")
        if self.flag == 0 and img.mode != "L":
            img = Image.fromarray(pixels(img, 0, True)[:, :, 0])
        if scale == 1 and opencv:  # a reduction the decoder refused
            return self._resample(pixels(img, self.flag, True), box, out)
        if exact:
            img = img.crop((int(x0), int(y0), int(x0) + out[0], int(y0) + out[1]))
        else:
            region = (x0 / scale, y0 / scale, (x0 + w) / scale, (y0 + h) / scale)
            img = img.resize(out, _FILTERS[self._interp(box, out)], box=region)
        return pixels(img, self.flag, True)

    def _resample(self, img: np.ndarray, box: Box, out: tuple[int, int]) -> np.ndarray:
        """Crop ``box`` of an HWC uint8 array and resize it to ``out`` (a view if no resize)."""
        x0, y0, w, h = box
        if (w, h) == out and float(x0).is_integer() and float(y0).is_integer():
            return img[int(y0) : int(y0) + out[1], int(x0) : int(x0) + out[0]]
        if _opencv_box(box):
            plan = geo.Plan(tuple(int(v) for v in box), out, self._interp(box, out))
            return crop_resize(img, plan)
        pil = Image.fromarray(img[:, :, 0] if img.shape[2] == 1 else img)
        region = (x0, y0, x0 + w, y0 + h)
        resized = np.asarray(pil.resize(out, _FILTERS[self._interp(box, out)], box=region))
        return resized.reshape(out[1], out[0], img.shape[2])

    def _warp(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """MXNet's random affine transform: rotation, shear, scale and aspect ratio."""
        p = self.p
        rows, cols = img.shape[:2]
        shear = rng.uniform(-p["max_shear_ratio"], p["max_shear_ratio"])
        angle = int(rng.integers(-p["max_rotate_angle"], p["max_rotate_angle"] + 1))
        if p["rotate"] > 0:
            angle = p["rotate"]
        a, b = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        scale = rng.uniform(p["min_random_scale"], p["max_random_scale"])
        ratio = rng.uniform(*self.aspect)
        hs = 2 * scale / (1 + ratio)
        ws = ratio * hs
        new_w = int(max(p["min_img_size"], min(p["max_img_size"], scale * cols)))
        new_h = int(max(p["min_img_size"], min(p["max_img_size"], scale * rows)))
        forward = np.array([[hs * a - shear * b * ws, hs * b + shear * a * ws], [-b * ws, a * ws]])
        shift = (np.array([new_w, new_h]) - forward @ np.array([cols, rows])) / 2
        inverse = np.linalg.inv(forward)
        back = -inverse @ shift
        coeffs = (*inverse[0], back[0], *inverse[1], back[1])
        interp = geo.interp_method(p["inter_method"], (rows, cols, new_h, new_w))
        pil = Image.fromarray(img[:, :, 0] if img.shape[2] == 1 else img)
        fill = p["fill_value"] if img.shape[2] == 1 else (p["fill_value"],) * 3
        warped = pil.transform(
            (new_w, new_h),
            Image.AFFINE,
            coeffs,
            _AFFINE_FILTERS.get(interp, Image.BILINEAR),
            fillcolor=fill,
        )
        return np.asarray(warped).reshape(new_h, new_w, img.shape[2])

    # -- colour and output -----------------------------------------------------------------

    def colour(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Brightness, contrast, saturation (random order) and PCA noise; float32 if any."""
        if not self.jitter and not self.p["pca_noise"] > 0:
            return img
        x = img.astype(np.float32)
        for i in rng.permutation(len(self.jitter)):
            name = self.jitter[i]
            alpha = np.float32(1 + rng.uniform(-self.p[name], self.p[name]))
            if name == "brightness":
                x *= alpha
            elif name == "contrast":
                gray = float((x @ _LUMA).mean()) if self.channels == 3 else float(x.mean())
                x = x * alpha + np.float32(gray * (1 - alpha))
            elif self.channels == 3:
                x = x * alpha + (x @ _LUMA)[:, :, None] * (1 - alpha)
            np.clip(x, 0, 255, out=x)
        if self.p["pca_noise"] > 0 and self.channels == 3:
            alpha = rng.normal(0, self.p["pca_noise"], size=3)
            x += ((EIGVEC * alpha) @ EIGVAL).astype(np.float32)
            np.clip(x, 0, 255, out=x)
        return x

    def __call__(self, payload: bytes, out: np.ndarray) -> None:
        """Write the example of ``payload`` into ``out`` (shape ``(C, H, W)``)."""
        rng = generator()
        img = self.colour(self.geometry(payload), rng)
        mirror = self.p["mirror"] or (self.p["rand_mirror"] and rng.random() < 0.5)
        cols = slice(None, None, -1) if mirror else slice(None)
        if not self.normalize:
            for c in range(self.channels):
                out[c] = img[:, cols, c]
            return
        if out.dtype.kind in "iu":
            values = np.rint(img) if img.dtype != np.uint8 else img
            top = 127 if out.dtype == np.int8 else 255
            for c in range(self.channels):
                np.minimum(values[:, cols, c], top, out=out[c], casting="unsafe")
            return
        scale = np.float32(self.p["scale"])
        contrast, illumination = np.float32(1), np.float32(0)
        if self.p["max_random_contrast"] > 0:
            contrast += np.float32(rng.uniform(-1, 1) * self.p["max_random_contrast"])
        if self.p["max_random_illumination"] > 0:
            illumination = np.float32(rng.uniform(-1, 1) * self.p["max_random_illumination"])
        mult = contrast * scale / self.std
        bias = illumination * scale / self.std
        for c in range(self.channels):
            if self.mean_img is None:
                np.subtract(img[:, cols, c], self.mean[c], out=out[c], dtype=np.float32)
            else:
                np.subtract(img[:, :, c], self.mean_img[c], out=out[c][:, cols], dtype=np.float32)
            out[c] *= mult[c]
            if bias[c]:
                out[c] += bias[c]


def _opencv_box(box: Box) -> bool:
    """Whether ``box`` is resampled with OpenCV: the OpenCV backend and whole pixels.

    OpenCV resizes whole-pixel crops; a box with fractional edges (after the
    ``resize`` parameter's rescaling) stays with Pillow's sub-pixel resize.
    """
    return use_opencv() and all(float(v).is_integer() for v in box)
