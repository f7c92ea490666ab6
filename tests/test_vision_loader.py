"""Vision pipelines in a DataLoader: same batches for any worker count, batched reads, errors."""

import shutil

import numpy as np
import pytest
from PIL import Image

from gluondata import DataLoader, RecordFileDataset, recordio
from gluondata.image import ImageDecodeError, imdecode, use_backend
from gluondata.vision import (
    EncodedImageDataset,
    ImageFolderDataset,
    ImageRecordDataset,
    SegmentationDataset,
)
from gluondata.vision import transforms as T
from gluondata.vision.transforms import joint

MODES = [
    {"num_workers": 0},
    {"num_workers": 2, "thread_pool": True},
    {"num_workers": 2},
]


def batches(dataset, **kwargs):
    with DataLoader(dataset, batch_size=4, shuffle=True, seed=11, **kwargs) as loader:
        return [[np.array(field) for field in batch] for epoch in range(2) for batch in loader]


def assert_same(runs):
    first = runs[0]
    for other in runs[1:]:
        assert len(other) == len(first)
        for a, b in zip(first, other, strict=True):
            for x, y in zip(a, b, strict=True):
                np.testing.assert_array_equal(x, y)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("folder")
    rng = np.random.default_rng(0)
    for cls in ("cat", "dog"):
        (root / cls).mkdir()
        for i in range(5):
            array = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
            Image.fromarray(array).save(root / cls / f"{i}.jpg", quality=90)
    return root


def test_image_folder_pipeline_is_worker_count_independent(folder):
    pipeline = T.Compose(
        [
            T.RandomResizedCrop(16),
            T.RandomFlipLeftRight(),
            T.RandomColorJitter(0.3, 0.3, 0.3, 0.1),
            T.ToTensor(),
            T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
        ]
    )
    dataset = ImageFolderDataset(folder).transform_first(pipeline)
    runs = [batches(dataset, **mode) for mode in MODES]
    assert runs[0][0][0].shape == (4, 3, 16, 16) and runs[0][0][0].dtype == np.float32
    assert_same(runs)
    # The two epochs differ (the epoch is part of the key).
    assert not np.array_equal(runs[0][0][0], runs[0][3][0])


def test_segmentation_pipeline_is_worker_count_independent(tmp_path):
    for name in ("training/imgs", "training/masks"):
        (tmp_path / name).mkdir(parents=True)
    rng = np.random.default_rng(1)
    for i in range(8):
        np.save(tmp_path / f"training/imgs/{i}.npy", rng.random((3, 20, 20), dtype=np.float32))
        np.save(tmp_path / f"training/masks/{i}-mask.npy", rng.integers(0, 3, (20, 20), np.uint8))
    dataset = SegmentationDataset(
        tmp_path,
        transform=joint.Compose([joint.RandomResizedCrop(12), joint.RandomFlipTopBottom()]),
        norm=lambda img: (img - 0.5) / 0.25,
        mask_dtype=np.float32,
    )
    runs = [batches(dataset, **mode) for mode in MODES]
    assert runs[0][0][0].shape == (4, 3, 12, 12) and runs[0][0][1].shape == (4, 12, 12)
    assert_same(runs)


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    root = tmp_path_factory.mktemp("records")
    rng = np.random.default_rng(2)
    writer = recordio.MXIndexedRecordIO(str(root / "images.idx"), str(root / "images.rec"), "w")
    for i in range(12):
        coarse = Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8))
        pixels = np.asarray(coarse.resize((160, 120), Image.BICUBIC))
        writer.write_idx(i, recordio.pack_img((0, float(i % 3), i, 0), pixels, quality=90))
    writer.close()
    return root / "images.rec"


PIPELINE = T.Compose([T.RandomResizedCrop(16), T.RandomFlipLeftRight(), T.ToTensor()])


def test_image_record_pipeline_is_worker_count_independent(records):
    dataset = ImageRecordDataset(records).transform_first(PIPELINE)
    runs = [batches(dataset, **mode) for mode in MODES]
    assert runs[0][0][0].shape == (4, 3, 16, 16)
    assert_same(runs)


def test_image_record_dataset_fuses_the_decode_and_reads_a_batch_in_one_request(records):
    dataset = ImageRecordDataset(records)
    assert isinstance(dataset, EncodedImageDataset) and isinstance(dataset, RecordFileDataset)
    data, name, label = dataset.encoded(5)
    assert name == f"{records}@{dataset._record.idx[5]}" and label == 2.0
    resized, label = dataset.transform_first(T.Resize(20))[5]
    assert resized.shape == (20, 20, 3) and label == 2.0
    # Decoded at 1/4 (not the same pixels as resizing the full decode), close to Pillow's
    # anti-aliased resize of it (OpenCV's bilinear shrink by 4 skips pixels: not a reference).
    with use_backend("pillow"):
        reference = T.Resize(20)(imdecode(data))
        _check_fused_batches_match_the_plain_path(dataset)
    assert 0 < np.abs(resized.astype(int) - reference).mean() < 3


def _check_fused_batches_match_the_plain_path(dataset: ImageRecordDataset) -> None:
    """Fused and plain batches draw the same boxes and flips (compared under Pillow, whose
    anti-aliased resize of a full decode is close to a reduced-scale decode)."""
    reads = []
    read_many = dataset._record.read_idx_many
    dataset._record.read_idx_many = lambda keys: reads.append(list(keys)) or read_many(keys)
    dataset._record.read_idx = None  # never one record at a time
    with DataLoader(dataset.transform_first(PIPELINE), batch_size=4, seed=1) as loader:
        fused = [np.array(batch[0]) for batch in loader]
    assert reads == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    with DataLoader(dataset.transform_first(lambda x: PIPELINE(x)), batch_size=4, seed=1) as loader:
        plain = [np.array(batch[0]) for batch in loader]
    for a, b in zip(fused, plain, strict=True):  # the same random boxes and flips
        assert np.abs(a - b).mean() < 0.02


def test_a_record_that_does_not_decode_names_file_sample_key_and_offset(records, tmp_path):
    for name in ("images.rec", "images.idx"):
        shutil.copy(records.parent / name, tmp_path / name)
    dataset = ImageRecordDataset(tmp_path / "images.rec")
    offset = dataset._record.idx[2]
    with open(tmp_path / "images.rec", "r+b") as f:
        f.seek(offset + 8 + 24)  # the RecordIO and IRHeader headers, then the JPEG
        f.write(b"GIF?")
    dataset = ImageRecordDataset(tmp_path / "images.rec")
    where = rf"images\.rec: sample 2 \(key 2, byte offset {offset}\)"
    for source in (dataset, dataset.transform_first(T.Resize(8))):
        with pytest.raises(recordio.RecordIOError, match=where) as info:
            source[2]
        assert isinstance(info.value, ImageDecodeError)
        with pytest.raises(ImageDecodeError, match=where) as info:
            list(DataLoader(source, batch_size=4))
        assert any("dataset index 2" in note for note in info.value.__notes__)
    assert dataset[3][0].shape == (120, 160, 3)


def test_a_transform_error_in_a_record_batch_names_the_dataset_index(records):
    def transform(img, label):
        if label == 1.0:
            raise RuntimeError("bad label")
        return img, label

    with pytest.raises(RuntimeError, match="bad label") as info:
        list(DataLoader(ImageRecordDataset(records, transform=transform), batch_size=4))
    assert any("dataset index 1" in note for note in info.value.__notes__)
