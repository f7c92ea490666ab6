"""examples/custom_iter.py and examples/recordio_images.py run and show what they claim."""

import importlib.util
import re
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_custom_iter_trains_a_small_mlp(capsys):
    history = load("custom_iter").main(["--epochs", "4", "--samples", "900"])
    losses = [loss for loss, _ in history]
    assert losses[-1] < losses[0] / 2
    assert history[-1][1] > 0.9
    out = capsys.readouterr().out
    assert "epoch 4: 28 batches" in out and "validation accuracy" in out


def test_recordio_images_packs_and_reads_back(capsys, tmp_path):
    load("recordio_images").main(["--per-class", "6", "--workers", "2", "--keep", str(tmp_path)])
    out = capsys.readouterr().out
    assert (tmp_path / "shapes.rec").exists() and (tmp_path / "shapes.idx").exists()
    assert "wrote 18 records" in out
    assert "DataLoader: 18 images, batch shapes [(2, 3, 40, 40), (16, 3, 40, 40)]" in out
    assert "per class [6 6 6]" in out
    assert re.search(r"ImageRecordIter epoch 0: 2 batches, pads \[0, 14\]", out)
    assert "data (16, 3, 32, 32) float32" in out
    assert "part 0 of 2: 9 records" in out and "part 1 of 2: 9 records" in out
    assert "the parts cover every record exactly once: True" in out
