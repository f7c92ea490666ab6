"""examples/keras_fit.py and examples/torch_train.py run and learn."""

import importlib.util
import os
from pathlib import Path

import pytest

os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported anywhere in this process
pytest.importorskip("torch")
pytest.importorskip("keras")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_keras_fit_learns_the_two_colours_with_cached_decodes(capsys):
    history = load("keras_fit").main(["--epochs", "2"])
    assert len(history["loss"]) == 2
    assert history["loss"][-1] < history["loss"][0]
    assert history["accuracy"][-1] > 0.9
    assert "MiB of decoded images cached" in capsys.readouterr().out


def test_torch_train_loss_falls_over_epochs():
    losses = load("torch_train").main(["--epochs", "3", "--device", "cpu"])
    assert len(losses) == 3
    assert losses[-1] < losses[0] / 2
