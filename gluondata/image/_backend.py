"""Which library decodes and resizes images: OpenCV (the default, MXNet's own) or Pillow.

The backend in force is, first match wins:

1. the one of the object at work — a dataset, ``Compose``, iterator or image
   function given ``backend=`` — which enters :func:`use_backend` around its work;
2. the process-wide choice of :func:`set_backend`;
3. ``GLUONDATA_IMAGE_BACKEND``, read once, as the initial process-wide choice;
4. ``"opencv"``.

Under ``"opencv"`` colour JPEGs decode with ``cv2.imdecode`` and interpolated
resizes use ``cv2.resize`` (no anti-aliasing), as in MXNet; under ``"pillow"``
they use Pillow's anti-aliased filters. OpenCV (``opencv-python-headless``) is
a dependency, so pixels depend on a choice, never on what happens to be
installed. A DataLoader's worker processes start with the main process's
choice, whatever the start method.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
from collections.abc import Iterator
from contextvars import ContextVar
from types import ModuleType

__all__ = [
    "BACKENDS",
    "BACKEND_VARIABLE",
    "DEFAULT_BACKEND",
    "available_backends",
    "check_backend",
    "get_backend",
    "opencv",
    "preload",
    "set_backend",
    "use_backend",
    "use_opencv",
]

BACKENDS = ("pillow", "opencv")
BACKEND_VARIABLE = "GLUONDATA_IMAGE_BACKEND"
DEFAULT_BACKEND = "opencv"
_OPENCV_INSTALL = "pip install opencv-python-headless (a dependency of gluondata)"

_process_choice: str | None = None
_scoped: ContextVar[str | None] = ContextVar("gluondata_image_backend", default=None)


def available_backends() -> list[str]:
    """The backends that can run here: ``"pillow"``, and ``"opencv"`` when ``cv2`` imports."""
    return [name for name in BACKENDS if name == "pillow" or _opencv_installed()]


@functools.cache
def _opencv_installed() -> bool:
    return importlib.util.find_spec("cv2") is not None


def check_backend(name: str, source: str = "image backend") -> str:
    """Return ``name`` if it is a backend that can run here, else raise saying what is installed.

    Raises
    ------
    ValueError
        ``name`` is not one of :data:`BACKENDS`.
    ImportError
        ``name`` is ``"opencv"`` and OpenCV is not installed.
    """
    if name == "pillow" or (name == "opencv" and _opencv_installed()):
        return name
    installed = ", ".join(repr(b) for b in available_backends())
    if name not in BACKENDS:
        raise ValueError(
            f"unknown {source} {name!r}: choose 'pillow' or 'opencv' (installed here: {installed})"
        )
    raise ImportError(
        f"{source} 'opencv' needs OpenCV, which does not import here (installed here: "
        f"{installed}): {_OPENCV_INSTALL}, or choose 'pillow'"
    )


def set_backend(name: str) -> None:
    """Choose the image backend of this process (and of the loaders' workers it starts).

    Parameters
    ----------
    name : {"opencv", "pillow"}
        The library that decodes JPEGs and resizes images.
    """
    global _process_choice
    _process_choice = check_backend(name)


def get_backend() -> str:
    """The backend in force here: the innermost :func:`use_backend`, else the process's."""
    global _process_choice
    scoped = _scoped.get()
    if scoped is not None:
        return scoped
    if _process_choice is None:
        initial = os.environ.get(BACKEND_VARIABLE, DEFAULT_BACKEND)
        _process_choice = check_backend(initial, f"{BACKEND_VARIABLE} value")
    return _process_choice


@contextlib.contextmanager
def use_backend(name: str | None) -> Iterator[None]:
    """Use backend ``name`` in this thread within the block (``None``: leave it as it is)."""
    if name is None:
        yield
        return
    token = _scoped.set(check_backend(name))
    try:
        yield
    finally:
        _scoped.reset(token)


def use_opencv() -> bool:
    """Whether images are decoded and resized with OpenCV here and now."""
    return get_backend() == "opencv"


def preload(name: str | None = None) -> None:
    """Import backend ``name``'s library now (default: the backend in force), if it is installed.

    Image datasets call this as they are made, in the main process: worker
    processes forked from it later share the library's memory instead of
    each loading its own (about 6 MiB a worker for OpenCV).
    """
    if (name or get_backend()) == "opencv" and _opencv_installed():
        opencv()


def opencv() -> ModuleType:
    """Return the ``cv2`` module, or raise an ImportError saying what to install."""
    try:
        import cv2
    except ImportError as err:
        raise ImportError(f"the 'opencv' image backend needs OpenCV: {_OPENCV_INSTALL}") from err
    return cv2
