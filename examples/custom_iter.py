"""A custom ``DataIter``, as in MXNet's tutorial, training a small numpy MLP.

The iterator is a user subclass of ``gluondata.io.DataIter`` that defines
``next()``, ``reset()``, ``provide_data`` and ``provide_label`` — the pattern
of MXNet's "Create a custom data iterator" tutorial, unchanged but for the
import. It serves shuffled batches of a 2-D, 3-class spiral; a
``PrefetchingIter`` reads it ahead in a thread, and a two-layer perceptron
written in numpy learns from it for a few epochs. The validation set goes
through an ``NDArrayIter`` whose last batch is padded: ``batch.pad`` says
how many of its examples to ignore.

    python examples/custom_iter.py --epochs 8
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import numpy as np

from gluondata import io

CLASSES = 3


def spiral(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` noisy points on three interleaved spiral arms, and their arm (the class)."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, CLASSES, count)
    radius = rng.uniform(0.1, 1.0, count)
    angle = radius * 4.0 + label * 2 * np.pi / CLASSES + rng.normal(0, 0.15, count)
    points = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    return points.astype(np.float32), label.astype(np.int64)


class SpiralIter(io.DataIter):
    """The tutorial's iterator: ``next``, ``reset``, ``provide_data``, ``provide_label``."""

    def __init__(self, data: np.ndarray, label: np.ndarray, batch_size: int, seed: int) -> None:
        super().__init__(batch_size)
        self._data, self._label = data, label
        self._provide_data = [io.DataDesc("data", (batch_size, data.shape[1]))]
        self._provide_label = [io.DataDesc("softmax_label", (batch_size,), np.int64)]
        self._seed = seed
        self._epoch = 0
        self._order = self._shuffle()
        self.cur_batch = 0

    def _shuffle(self) -> np.ndarray:
        return np.random.default_rng([self._seed, self._epoch]).permutation(len(self._data))

    @property
    def provide_data(self) -> list[io.DataDesc]:
        return self._provide_data

    @property
    def provide_label(self) -> list[io.DataDesc]:
        return self._provide_label

    def reset(self) -> None:
        self._epoch += 1
        self._order = self._shuffle()
        self.cur_batch = 0

    def next(self) -> io.DataBatch:
        start = self.cur_batch * self.batch_size
        if start + self.batch_size > len(self._order):
            raise StopIteration
        self.cur_batch += 1
        rows = self._order[start : start + self.batch_size]
        return io.DataBatch([self._data[rows]], [self._label[rows]])


class MLP:
    """``softmax(relu(x W1 + b1) W2 + b2)``, trained with SGD and momentum."""

    def __init__(self, inputs: int, hidden: int, classes: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.params = [
            rng.normal(0, 1 / np.sqrt(inputs), (inputs, hidden)),
            np.zeros(hidden),
            rng.normal(0, 1 / np.sqrt(hidden), (hidden, classes)),
            np.zeros(classes),
        ]
        self.velocity = [np.zeros_like(p) for p in self.params]

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        w1, b1, w2, b2 = self.params
        hidden = np.maximum(x @ w1 + b1, 0)
        logits = hidden @ w2 + b2
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        return hidden, probs / probs.sum(axis=1, keepdims=True)

    def step(self, x: np.ndarray, y: np.ndarray, lr: float, momentum: float = 0.9) -> float:
        """One SGD step on a batch; return its mean cross-entropy."""
        w2 = self.params[2]
        hidden, probs = self.forward(x)
        loss = -np.log(probs[np.arange(len(y)), y] + 1e-12).mean()
        grad_logits = probs.copy()
        grad_logits[np.arange(len(y)), y] -= 1
        grad_logits /= len(y)
        grad_hidden = (grad_logits @ w2.T) * (hidden > 0)
        grads = [x.T @ grad_hidden, grad_hidden.sum(0), hidden.T @ grad_logits, grad_logits.sum(0)]
        for param, velocity, grad in zip(self.params, self.velocity, grads, strict=True):
            velocity *= momentum
            velocity -= lr * grad
            param += velocity
        return float(loss)


def accuracy(model: MLP, batches: io.DataIter) -> float:
    """Accuracy over an iterator's epoch, leaving out each batch's padding."""
    right = total = 0
    batches.reset()
    for batch in batches:
        keep = len(batch.label[0]) - batch.pad
        predicted = model.forward(batch.data[0][:keep])[1].argmax(axis=1)
        right += int((predicted == batch.label[0][:keep]).sum())
        total += keep
    return right / total


def main(argv: Sequence[str] | None = None) -> list[tuple[float, float]]:
    """Train; return ``(mean loss, validation accuracy)`` per epoch."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--samples", type=int, default=1500)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    train = SpiralIter(*spiral(args.samples, args.seed), args.batch_size, args.seed)
    prefetched = io.PrefetchingIter(train)  # reads the custom iterator ahead in a thread
    val_x, val_y = spiral(args.samples // 3, args.seed + 1)
    validation = io.NDArrayIter(val_x, val_y, batch_size=args.batch_size)
    print(f"training on {prefetched.provide_data} {prefetched.provide_label}")

    model = MLP(2, 64, CLASSES, args.seed)
    history = []
    for epoch in range(args.epochs):
        losses = [model.step(b.data[0], b.label[0], lr=0.1) for b in prefetched]
        prefetched.reset()
        history.append((float(np.mean(losses)), accuracy(model, validation)))
        print(
            f"epoch {epoch + 1}: {len(losses)} batches, loss {history[-1][0]:.3f}, "
            f"validation accuracy {history[-1][1]:.3f}"
        )
    prefetched.close()
    return history


if __name__ == "__main__":
    main()
