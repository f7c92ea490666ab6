"""Resume an interrupted training run mid-epoch, with the loader's state beside the model's.

Every ``--save-every`` steps the run writes one checkpoint: the model's and the optimizer's
state and ``loader.state_dict()`` (a few hundred bytes). Started again with the same
``--workdir``, it loads the checkpoint and continues mid-epoch with exactly the batches (the same
shuffled order, the same random augmentation) the interrupted run would have seen next, whatever
``--workers`` is now. ``--stop-after`` plays the preemption:

    python examples/resume.py --workdir /tmp/run --stop-after 30   # "preempted" at step 30
    python examples/resume.py --workdir /tmp/run --workers 2       # resumes from step 30

With PyTorch installed the model is a ``torch.nn.Linear`` trained by SGD and the checkpoint a
``torch.save`` file; without it, the same linear model in numpy with a JSON checkpoint.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from gluondata import ArrayDataset, DataLoader
from gluondata import random as gdr

FEATURES = 8


def make_dataset(samples: int) -> Any:
    """A regression dataset whose samples get random noise (a random transform)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((samples, FEATURES)).astype(np.float32)
    y = (x @ np.arange(1, FEATURES + 1, dtype=np.float32)).astype(np.float32)

    def jitter(features: np.ndarray, target: np.float32) -> tuple[np.ndarray, np.float32]:
        noise = gdr.generator().normal(0, 0.1, FEATURES).astype(np.float32)  # keyed per sample
        return features + noise, target

    return ArrayDataset(x, y).transform(jitter)


class NumpyModel:
    """A linear model with an SGD step, for when PyTorch is not installed."""

    def __init__(self, learning_rate: float) -> None:
        self.weights = np.zeros(FEATURES)
        self.learning_rate = learning_rate

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        error = x @ self.weights - y
        self.weights -= self.learning_rate * 2 * x.T @ error / len(y)
        return float(np.mean(error**2))

    def save(self, path: Path, loader_state: dict, step: int) -> None:
        state = {"weights": self.weights.tolist(), "loader": loader_state, "step": step}
        path.write_text(json.dumps(state))

    def load(self, path: Path) -> tuple[dict, int]:
        state = json.loads(path.read_text())
        self.weights = np.array(state["weights"])
        return state["loader"], state["step"]

    def final_weights(self) -> np.ndarray:
        return self.weights


class TorchModel:
    """``torch.nn.Linear`` trained by SGD; its checkpoint holds the loader's state too."""

    def __init__(self, learning_rate: float) -> None:
        import torch

        torch.manual_seed(0)
        self.model = torch.nn.Linear(FEATURES, 1, bias=False)
        torch.nn.init.zeros_(self.model.weight)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=learning_rate, momentum=0.9)

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        import torch

        self.optimizer.zero_grad()
        prediction = self.model(torch.from_numpy(x)).squeeze(1)
        loss = torch.nn.functional.mse_loss(prediction, torch.from_numpy(y))
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def save(self, path: Path, loader_state: dict, step: int) -> None:
        import torch

        checkpoint = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "loader": loader_state,
            "step": step,
        }
        torch.save(checkpoint, path)

    def load(self, path: Path) -> tuple[dict, int]:
        import torch

        checkpoint = torch.load(path)
        self.model.load_state_dict(checkpoint["model"])
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        return checkpoint["loader"], checkpoint["step"]

    def final_weights(self) -> np.ndarray:
        return self.model.weight.detach().numpy().ravel().astype(np.float64)


def main(argv: list[str] | None = None) -> np.ndarray:
    """Train (resuming from ``--workdir``'s checkpoint if there is one); return the weights."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--save-every", type=int, default=10)
    parser.add_argument("--stop-after", type=int, help="stop (as if preempted) after this step")
    parser.add_argument("--numpy", action="store_true", help="the numpy model even with PyTorch")
    args = parser.parse_args(argv)

    args.workdir.mkdir(parents=True, exist_ok=True)
    checkpoint = args.workdir / "checkpoint"
    with_torch = not args.numpy and importlib.util.find_spec("torch") is not None
    model = TorchModel(0.01) if with_torch else NumpyModel(0.01)
    loader = DataLoader(
        make_dataset(args.samples),
        batch_size=args.batch_size,
        shuffle=True,
        last_batch="rollover",
        seed=1234,  # a resumed run needs the seed of the run it continues
        num_workers=args.workers,
    )
    step, first_epoch = 0, 0
    if checkpoint.exists():
        loader_state, step = model.load(checkpoint)
        loader.load_state_dict(loader_state)  # the next batch is the one after the checkpoint
        first_epoch = loader_state["epoch"]
        print(f"resumed at step {step}: epoch {first_epoch}, batch {loader_state['batches']}")
    with loader:
        for epoch in range(first_epoch, args.epochs):
            for x, y in loader:
                loss = model.step(x, y)
                step += 1
                if step % args.save_every == 0:
                    partial = checkpoint.with_suffix(".partial")
                    model.save(partial, loader.state_dict(), step)
                    os.replace(partial, checkpoint)  # a kill never leaves half a checkpoint
                if step == args.stop_after:
                    print(f"stopped at step {step} (epoch {epoch}), loss {loss:.4f}")
                    return model.final_weights()
            print(f"epoch {epoch} done at step {step}, loss {loss:.4f}")
    return model.final_weights()


if __name__ == "__main__":
    main()
