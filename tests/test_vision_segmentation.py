"""SegmentationDataset: pairing by name, layouts, formats, and errors that name the files."""

import numpy as np
import pytest
from PIL import Image

from gluondata import StringArray
from gluondata.random import sample_context
from gluondata.vision import SegmentationDataset
from gluondata.vision.transforms import joint


def write_pairs(folder, names, size=12, chw=True):
    (folder / "imgs").mkdir(parents=True, exist_ok=True)
    (folder / "masks").mkdir(parents=True, exist_ok=True)
    for k, name in enumerate(names):
        mask = (np.arange(size * size).reshape(size, size) % (k + 2)).astype(np.uint8)
        img = np.stack([mask * 10.0 + c for c in range(3)]).astype(np.float32)
        np.save(folder / "imgs" / f"{name}.npy", img if chw else img.transpose(1, 2, 0))
        np.save(folder / "masks" / f"{name}-mask.npy", mask)


def test_pairs_by_name_not_position(tmp_path):
    folder = tmp_path / "training"
    write_pairs(folder, ["b", "a", "c"])
    dataset = SegmentationDataset(tmp_path)
    assert len(dataset) == 3
    assert [dataset.files(i)[0].rsplit("/", 1)[1] for i in range(3)] == ["a.npy", "b.npy", "c.npy"]
    for i in range(3):
        img, mask = dataset[i]
        assert img.dtype == np.float32 and img.shape == (3, 12, 12) and mask.dtype == np.uint8
        np.testing.assert_array_equal(img[0], mask * 10.0)
    assert isinstance(dataset._images, StringArray)


@pytest.mark.parametrize(("mode", "folder"), [("val", "validation"), ("test", "test")])
def test_modes_and_root_mode(tmp_path, mode, folder):
    write_pairs(tmp_path / folder, ["x"])
    assert len(SegmentationDataset(tmp_path, mode=mode)) == 1
    write_pairs(tmp_path / "flat", ["x", "y"])
    assert len(SegmentationDataset(tmp_path / "flat", mode=None)) == 2


def test_unpaired_files_are_reported_by_name(tmp_path):
    folder = tmp_path / "training"
    write_pairs(folder, ["a", "b"])
    np.save(folder / "imgs" / "lonely.npy", np.zeros((3, 12, 12), np.float32))
    np.save(folder / "masks" / "orphan-mask.npy", np.zeros((12, 12), np.uint8))
    np.save(folder / "masks" / "a.npy", np.zeros((12, 12), np.uint8))  # lacks the suffix
    with pytest.raises(ValueError, match=r"lonely\.npy.*orphan-mask\.npy, a\.npy"):
        SegmentationDataset(tmp_path)
    with pytest.warns(UserWarning, match="skipping unpaired files"):
        dataset = SegmentationDataset(tmp_path, unpaired="skip")
    assert len(dataset) == 2


def test_mismatched_mask_shape_names_both_files(tmp_path):
    folder = tmp_path / "training"
    write_pairs(folder, ["a"])
    np.save(folder / "masks" / "a-mask.npy", np.zeros((12, 11), np.uint8))
    with pytest.raises(ValueError, match=r"imgs/a\.npy has shape .* mask .*a-mask\.npy has shape"):
        SegmentationDataset(tmp_path)[0]


def test_corrupt_npy_names_the_file(tmp_path):
    folder = tmp_path / "training"
    write_pairs(folder, ["a"])
    (folder / "imgs" / "a.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(ValueError, match=r"cannot load .*imgs/a\.npy"):
        SegmentationDataset(tmp_path)[0]
    np.save(folder / "imgs" / "a.npy", np.array([{"x": 1}], dtype=object))
    with pytest.raises(ValueError, match=r"imgs/a\.npy"):  # never unpickles
        SegmentationDataset(tmp_path)[0]


def test_joint_transform_then_float_then_norm_on_hwc_images(tmp_path):
    write_pairs(tmp_path / "training", ["a", "b"], size=16, chw=False)
    calls = []

    def norm(img):
        calls.append(img.dtype)
        return img / 255

    dataset = SegmentationDataset(
        tmp_path,
        transform=joint.Compose([joint.RandomCrop(8), joint.RandomFlipLeftRight()]),
        norm=norm,
        mask_dtype=np.float32,
    )
    with sample_context(0, 0, 1):
        img, mask = dataset[1]
    assert img.shape == (8, 8, 3) and mask.shape == (8, 8) and mask.dtype == np.float32
    np.testing.assert_allclose(img[..., 0] * 255, mask * 10.0, rtol=1e-6)
    assert calls == [np.float32]


def test_mmap_reads_the_same_values(tmp_path):
    write_pairs(tmp_path / "training", ["a"])
    plain = SegmentationDataset(tmp_path)[0]
    mapped = SegmentationDataset(tmp_path, mmap=True)[0]
    assert type(mapped[0]) is np.ndarray
    np.testing.assert_array_equal(plain[0], mapped[0])
    np.testing.assert_array_equal(plain[1], mapped[1])


def test_png_and_jpeg_images_with_png_masks(tmp_path):
    folder = tmp_path / "training"
    (folder / "imgs").mkdir(parents=True)
    (folder / "masks").mkdir(parents=True)
    rgb = np.random.default_rng(0).integers(0, 256, (10, 14, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(folder / "imgs" / "a.png")
    Image.fromarray(rgb).save(folder / "imgs" / "b.jpg")
    palette = Image.fromarray((np.arange(140).reshape(10, 14) % 5).astype(np.uint8), "L")
    palette.convert("P").save(folder / "masks" / "a-mask.png")
    Image.fromarray(np.zeros((10, 14), np.uint8)).save(folder / "masks" / "b-mask.png")
    dataset = SegmentationDataset(tmp_path)
    img, mask = dataset[0]
    assert img.dtype == np.float32 and img.shape == (10, 14, 3)
    np.testing.assert_array_equal(img, rgb)
    assert mask.shape == (10, 14) and mask.max() == 4  # palette indices, not colours
    assert dataset[1][0].shape == (10, 14, 3)
    (folder / "imgs" / "b.jpg").write_bytes(b"broken")
    with pytest.raises(ValueError, match=r"imgs/b\.jpg"):
        dataset[1]


def test_two_files_with_one_name_are_ambiguous(tmp_path):
    folder = tmp_path / "training"
    write_pairs(folder, ["a"])
    Image.fromarray(np.zeros((12, 12), np.uint8)).save(folder / "imgs" / "a.png")
    with pytest.raises(ValueError, match=r"a\.npy and .*a\.png have the same name"):
        SegmentationDataset(tmp_path)


def test_missing_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="training/imgs"):
        SegmentationDataset(tmp_path)
