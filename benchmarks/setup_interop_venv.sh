#!/usr/bin/env bash
# Create benchmarks/.venv-interop: gluondata (editable, from this checkout) with TensorFlow (CPU),
# Keras 3 and JAX, for what the default test extras leave out:
#   - benchmarks/keras_memory.py (keras.utils.image_dataset_from_directory needs tensorflow);
#   - tests/test_interop_optional.py (to_jax, to_tf, Keras on its tensorflow and jax backends),
#     which skip with a reason where these are missing.
# Usage: bash benchmarks/setup_interop_venv.sh
#        KERAS_BACKEND=tensorflow benchmarks/.venv-interop/bin/python benchmarks/keras_memory.py
#        benchmarks/.venv-interop/bin/python -m pytest -q tests/test_interop_optional.py
# Idempotent: a venv that imports all of them is left alone.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv-interop"
CHECK="import tensorflow, keras, jax, gluondata, psutil, pytest"

if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c "$CHECK" >/dev/null 2>&1; then
    echo "ok: $VENV already set up"
    exit 0
fi
[[ -x "$VENV/bin/python" ]] || "${PYTHON:-python3}" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet "tensorflow-cpu==2.21.0" keras jax psutil pytest hypothesis \
    -e "$HERE/.."
"$VENV/bin/python" -c "$CHECK"
echo "ready: $VENV"
