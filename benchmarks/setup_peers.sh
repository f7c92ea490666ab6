#!/usr/bin/env bash
# Create the peer virtualenvs used by benchmarks/run.py:
#   benchmarks/.venv-torch  - PyTorch 2.13 CPU (local wheel, pinned exactly so pip never pulls CUDA)
#   benchmarks/.venv-mxnet  - MXNet 1.9.1 (needs numpy<1.24 on Python 3.11)
#   benchmarks/.venv-tf     - tensorflow-cpu 2.21.0 (tf.data) with keras
#   benchmarks/.venv-grain  - Grain 0.2.18
#   benchmarks/.venv-spdl   - SPDL 0.8.0 (its FFmpeg image path needs the system's FFmpeg libraries,
#                             installed below from Debian's packages)
# Each also gets psutil, which the runners use to sample memory, and Pillow (the same version as
# gluondata's environment, so every contender decodes JPEGs with the same libjpeg-turbo), which
# the per-sample image code of W3/W4 uses (MXNet's venv has OpenCV, but the shared code is PIL).
# Idempotent: a venv that exists and imports its packages is left alone; one that lacks a package
# gets it installed (pip keeps what is already satisfied). Delete a broken venv to remake it.
#
# What MXNet 1.9.1 needs on Python 3.11 (Debian 12), found when this was written:
# - numpy<1.24: MXNet uses aliases (np.bool, ...) that numpy 1.24 removed.
# - libmxnet.so bundles libgfortran.so.3 and libopenblas, but links the system's libquadmath.so.0
#   and libgomp.so.1 (Debian packages libquadmath0, libgomp1); they are installed below if absent.
#   On the machine this was written on both were already present, so nothing else was needed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3}"
PILLOW="${PILLOW:-pillow==13.0.0}"

# make_venv DIR IMPORT_CHECK PIP_ARGS...
make_venv() {
    local dir="$1" check="$2"
    shift 2
    if [[ -x "$dir/bin/python" ]] && "$dir/bin/python" -c "$check" >/dev/null 2>&1; then
        echo "ok: $dir already set up"
        return
    fi
    if [[ -x "$dir/bin/python" ]]; then
        # e.g. a package added here since the venv was made (psutil): install into it
        echo "updating $dir"
    else
        echo "setting up $dir"
        "$PYTHON" -m venv "$dir"
    fi
    "$dir/bin/python" -m pip install --quiet "$@"
    "$dir/bin/python" -c "$check"
}

make_venv "$HERE/.venv-torch" "import psutil, PIL, torch; print('torch', torch.__version__)" \
    torch==2.13.0 numpy psutil "$PILLOW"

# ensure_system_lib SONAME DEBIAN_PACKAGE
ensure_system_lib() {
    if ! ldconfig -p | grep "$1" >/dev/null; then
        echo "installing $2 (provides $1, needed by libmxnet.so)"
        apt-get update -qq && apt-get install -y -qq "$2"
    fi
}

ensure_system_lib libquadmath.so.0 libquadmath0
ensure_system_lib libgomp.so.1 libgomp1

make_venv "$HERE/.venv-mxnet" "import psutil, PIL, mxnet; print('mxnet', mxnet.__version__)" \
    mxnet==1.9.1 'numpy<1.24' 'opencv-python-headless<4.9' psutil "$PILLOW"

make_venv "$HERE/.venv-tf" "import psutil, PIL, tensorflow as tf, keras; print('tensorflow', tf.__version__)" \
    tensorflow-cpu==2.21.0 keras psutil "$PILLOW"

make_venv "$HERE/.venv-grain" "import psutil, PIL, grain; print('grain ok')" \
    grain==0.2.18 psutil "$PILLOW"

# SPDL's spdl.io decodes images with FFmpeg (libavcodec, libavfilter, ...) loaded at run time from
# the system; Debian 12 ships FFmpeg 5.1 as libav*-dev-free runtime packages.
ensure_ffmpeg() {
    if ! ldconfig -p | grep libavfilter.so >/dev/null; then
        echo "installing FFmpeg's runtime libraries (needed by SPDL's image decoding)"
        apt-get update -qq && apt-get install -y -qq libavcodec59 libavformat59 libavfilter8 \
            libavutil57 libswresample4 libswscale6 libavdevice59
    fi
}
ensure_ffmpeg

make_venv "$HERE/.venv-spdl" "import psutil, PIL, spdl.dataloader; print('spdl ok')" \
    spdl==0.8.0 numpy psutil "$PILLOW"
