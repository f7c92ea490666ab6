"""``gluondata doctor``: check this machine for data loading; print findings and fixes.

Each check gives a :class:`Finding`: ``ok``, ``warn`` (slower than it could
be) or ``fail`` (a loader would fail here). The command exits with 1 when
any finding fails.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from ._loader.pool.executor import _DEFAULT_BUDGET_FRACTION, _MAX_DEFAULT_BUDGET
from ._loader.pool.shm import available_memory
from ._loader.stats import usable_cpus

__all__ = ["Finding", "add_arguments", "check_memory", "check_shared_memory", "diagnose", "run"]

_MiB = 2**20
_LOW_MEMORY = 1 << 30
_TOO_LITTLE_MEMORY = 256 * _MiB
_DECODE_SECONDS = 0.3  # time spent decoding the sample image, per backend


@dataclass(frozen=True)
class Finding:
    """One check's result: ``level`` is ``'ok'``, ``'warn'`` or ``'fail'``."""

    check: str
    level: str
    detail: str
    fix: str = ""


def check_cpus() -> Finding:
    """Usable CPUs (affinity within the cgroup quota) against the machine's."""
    usable, total = usable_cpus(), os.cpu_count() or 1
    detail = f"{usable} usable of {total} (affinity and cgroup CPU quota)"
    if usable == 1:
        return Finding(
            "CPUs",
            "warn",
            detail,
            "with one CPU, workers only take turns with the training loop: num_workers=0, "
            "or thread_pool=True for I/O-bound datasets",
        )
    if usable < total:
        return Finding(
            "CPUs", "ok", detail, f"num_workers above {usable} will not add speed ('auto' knows)"
        )
    return Finding("CPUs", "ok", detail)


