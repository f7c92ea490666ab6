"""gluondata.interop: batches handed to Keras, PyTorch, JAX and tf.data, structure kept."""

from __future__ import annotations

import collections
import os
import sys

import numpy as np
import pytest

os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported anywhere in this process

import gluondata as gd
from gluondata._loader.columns import SampleColumns
from gluondata.interop import to_jax, to_keras, to_tf, to_torch

torch = pytest.importorskip("torch")
keras = pytest.importorskip("keras")

Pair = collections.namedtuple("Pair", ["image", "label"])


def xy_dataset(n=40, features=4):
    rng = np.random.default_rng(0)
    x = rng.random((n, features), dtype=np.float32)
    y = (x.sum(axis=1) > features / 2).astype(np.int64)
    return gd.ArrayDataset(x, y)


def tiny_model(features=4):
    model = keras.Sequential([keras.Input((features,)), keras.layers.Dense(2)])
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def test_keras_fits_evaluates_and_predicts_from_a_loader_with_worker_processes():
    loader = gd.DataLoader(xy_dataset(), batch_size=8, shuffle=True, num_workers=2)
    data = to_keras(loader)
    assert len(data) == 5 and data.workers == 1 and not data.use_multiprocessing
    model = tiny_model()
    history = model.fit(data, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert np.isfinite(model.evaluate(data, verbose=0))
    assert model.predict(data, verbose=0).shape == (40, 2)


def test_keras_sample_weights_reach_the_loss():
    x = np.ones((16, 4), np.float32)
    y = np.zeros(16, np.int64)
    loader = gd.DataLoader(gd.ArrayDataset(x, y, np.zeros(16, np.float32)), batch_size=4)
    assert tiny_model().fit(to_keras(loader), epochs=1, verbose=0).history["loss"] == [0.0]


def test_keras_takes_dict_inputs_by_name():
    rng = np.random.default_rng(1)
    samples = [
        ({"a": rng.random(3, dtype=np.float32), "b": rng.random(2, dtype=np.float32)}, i % 2)
        for i in range(12)
    ]
    loader = gd.DataLoader(gd.SimpleDataset(samples), batch_size=4, num_workers=2)
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    out = keras.layers.Dense(2)(keras.layers.Concatenate()([a, b]))
    model = keras.Model({"a": a, "b": b}, out)
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    assert len(model.fit(to_keras(loader), epochs=1, verbose=0).history["loss"]) == 1
    inputs_only = gd.DataLoader(gd.SimpleDataset([s[0] for s in samples]), batch_size=4)
    assert model.predict(to_keras(inputs_only), verbose=0).shape == (12, 2)


def test_keras_epochs_are_loader_passes_whatever_order_keras_asks_in():
    loader = gd.DataLoader(gd.ArrayDataset(np.arange(12)), batch_size=3, shuffle=True, seed=5)
    data = to_keras(loader)
    peeked = [data[0].tolist(), data[1].tolist()]  # read before an epoch (TF's probe)
    assert [data[0].tolist(), data[1].tolist()] == peeked  # peeking again: the same ones
    epochs = []
    for _ in range(3):
        data.on_epoch_begin()
        epochs.append([data[i].tolist() for i in (3, 0, 2, 1)])  # fit(shuffle=True) order
        data.on_epoch_end()
    assert epochs[0][:2] == peeked  # the peeked batches open the first epoch
    for batches in epochs:
        assert sorted(v for batch in batches for v in batch) == list(range(12))
    # each epoch is the loader's next shuffled pass, in the loader's order
    again = gd.DataLoader(gd.ArrayDataset(np.arange(12)), batch_size=3, shuffle=True, seed=5)
    assert epochs == [[b.tolist() for b in again] for _ in range(3)]
    assert epochs[0] != epochs[1]


def test_keras_loader_set_epoch_resumes_its_order():
    def first_epoch(start):
        loader = gd.DataLoader(gd.ArrayDataset(np.arange(12)), batch_size=3, shuffle=True, seed=5)
        loader.set_epoch(start)
        data = to_keras(loader)
        data.on_epoch_begin()
        return [data[i].tolist() for i in range(4)]

    loader = gd.DataLoader(gd.ArrayDataset(np.arange(12)), batch_size=3, shuffle=True, seed=5)
    passes = [[b.tolist() for b in loader] for _ in range(3)]
    assert first_epoch(2) == passes[2]
    assert first_epoch(0) == passes[0]


def test_torch_tensors_share_the_batch_memory_on_the_cpu():
    batch = np.arange(12, dtype=np.float32).reshape(3, 4)
    labels = np.arange(3)
    loader = gd.DataLoader(
        gd.ArrayDataset(np.zeros(3)), batch_size=3, batchify_fn=lambda samples: (batch, labels)
    )
    x, y = next(iter(to_torch(loader)))
    assert isinstance(x, torch.Tensor) and x.data_ptr() == batch.ctypes.data
    assert y.dtype == torch.int64 and y.tolist() == [0, 1, 2]


def test_torch_tensors_kept_from_worker_slots_stay_valid_after_the_epoch():
    x = np.arange(64 * 256, dtype=np.float32).reshape(64, 256)
    loader = gd.DataLoader(gd.ArrayDataset(x, np.arange(64)), batch_size=4, num_workers=2)
    kept = list(to_torch(loader))
    assert len(kept) == 16
    assert np.array_equal(torch.cat([t[0] for t in kept]).numpy(), x)
    assert torch.cat([t[1] for t in kept]).tolist() == list(range(64))


def test_torch_keeps_namedtuples_dicts_columns_and_leaves_strings():
    samples = [
        {"pair": Pair(np.full(2, i, np.uint8), i), "name": f"s{i}", "w": np.float32(i)}
        for i in range(6)
    ]
    loader = gd.DataLoader(gd.SimpleDataset(samples), batch_size=3, num_workers=2)
    batch = next(iter(to_torch(loader)))
    assert set(batch) == {"pair", "name", "w"}
    assert isinstance(batch["pair"], Pair)
    assert batch["pair"].image.dtype == torch.uint8 and batch["pair"].image.shape == (3, 2)
    assert batch["name"] == ["s0", "s1", "s2"]
    columns = SampleColumns([np.ones((2, 3)), np.arange(2)], as_tuple=True)
    loader = gd.DataLoader(
        gd.ArrayDataset(np.zeros(2)), batch_size=2, batchify_fn=lambda samples: columns
    )
    x, y = next(iter(to_torch(loader)))
    assert x.shape == (2, 3) and y.tolist() == [0, 1]


def test_torch_moves_batches_to_the_device_one_batch_ahead():
    pulled = []

    class Recording:
        def __len__(self):
            return 4

        def __iter__(self):
            for i in range(4):
                pulled.append(i)
                yield np.full(2, i, np.float32)

    seen = []
    for batch in to_torch(Recording(), device="cpu"):
        seen.append((batch.device.type, batch.tolist(), len(pulled)))
    assert seen[0] == ("cpu", [0.0, 0.0], 2)  # batch 1 was already on its way
    assert [s[1][0] for s in seen] == [0, 1, 2, 3]
    with pytest.warns(RuntimeWarning, match="not pinned"):
        pinned = to_torch(Recording(), device="cpu", pin_memory=True)
    assert len(pinned) == 4 and len(list(pinned)) == 4


def test_torch_copies_read_only_and_reversed_arrays():
    frozen = np.arange(4, dtype=np.float32)
    frozen.setflags(write=False)
    tensor = next(iter(to_torch([frozen])))
    assert tensor.tolist() == [0, 1, 2, 3] and tensor.data_ptr() != frozen.ctypes.data
    reversed_view = np.arange(4)[::-1]
    assert next(iter(to_torch([reversed_view]))).tolist() == [3, 2, 1, 0]


def test_a_missing_framework_names_the_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "jax", None)
    monkeypatch.setitem(sys.modules, "tensorflow", None)
    loader = gd.DataLoader(gd.ArrayDataset(np.zeros(4)), batch_size=2)
    with pytest.raises(ImportError, match=r"gluondata\[jax\]"):
        to_jax(loader)
    with pytest.raises(ImportError, match=r"gluondata\[tensorflow\]"):
        to_tf(loader)
