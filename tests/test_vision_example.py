"""examples/semantic_segmentation.py runs and learns."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_semantic_segmentation_example_trains():
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "semantic_segmentation.py"),
            "--samples", "24", "--size", "32", "--crop", "24", "--steps", "20", "--workers", "2",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    losses = [float(x) for x in re.findall(r"step \d+: loss ([\d.]+)", result.stdout)]
    assert len(losses) >= 2 and losses[-1] < losses[0] / 2
    accuracy = float(re.search(r"validation pixel accuracy: ([\d.]+)", result.stdout).group(1))
    assert accuracy > 0.8
