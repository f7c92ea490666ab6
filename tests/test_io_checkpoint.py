"""mx.io iterators: state_dict / load_state_dict resume mid-epoch with the uninterrupted batches."""

import json

import numpy as np
import pytest
from PIL import Image

from gluondata import io, recordio
from gluondata.image import HorizontalFlipAug


def digest(batch):
    label = b"".join(np.asarray(a).tobytes() for a in batch.label or [])
    return b"".join(np.asarray(a).tobytes() for a in batch.data) + label + bytes([batch.pad or 0])


def run(it, epochs):
    out = []
    for _ in range(epochs):
        out += [digest(batch) for batch in it]
        it.reset()
    return out


def interrupted(make_before, make_after, stop, epochs):
    """Batches of a run stopped after ``stop`` batches, saved, and resumed by a new iterator."""
    it = make_before()
    received, state, epoch = [], None, 0
    for epoch in range(epochs):  # noqa: B007 (the epoch is read after the loop)
        for batch in it:
            received.append(digest(batch))
            if len(received) == stop:
                state = json.loads(json.dumps(it.state_dict()))
                break
        if state is not None:
            break
        it.reset()
    if state is None:
        return received
    close = getattr(it, "close", None)
    if close is not None:
        close()
    resumed = make_after()
    resumed.load_state_dict(state)
    received += run(resumed, epochs - epoch)
    return received


def check_every_stop(make_before, make_after=None, epochs=3):
    reference = run(make_before(), epochs)
    for stop in range(1, len(reference) + 1):
        got = interrupted(make_before, make_after or make_before, stop, epochs)
        assert got == reference, f"resumed after {stop} batches"


DATA = np.arange(13 * 3, dtype=np.float32).reshape(13, 3)
LABEL = np.arange(13, dtype=np.float32)


@pytest.mark.parametrize("handle", ["pad", "discard", "roll_over"])
@pytest.mark.parametrize("shuffle", [False, True])
def test_ndarray_iter_resumes(handle, shuffle):
    def make():
        return io.NDArrayIter(
            DATA, LABEL, batch_size=4, shuffle=shuffle, last_batch_handle=handle, seed=5
        )

    check_every_stop(make)


def test_ndarray_iter_refuses_what_it_cannot_resume():
    unseeded = io.NDArrayIter(DATA, LABEL, batch_size=4, shuffle=True)
    with pytest.raises(ValueError, match=r"NDArrayIter.*seed="):
        unseeded.state_dict()
    state = io.NDArrayIter(DATA, LABEL, batch_size=4).state_dict()
    with pytest.raises(ValueError, match="'batch_size'"):
        io.NDArrayIter(DATA, LABEL, batch_size=5).load_state_dict(state)
    with pytest.raises(ValueError, match="'num_data'"):
        io.NDArrayIter(DATA[:12], LABEL[:12], batch_size=4).load_state_dict(state)
    with pytest.raises(ValueError, match="'version'"):
        io.NDArrayIter(DATA, LABEL, batch_size=4).load_state_dict({**state, "version": 9})
    with pytest.raises(ValueError, match="'format'"):
        io.NDArrayIter(DATA, LABEL, batch_size=4).load_state_dict({**state, "format": "other"})


def test_wrappers_resume():
    def resized():
        inner = io.NDArrayIter(DATA, LABEL, batch_size=4, shuffle=True, seed=2)
        return io.ResizeIter(inner, 5)

    check_every_stop(resized)

    def prefetching():
        return io.PrefetchingIter(
            [
                io.NDArrayIter(DATA, LABEL, batch_size=4, shuffle=True, seed=2),
                io.NDArrayIter(DATA * 2, batch_size=4, shuffle=True, seed=2),
            ]
        )

    check_every_stop(prefetching)


def test_wrappers_name_an_inner_iterator_without_state():
    class Plain(io.DataIter):
        def next(self):
            raise StopIteration

    with pytest.raises(TypeError, match="Plain has no state_dict"):
        io.ResizeIter(Plain(4), 2).state_dict()
    prefetching = io.PrefetchingIter(Plain(4))
    with pytest.raises(TypeError, match="Plain has no state_dict"):
        prefetching.state_dict()
    prefetching.close()


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """11 distinct PNGs (8x10) listed in a .lst with label i, and packed in an indexed .rec."""
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    lines = []
    with recordio.MXIndexedRecordIO(str(root / "s.idx"), str(root / "s.rec"), "w") as writer:
        for i in range(11):
            img = rng.integers(0, 255, (8, 10, 3), dtype=np.uint8)
            Image.fromarray(img).save(root / f"img{i}.png")
            lines.append(f"{i}\t{float(i)}\timg{i}.png\n")
            writer.write_idx(i, recordio.pack_img((0, float(i), i, 0), img, img_fmt=".png"))
    (root / "s.lst").write_text("".join(lines))
    return root


@pytest.mark.parametrize("handle", ["pad", "discard", "roll_over"])
def test_image_iter_resumes_with_augmentation(images, handle):
    def make():
        return io.ImageIter(
            3,
            (3, 8, 10),
            path_imglist=str(images / "s.lst"),
            path_root=str(images),
            shuffle=True,
            seed=4,
            last_batch_handle=handle,
            aug_list=[HorizontalFlipAug(0.5)],
        )

    check_every_stop(make)
    with pytest.raises(ValueError, match="'seed'"):
        other = io.ImageIter(
            3,
            (3, 8, 10),
            path_imglist=str(images / "s.lst"),
            shuffle=True,
            seed=5,
            last_batch_handle=handle,
        )
        other.load_state_dict(make().state_dict())


@pytest.mark.parametrize("round_batch", [True, False])
def test_image_record_iter_resumes_with_any_worker_count(images, round_batch):
    def make(threads):
        return io.ImageRecordIter(
            path_imgrec=str(images / "s.rec"),
            path_imgidx=str(images / "s.idx"),
            data_shape=(3, 8, 10),
            batch_size=4,
            shuffle=True,
            rand_mirror=True,
            seed=3,
            round_batch=round_batch,
            preprocess_threads=threads,
            thread_pool=True,
            verbose=False,
        )

    check_every_stop(lambda: make(0), lambda: make(2))
    state = make(0).state_dict()
    with pytest.raises(ValueError, match="'batch_size'"):
        io.ImageRecordIter(
            path_imgrec=str(images / "s.rec"), data_shape=(3, 8, 10), batch_size=3, verbose=False
        ).load_state_dict(state)


@pytest.mark.parametrize("round_batch", [True, False])
def test_csv_iter_resumes_from_a_byte_offset(tmp_path, monkeypatch, round_batch):
    from gluondata.io import _csv

    monkeypatch.setattr(_csv, "CHUNK_BYTES", 40)  # many chunks, lines cut across them
    (tmp_path / "data").mkdir()
    rows = [f"{i},{i * 0.5},{-i}\n" for i in range(23)]
    (tmp_path / "data" / "a.csv").write_text("".join(rows[:15]))
    (tmp_path / "data" / "b.csv").write_text("".join(rows[15:]))
    (tmp_path / "label.csv").write_text("".join(f"{i % 3}\n" for i in range(23)))

    def make():
        return io.CSVIter(
            data_csv=str(tmp_path / "data"),
            data_shape=(3,),
            label_csv=str(tmp_path / "label.csv"),
            batch_size=5,
            round_batch=round_batch,
        )

    check_every_stop(make)
    it = make()
    for _ in range(4):
        it.next()
    data_position = it.state_dict()["reader"]["data"]
    assert data_position["file"] == 1 and data_position["offset"] > 0
