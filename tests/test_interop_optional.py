"""gluondata.interop with the optional frameworks: JAX, tf.data, Keras on its other backends.

Each test runs when its framework is installed and skips with the reason otherwise
(``bash benchmarks/setup_interop_venv.sh`` makes a virtualenv where they all run).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import gluondata as gd
from gluondata.interop import to_jax, to_tf


def test_jax_places_batches_ahead_on_the_device():
    jax = pytest.importorskip("jax", reason="jax is not installed (pip install 'gluondata[jax]')")
    pulled = []

    class Recording:
        def __len__(self):
            return 5

        def __iter__(self):
            for i in range(5):
                pulled.append(i)
                yield (np.full((2, 3), i, np.float32), {"label": np.arange(2) + i})

    out = []
    for x, extra in to_jax(Recording(), prefetch=2):
        out.append((len(pulled), float(x[0, 0]), extra["label"].tolist()))
        assert isinstance(x, jax.Array)
    assert out[0][0] == 3  # two batches placed ahead of the first
    assert [o[1] for o in out] == [0, 1, 2, 3, 4]
    assert out[2][2] == [2, 3]
    sharding = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    assert len(list(to_jax(Recording(), sharding=sharding))) == 5
    with pytest.raises(ValueError, match="prefetch"):
        to_jax(Recording(), prefetch=0)


def test_tf_dataset_has_an_exact_signature_and_yields_each_pass():
    tf = pytest.importorskip(
        "tensorflow", reason="tensorflow is not installed (pip install 'gluondata[tensorflow]')"
    )
    samples = [({"a": np.full(3, i, np.float32)}, np.int64(i)) for i in range(10)]
    ds = gd.SimpleDataset(samples)
    loader = gd.DataLoader(ds, batch_size=4, shuffle=True, seed=1, num_workers=2)
    data = to_tf(loader)
    spec = data.element_spec
    assert spec == (
        {"a": tf.TensorSpec((None, 3), tf.float32)},
        tf.TensorSpec((None,), tf.int64),
    )
    passes = [[int(v) for _, y in data for v in y.numpy()] for _ in range(2)]
    assert all(sorted(p) == list(range(10)) for p in passes) and passes[0] != passes[1]
    full = to_tf(gd.DataLoader(ds, batch_size=5))
    assert full.element_spec[1] == tf.TensorSpec((5,), tf.int64)
    pairs = gd.ArrayDataset(np.zeros((6, 2)), np.arange(6))
    columns = to_tf(gd.DataLoader(pairs, batch_size=4, last_batch="discard"))
    expected = (tf.TensorSpec((4, 2), tf.float64), tf.TensorSpec((4,), tf.int64))
    assert columns.element_spec == expected


KERAS_ON_BACKEND = textwrap.dedent(
    """
    import numpy as np, keras, gluondata as gd
    from gluondata.interop import to_keras
    x = np.random.default_rng(0).random((32, 4), dtype=np.float32)
    loader = gd.DataLoader(gd.ArrayDataset(x, (x[:, 0] > 0.5).astype(np.int64)),
                           batch_size=8, shuffle=True, num_workers=2)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    assert len(model.fit(to_keras(loader), epochs=2, verbose=0).history["loss"]) == 2
    assert model.predict(to_keras(loader), verbose=0).shape == (32, 2)
    print("ok", keras.backend.backend())
    """
)


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_keras_on_the_other_backends(backend):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed: Keras on the {backend} backend is not tested")
    env = {**os.environ, "KERAS_BACKEND": backend}
    result = subprocess.run(
        [sys.executable, "-c", KERAS_ON_BACKEND],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"ok {backend}" in result.stdout
