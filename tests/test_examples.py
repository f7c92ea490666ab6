"""The scripts under examples/ run and show what they claim."""

import importlib.util
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_large_memmap_iterates_with_flat_memory():
    readings = load("large_memmap").main(["--megabytes", "192", "--epochs", "3"])
    main_mib = [m for m, _ in readings]
    worker_mib = [w for _, w in readings]
    # a batch is 16 x 768 KiB = 12 MiB; the file is 192 MiB
    assert max(main_mib) - min(main_mib) < 12
    assert max(worker_mib) - worker_mib[0] < 12


@pytest.mark.parametrize("model", ["numpy", "torch"])
def test_resume_continues_an_interrupted_run_exactly(tmp_path, model):
    if model == "torch":
        pytest.importorskip("torch", reason="the PyTorch variant needs torch")
    resume = load("resume")
    extra = ["--numpy"] if model == "numpy" else []
    uninterrupted = resume.main(["--workdir", str(tmp_path / "a"), "--samples", "300", *extra])
    interrupted = ["--workdir", str(tmp_path / "b"), "--samples", "300", *extra]
    resume.main([*interrupted, "--stop-after", "15"])  # epoch 1 of 3; checkpoint at step 10
    resumed = resume.main([*interrupted, "--workers", "2"])
    assert (resumed == uninterrupted).all()
