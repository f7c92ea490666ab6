"""Vision pipelines in a DataLoader: the same batches for any worker count under a seed."""

import numpy as np
import pytest
from PIL import Image

from gluondata import DataLoader
from gluondata.vision import ImageFolderDataset, SegmentationDataset
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