def default_budget(available: int | None) -> int:
    """The DataLoader's default shared-memory budget given the available memory."""
    if available is None:
        return _MAX_DEFAULT_BUDGET // _DEFAULT_BUDGET_FRACTION
    return min(available // _DEFAULT_BUDGET_FRACTION, _MAX_DEFAULT_BUDGET)


def check_shared_memory(
    budget: int,
    shm_path: str = "/dev/shm",
    memfd: bool | None = None,
    temp_dir: str | None = None,
) -> Finding:
    """Where worker processes put batches, and whether ``budget`` bytes fit there.

    gluondata's batches live in memfd blocks, which have no size limit of their
    own (``/dev/shm``'s size matters only to other libraries); without memfd they
    live in files in the temp folder, which must hold the budget.
    """
    memfd = hasattr(os, "memfd_create") if memfd is None else memfd
    shm_free = _free_bytes(shm_path)
    shm_text = "absent" if shm_free is None else f"{shm_free / _MiB:,.0f} MiB free"
    if memfd:
        detail = (
            f"budget {budget / _MiB:,.0f} MiB in memfd blocks (no size limit of their own); "
            f"{shm_path}: {shm_text}"
        )
        if shm_free is not None and shm_free < budget:
            return Finding(
                "shared memory",
                "ok",
                detail,
                f"{shm_path} is smaller than the budget: no matter to gluondata, but PyTorch's "
                "DataLoader would fail with a Bus error (docker: --shm-size)",
            )
        return Finding("shared memory", "ok", detail)
    temp_dir = temp_dir or tempfile.gettempdir()
    temp_free = _free_bytes(temp_dir) or 0
    detail = (
        f"no memfd: batches go to files in {temp_dir} ({temp_free / _MiB:,.0f} MiB free), "
        f"budget {budget / _MiB:,.0f} MiB"
    )
    if temp_free < budget:
        return Finding(
            "shared memory",
            "fail",
            detail,
            f"free space in {temp_dir} (or set TMPDIR to a larger tmpfs) or lower "
            f"DataLoader(shm_budget=...) below {temp_free / _MiB:,.0f} MiB",
        )
    return Finding("shared memory", "warn", detail, "memfd (Linux >= 3.17) is faster")


def check_memory(available: int | None, budget: int) -> Finding:
    """Free memory against the shared-memory budget."""
    if available is None:
        return Finding("memory", "warn", "available memory unknown (no /proc/meminfo)")
    detail = f"{available / _MiB:,.0f} MiB available, shm budget {budget / _MiB:,.0f} MiB"
    if available < _TOO_LITTLE_MEMORY:
        return Finding(
            "memory",
            "fail",
            detail,
            "worker processes would be killed for lack of memory: free memory first",
        )
    if available < 2 * budget:
        return Finding(
            "memory",
            "warn",
            detail,
            "a loader uses at most half of the available memory for batches, less than this "
            "budget: lower DataLoader(shm_budget=...) or prefetch to fit",
        )
    if available < _LOW_MEMORY:
        return Finding(
            "memory", "warn", detail, "little memory left: fewer workers or a smaller prefetch"
        )
    return Finding("memory", "ok", detail)


def check_start_method(start_method: str | None = None) -> Finding:
    """Start one worker process with the given method and load a batch through it."""
    import multiprocess

    from .dataloader import DataLoader
    from .dataset import ArrayDataset

    method = start_method or multiprocess.get_start_method()
    began = time.perf_counter()
    try:
        with DataLoader(
            ArrayDataset(np.arange(8, dtype=np.float32)),
            batch_size=4,
            num_workers=1,
            start_method=start_method,
            timeout=30,
        ) as loader:
            batches = [batch.sum() for batch in loader]
    except Exception as exc:
        return Finding(
            "start method",
            "fail",
            f"{method}: a worker process could not load a batch ({type(exc).__name__}: {exc})",
            "try DataLoader(start_method='spawn') or thread_pool=True",
        )
    detail = (
        f"{method}: a worker loaded {len(batches)} batches in {time.perf_counter() - began:.2f} s"
    )
    if method != "fork":
        return Finding(
            "start method",
            "ok",
            detail,
            "workers re-import the dataset's module at start: keep the loader's setup under "
            "if __name__ == '__main__'",
        )
    return Finding("start method", "ok", detail)


def check_image_backends(seconds: float = _DECODE_SECONDS) -> list[Finding]:
    """Each image backend's speed decoding a generated 500x375 photo-like JPEG and resizing it
    to 224x224; a failure when the default backend (OpenCV) does not import."""
    from .image import available_backends, get_backend, imdecode, imresize
    from .image._backend import BACKENDS

    sample = _sample_jpeg()
    findings = []
    speeds = {}
    for backend in BACKENDS:
        if backend not in available_backends():
            findings.append(
                Finding(
                    f"image backend {backend}",
                    "fail" if backend == get_backend() else "ok",
                    "does not import",
                    "pip install opencv-python-headless (a dependency of gluondata), or "
                    "gluondata.image.set_backend('pillow')",
                )
            )
            continue
        speeds[backend] = _rate(
            lambda b=backend: imresize(imdecode(sample, backend=b), 224, 224, backend=b), seconds
        )
        findings.append(
            Finding(
                f"image backend {backend}",
                "ok",
                f"decodes a 500x375 JPEG and resizes it to 224x224 at {speeds[backend]:,.0f} "
                "images/s on one core",
            )
        )
    in_force = get_backend()
    if len(speeds) > 1 and max(speeds, key=speeds.__getitem__) != in_force:
        fastest = max(speeds, key=speeds.__getitem__)
        findings.append(
            Finding(
                "image backends",
                "ok",
                f"fastest here: {fastest} (in force: {in_force})",
                f"gluondata.image.set_backend({fastest!r}) or GLUONDATA_IMAGE_BACKEND={fastest}",
            )
        )
    return findings


def diagnose(
    shm_budget: int | None = None,
    start_method: str | None = None,
    decode_seconds: float = _DECODE_SECONDS,
) -> list[Finding]:
    """Run every check; ``shm_budget`` as given to the DataLoader (None: its default)."""
    available = available_memory()
    budget = default_budget(available) if shm_budget is None else shm_budget
    return [
        check_cpus(),
        check_shared_memory(budget),
        check_memory(available, budget),
        check_start_method(start_method),
        *check_image_backends(decode_seconds),
    ]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``gluondata doctor`` options."""
    parser.add_argument(
        "--shm-budget", type=int, default=None, help="bytes, as DataLoader(shm_budget=...)"
    )
    parser.add_argument("--start-method", choices=("fork", "spawn", "forkserver"), default=None)
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")


def run(args: argparse.Namespace) -> int:
    """Print the findings; 1 if one would make a loader fail."""
    findings = diagnose(args.shm_budget, args.start_method, _DECODE_SECONDS)
    if args.json:
        print(json.dumps([asdict(f) for f in findings], indent=2))
    else:
        print(format_findings(findings))
    return 1 if any(f.level == "fail" for f in findings) else 0


def format_findings(findings: list[Finding]) -> str:
    """One line per finding, its fix indented under it."""
    width = max(len(f.check) for f in findings)
    lines = []
    for f in findings:
        lines.append(f"[{f.level:>4}] {f.check:<{width}}  {f.detail}")
        if f.fix:
            lines.append(f"       {'':<{width}}  -> {f.fix}")
    failed = sum(f.level == "fail" for f in findings)
    lines.append(
        f"{failed} finding(s) would make a loader fail"
        if failed
        else "nothing would make a loader fail"
    )
    return "\n".join(lines)


def _free_bytes(path: str) -> int | None:
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


def _rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls of ``fn`` per second over about ``seconds``."""
    fn()  # warm-up
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        fn()
        count += 1
    return count / elapsed


def _sample_jpeg(width: int = 500, height: int = 375) -> bytes:
    """A photo-like JPEG (gradients and mild noise, quality 90), made here."""
    from PIL import Image

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.stack(
        [128 + 60 * np.sin(xx / (30 + 10 * c)) + 50 * np.cos(yy / (25 + 5 * c)) for c in range(3)],
        axis=-1,
    )
    img += rng.normal(0, 10, img.shape)
    out = io.BytesIO()
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(out, "JPEG", quality=90)
    return out.getvalue()
