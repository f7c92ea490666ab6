"""MXNet's NDArray file format (``mx.nd.save``/``mx.nd.load``), used for mean images."""

import numpy as np
import pytest

from gluondata.io._ndfile import load_ndarrays, save_ndarrays

# mx.nd.save("m3.bin", [mx.nd.ones((2,))]) with MXNet 1.9.1: a list, no names
MXNET_LIST = bytes.fromhex(
    "1201000000000000" "0000000000000000" "0100000000000000" "c9fa93f900000000"
    "01000000" "0200000000000000" "01000000" "00000000" "00000000"
    "0000803f" "0000803f" "0000000000000000"
)  # fmt: skip


def test_reads_an_mxnet_list_file(tmp_path):
    (tmp_path / "m3.bin").write_bytes(MXNET_LIST)
    (array,) = load_ndarrays(tmp_path / "m3.bin")
    assert array.dtype == np.float32 and array.tolist() == [1.0, 1.0]


def test_named_arrays_round_trip_in_every_type(tmp_path):
    arrays = {
        name: np.arange(6, dtype=dtype).reshape(2, 3)
        for name, dtype in [("f32", np.float32), ("f64", np.float64), ("f16", np.float16),
                            ("u8", np.uint8), ("i32", np.int32), ("i8", np.int8), ("i64", np.int64)]
    }  # fmt: skip
    save_ndarrays(tmp_path / "all.bin", arrays)
    loaded = load_ndarrays(tmp_path / "all.bin")
    assert list(loaded) == list(arrays)
    for name, array in arrays.items():
        assert loaded[name].dtype == array.dtype and (loaded[name] == array).all()


def test_errors_name_the_file_and_offset(tmp_path):
    (tmp_path / "bad.bin").write_bytes(b"\x00" * 24)
    with pytest.raises(ValueError, match=r"bad.bin: at byte offset 0: expected the NDArray list"):
        load_ndarrays(tmp_path / "bad.bin")
    (tmp_path / "cut.bin").write_bytes(MXNET_LIST[:40])
    with pytest.raises(
        ValueError, match=r"cut.bin: at byte offset 36: expected 8 more bytes.*truncated"
    ):
        load_ndarrays(tmp_path / "cut.bin")
    with pytest.raises(TypeError, match="cannot hold bool"):
        save_ndarrays(tmp_path / "b.bin", {"b": np.zeros(2, bool)})
