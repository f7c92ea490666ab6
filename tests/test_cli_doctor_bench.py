"""`gluondata doctor` and `gluondata bench`."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from gluondata import _bench, _doctor, cli

_MiB = 2**20


def test_memfd_makes_a_small_dev_shm_harmless_but_says_what_it_means(monkeypatch):
    monkeypatch.setattr(_doctor, "_free_bytes", lambda path: 64 * _MiB)
    finding = _doctor.check_shared_memory(1024 * _MiB, memfd=True)
    assert finding.level == "ok"
    assert "64 MiB free" in finding.detail and "1,024 MiB" in finding.detail
    assert "Bus error" in finding.fix  # why other libraries care


def test_without_memfd_a_temp_folder_smaller_than_the_budget_fails(monkeypatch, tmp_path):
    monkeypatch.setattr(_doctor, "_free_bytes", lambda path: 64 * _MiB)
    finding = _doctor.check_shared_memory(1024 * _MiB, memfd=False, temp_dir=str(tmp_path))
    assert finding.level == "fail"
    assert str(tmp_path) in finding.detail
    assert "shm_budget" in finding.fix and "TMPDIR" in finding.fix
    roomy = _doctor.check_shared_memory(32 * _MiB, memfd=False, temp_dir=str(tmp_path))
    assert roomy.level == "warn"


def test_memory_below_the_budget_warns_and_almost_none_fails():
    assert _doctor.check_memory(100 * _MiB, 10 * _MiB).level == "fail"
    assert _doctor.check_memory(1536 * _MiB, 1024 * _MiB).level == "warn"
    assert _doctor.check_memory(900 * _MiB, 100 * _MiB).level == "warn"
    assert _doctor.check_memory(8192 * _MiB, 1024 * _MiB).level == "ok"


def test_doctor_exits_non_zero_when_a_loader_would_fail(monkeypatch, capsys):
    monkeypatch.setattr(_doctor, "_DECODE_SECONDS", 0.02)
    assert cli.main(["doctor"]) == 0
    out = capsys.readouterr().out
    for check in ("CPUs", "shared memory", "memory", "start method", "image backend pillow"):
        assert check in out
    monkeypatch.setattr(
        _doctor,
        "check_shared_memory",
        lambda budget: _doctor.Finding("shared memory", "fail", "too small", "a fix"),
    )
    assert cli.main(["doctor", "--json"]) == 1
    findings = json.loads(capsys.readouterr().out)
    assert {"check": "shared memory", "level": "fail", "detail": "too small", "fix": "a fix"} in (
        findings
    )


def test_an_opencv_that_does_not_import_fails_the_default_backend_only(monkeypatch):
    from gluondata.image import _backend

    monkeypatch.setattr(_backend, "_opencv_installed", lambda: False)
    monkeypatch.setattr(_backend, "_process_choice", "pillow")
    (finding,) = [f for f in _doctor.check_image_backends(0.01) if "opencv" in f.check]
    assert finding.level == "ok" and "does not import" in finding.detail
    monkeypatch.setattr(_backend, "_process_choice", "opencv")
    (finding,) = [f for f in _doctor.check_image_backends(0.01) if "opencv" in f.check]
    assert finding.level == "fail" and "opencv-python-headless" in finding.fix


def test_doctor_runs_as_a_command():
    done = subprocess.run(
        [sys.executable, "-m", "gluondata", "doctor", "--shm-budget", str(1 << 40)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode in (0, 1), done.stderr
    assert "start method" in done.stdout
    # a terabyte of budget exceeds this machine's memory: the loader would lower it
    assert "[warn] memory" in done.stdout
    assert (done.returncode == 1) == ("[fail]" in done.stdout)


@pytest.fixture
def loader_module(tmp_path, monkeypatch):
    (tmp_path / "my_loaders.py").write_text(
        "import numpy as np\n"
        "from gluondata import ArrayDataset, DataLoader\n"
        "def make():\n"
        "    x = np.arange(4000, dtype=np.float32).reshape(1000, 4)\n"
        "    return DataLoader(ArrayDataset(x), batch_size=50)\n"
        "def not_a_loader():\n"
        "    return 3\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return "my_loaders"


def test_bench_a_module_function_prints_stats_as_json(loader_module, capsys):
    assert cli.main(["bench", f"{loader_module}:make", "--epochs", "2", "--json"]) == 0
    epochs = json.loads(capsys.readouterr().out)
    assert [e["epoch"] for e in epochs] == [0, 1]
    assert all(e["samples"] == 1000 and e["batches"] == 20 for e in epochs)
    assert epochs[-1]["verdict"] in ("input-bound", "balanced", "compute-bound")
    assert set(epochs[-1]["stages"]) == {"getitem", "decode", "transform", "batchify", "handover"}


def test_bench_shows_a_bar_the_table_and_draws_the_plot(loader_module, tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="the plot needs the 'plot' extra (matplotlib)")
    png = tmp_path / "bench.png"
    assert cli.main(["bench", f"{loader_module}:make", "--epochs", "2", "--plot", str(png)]) == 0
    captured = capsys.readouterr()
    assert "samples/s" in captured.err  # the tqdm bar
    assert "verdict:" in captured.out and "getitem" in captured.out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(png) as image:
        assert image.size[0] > 500


def test_bench_an_image_folder_with_the_standard_transforms(tmp_path, capsys):
    rng = np.random.default_rng(1)
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        for i in range(3):
            pixels = rng.integers(0, 256, (64, 80, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / cls / f"{i}.jpg")
    assert (
        cli.main(["bench", str(tmp_path), "--batch-size", "4", "--workers", "0", "--epochs", "1"])
        == 0
    )
    out = capsys.readouterr().out
    assert "6 samples" in out and "decode" in out


def test_bench_refuses_what_is_not_a_loader(loader_module):
    with pytest.raises(SystemExit, match="not a DataLoader"):
        _bench.load_target(f"{loader_module}:not_a_loader")
    with pytest.raises(SystemExit, match="module:function"):
        _bench.load_target("no-such-thing")
