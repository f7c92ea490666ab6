"""Which library decodes and resizes images: Pillow (the default) or OpenCV (opt-in).

``GLUONDATA_IMAGE_BACKEND=opencv`` (with ``pip install 'gluondata[opencv]'``)
makes colour JPEGs decode with ``cv2.imdecode`` and interpolated resizes use
``cv2.resize`` — MXNet's own libraries. The variable is read at each call, so
set it before the loader starts its workers and every process works the same
way. Pixels then depend on a choice, never on what happens to be installed.
"""

from __future__ import annotations

import os
from types import ModuleType

__all__ = ["BACKEND_VARIABLE", "opencv", "use_opencv"]

BACKEND_VARIABLE = "GLUONDATA_IMAGE_BACKEND"


def use_opencv() -> bool:
    """Whether images are decoded and resized with OpenCV (``GLUONDATA_IMAGE_BACKEND=opencv``)."""
    backend = os.environ.get(BACKEND_VARIABLE, "pillow")
    if backend not in ("pillow", "opencv"):
        raise ValueError(f"{BACKEND_VARIABLE} must be 'pillow' or 'opencv', got {backend!r}")
    return backend == "opencv"


def opencv() -> ModuleType:
    """Return the ``cv2`` module, or raise an ImportError saying what to install."""
    try:
        import cv2
    except ImportError as err:
        raise ImportError(
            f"{BACKEND_VARIABLE}=opencv needs OpenCV: pip install 'gluondata[opencv]'"
        ) from err
    return cv2
