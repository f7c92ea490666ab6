"""ImageRecordIter's parameters: MXNet's names, defaults and groups; checking what is given."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

__all__ = ["PARAMS", "REQUIRED", "Param", "parse_params"]

REQUIRED = object()


class Param(NamedTuple):
    """One parameter: its MXNet name, default, kind and documentation group."""

    name: str
    default: Any
    kind: str
    group: str


def _group(group: str, *specs: tuple[str, Any, str]) -> list[Param]:
    return [Param(name, default, kind, group) for name, default, kind in specs]


PARAMS: list[Param] = [
    *_group(
        "dataset",
        ("path_imgrec", REQUIRED, "str"),
        ("path_imgidx", "", "str"),
        ("path_imglist", "", "str"),
        ("data_shape", REQUIRED, "shape"),
        ("label_width", 1, "int"),
        ("aug_seq", "aug_default", "str"),
    ),
    *_group("batch", ("batch_size", REQUIRED, "int"), ("round_batch", True, "bool")),
    *_group(
        "augmentation",
        ("resize", -1, "int"),
        ("rand_crop", False, "bool"),
        ("random_resized_crop", False, "bool"),
        ("max_rotate_angle", 0, "int"),
        ("rotate", -1, "int"),
        ("max_aspect_ratio", 0.0, "float"),
        ("min_aspect_ratio", None, "optfloat"),
        ("max_shear_ratio", 0.0, "float"),
        ("max_crop_size", -1, "int"),
        ("min_crop_size", -1, "int"),
        ("max_random_scale", 1.0, "float"),
        ("min_random_scale", 1.0, "float"),
        ("max_random_area", 1.0, "float"),
        ("min_random_area", 1.0, "float"),
        ("max_img_size", 1e10, "float"),
        ("min_img_size", 0.0, "float"),
        ("brightness", 0.0, "float"),
        ("contrast", 0.0, "float"),
        ("saturation", 0.0, "float"),
        ("pca_noise", 0.0, "float"),
        ("random_h", 0, "int"),
        ("random_s", 0, "int"),
        ("random_l", 0, "int"),
        ("fill_value", 255, "int"),
        ("inter_method", 1, "int"),
        ("pad", 0, "int"),
        ("seed_aug", None, "optint"),
    ),
    *_group(
        "normalization",
        ("mirror", False, "bool"),
        ("rand_mirror", False, "bool"),
        ("mean_img", "", "str"),
        ("mean_r", 0.0, "float"),
        ("mean_g", 0.0, "float"),
        ("mean_b", 0.0, "float"),
        ("mean_a", 0.0, "float"),
        ("std_r", 1.0, "float"),
        ("std_g", 1.0, "float"),
        ("std_b", 1.0, "float"),
        ("std_a", 1.0, "float"),
        ("scale", 1.0, "float"),
        ("max_random_contrast", 0.0, "float"),
        ("max_random_illumination", 0.0, "float"),
    ),
    *_group(
        "backend",
        ("shuffle", False, "bool"),
        ("seed", 0, "int"),
        ("preprocess_threads", 4, "int"),
        ("prefetch_buffer", 4, "int"),
        ("num_parts", 1, "part"),
        ("part_index", 0, "part"),
        ("shuffle_chunk_size", 0, "int"),
        ("shuffle_chunk_seed", 0, "int"),
        ("device_id", 0, "int"),
        ("ctx", "gpu", "str"),
        ("dtype", None, "dtype"),
        ("thread_pool", False, "bool"),
        ("scaled_decode", True, "bool"),
    ),
    *_group(
        "auxiliary",
        ("data_name", "data", "str"),
        ("label_name", "softmax_label", "str"),
        ("verbose", True, "bool"),
    ),
]

# MXNet parameters gluondata accepts only at their default (they would change nothing).
UNSUPPORTED = {
    "random_h": "HSL colour jitter is not implemented",
    "random_s": "HSL colour jitter is not implemented",
    "random_l": "HSL colour jitter is not implemented",
    "mean_a": "4-channel (RGBA) images are not supported",
    "std_a": "4-channel (RGBA) images are not supported",
    "aug_seq": "only MXNet's default augmenter ('aug_default') exists",
}
DTYPES = (None, "float32", "uint8", "int8")
_BY_NAME = {p.name: p for p in PARAMS}


def describe_params() -> str:
    """The valid parameter names by group, for error messages."""
    groups: dict[str, list[str]] = {}
    for p in PARAMS:
        groups.setdefault(p.group, []).append(p.name)
    return "\n".join(f"  {group}: {', '.join(names)}" for group, names in groups.items())


def parse_params(
    iterator: str, given: Mapping[str, Any], defaults: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Check and convert the keyword arguments of an ImageRecordIter.

    Values may be given as Python values or as strings (MXNet passed every
    value as ``str(value)``).

    Raises
    ------
    TypeError
        For unknown or missing required parameters (the message lists the valid ones).
    ValueError
        For a value of the wrong kind, or an MXNet parameter set to a value
        gluondata does not implement.
    """
    unknown = sorted(set(given) - set(_BY_NAME))
    missing = [p.name for p in PARAMS if p.default is REQUIRED and _absent(given.get(p.name))]
    if unknown or missing:
        problems = []
        if unknown:
            problems.append(f"unknown parameter(s) {', '.join(map(repr, unknown))}")
        if missing:
            problems.append(f"missing required parameter(s) {', '.join(missing)}")
        raise TypeError(
            f"{iterator}: {'; '.join(problems)}. Valid parameters:\n{describe_params()}"
        )
    values = {p.name: p.default for p in PARAMS}
    values.update(defaults or {})
    for name, value in given.items():
        try:
            values[name] = _convert(_BY_NAME[name].kind, value)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{iterator}: parameter {name}={value!r}: {err}") from None
    for name, why in UNSUPPORTED.items():
        if values[name] != _BY_NAME[name].default:
            raise ValueError(f"{iterator}: {name}={values[name]!r} is not supported: {why}")
    return values


def _absent(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value)


def _convert(kind: str, value: Any) -> Any:
    if kind == "str":
        return "" if value is None else str(value)
    if kind == "bool":
        return _to_bool(value)
    if kind in ("int", "optint"):
        if value is None or (kind == "optint" and value in ("None", "")):
            if kind == "int":
                raise ValueError("expected an integer")
            return None
        return _to_int(value)
    if kind in ("float", "optfloat"):
        if value is None or (kind == "optfloat" and value in ("None", "")):
            if kind == "float":
                raise ValueError("expected a number")
            return None
        return float(value)
    if kind == "part":
        return "auto" if isinstance(value, str) and value.strip() == "auto" else _to_int(value)
    if kind == "shape":
        return _to_shape(value)
    if kind == "dtype":
        dtype = None if value in (None, "None") else np.dtype(value).name
        if dtype not in DTYPES:
            raise ValueError(f"expected one of {DTYPES}")
        return dtype
    raise AssertionError(kind)


def _to_bool(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "false", "0"):
        return value.strip().lower() in ("true", "1")
    raise ValueError("expected True or False")


def _to_int(value: Any) -> int:
    if isinstance(value, str):
        value = value.strip()
        return int(float(value)) if float(value).is_integer() else int(value)
    if isinstance(value, (float, np.floating)) and not float(value).is_integer():
        raise ValueError("expected an integer")
    return int(value)


def _to_shape(value: Any) -> tuple[int, ...]:
    if isinstance(value, str):
        text = value.strip().strip("()[]")
        value = [v for v in text.replace(" ", "").split(",") if v]
    return tuple(_to_int(v) for v in value)
