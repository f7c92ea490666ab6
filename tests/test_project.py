"""The project as a user meets it: README tour, demo command, lint."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_readme_tour_runs():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert blocks, "the README has a python tour"
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {"__name__": "readme_tour"})


def test_demo_command_loads_and_reports_a_rate():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gluondata",
            "demo",
            "--samples",
            "40",
            "--size",
            "32",
            "--epochs",
            "2",
            "--batch-size",
            "8",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"80 samples in 2 epochs: [\d,]+ samples/s", result.stdout)


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is in the test extras")
def test_ruff_is_clean():
    result = subprocess.run(["ruff", "check", str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
