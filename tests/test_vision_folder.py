"""ImageFolderDataset and ImageListDataset on folders the tests write."""

import pickle
import warnings

import numpy as np
import pytest
from PIL import Image

from gluondata import StringArray
from gluondata.image import ImageDecodeError
from gluondata.random import sample_context
from gluondata.vision import ImageFolderDataset, ImageListDataset
from gluondata.vision import transforms as T


def write_image(path, seed, size=(20, 16), fmt=None):
    rng = np.random.default_rng(seed)
    array = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(array).save(path, fmt)
    return array


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "images"
    for label, cls in enumerate(["Zebra", "apple", "banana"]):
        (root / cls).mkdir(parents=True)
        for i in range(3):
            ext = [".png", ".JPG", ".jpeg"][i]
            write_image(root / cls / f"{i}{ext}", 10 * label + i, fmt="PNG" if i == 0 else "JPEG")
    (root / "empty").mkdir()
    return root


def test_classes_files_and_order_follow_gluon(folder):
    (folder / "apple" / "notes.txt").write_text("not an image")
    (folder / "README").write_text("top-level file")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = ImageFolderDataset(folder)
    messages = [str(w.message) for w in caught]
    assert any("README, which is not a directory" in m for m in messages)
    assert any("apple/notes.txt" in m for m in messages)
    assert dataset.synsets == ["Zebra", "apple", "banana", "empty"]  # uppercase first; empty kept
    assert len(dataset) == 9
    assert dataset.items[0] == (str(folder / "Zebra" / "0.png"), 0)
    assert [label for _, label in dataset.items] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert isinstance(dataset._paths, StringArray) and isinstance(dataset._labels, np.ndarray)


def test_samples_are_decoded_images_and_int_labels(folder):
    dataset = ImageFolderDataset(folder)
    img, label = dataset[0]
    assert img.shape == (16, 20, 3) and img.dtype == np.uint8 and label == 0
    assert isinstance(label, int)
    np.testing.assert_array_equal(img, np.asarray(Image.open(folder / "Zebra" / "0.png")))
    gray, _ = ImageFolderDataset(folder, flag=0)[4]
    assert gray.shape == (16, 20, 1)
    doubled = ImageFolderDataset(folder, transform=lambda x, y: (x.shape, y * 2))
    assert doubled[3] == ((16, 20, 3), 2)


def test_transform_first_fuses_decode_and_matches_the_array_path(folder):
    dataset = ImageFolderDataset(folder)
    transform = T.Compose([T.RandomResizedCrop(8), T.RandomFlipLeftRight(), T.ToTensor()])
    fused = dataset.transform_first(transform)
    assert "transform_first" in repr(fused)
    plain = dataset.transform_first(lambda x: transform(x))
    for i in range(len(dataset)):
        with sample_context(0, 0, i):
            a, label_a = fused[i]
        with sample_context(0, 0, i):
            b, label_b = plain[i]
        assert a.shape == (3, 8, 8) and label_a == label_b
        assert np.abs(a - b).mean() < 0.05
    clone = pickle.loads(pickle.dumps(fused))
    assert len(clone) == 9


class Inverted(T.Resize):
    def forward(self, x):
        return 255 - super().forward(x)


class EveryOtherPixel(T.Transform):
    def __call__(self, x):
        return x[::2, ::2]


def test_transform_first_honours_a_subclass_that_overrides_forward_or_call(folder):
    dataset = ImageFolderDataset(folder)
    for transform in (Inverted(8), EveryOtherPixel(), T.Compose([EveryOtherPixel()])):
        transformed = dataset.transform_first(transform)
        for i in (0, 4):
            img, label = transformed[i]
            np.testing.assert_array_equal(img, transform(dataset[i][0]))
            assert label == dataset[i][1]


def test_corrupt_and_fake_images_raise_naming_the_file(folder):
    good = (folder / "apple" / "1.JPG").read_bytes()
    (folder / "apple" / "1.JPG").write_bytes(good[: len(good) // 3])  # truncated JPEG
    (folder / "banana" / "0.png").write_text("this is text, not a PNG")
    dataset = ImageFolderDataset(folder)
    with pytest.raises(ImageDecodeError, match=r"apple/1\.JPG"):
        dataset[4]
    with pytest.raises(ImageDecodeError, match=r"banana/0\.png.*not in an image format"):
        dataset[6]
    with pytest.raises(ImageDecodeError, match=r"apple/1\.JPG"):
        dataset.transform_first(T.Resize(4))[4]


def test_image_list_from_lst_file(tmp_path):
    for i in range(3):
        write_image(tmp_path / f"{i}.png", i)
    (tmp_path / "data.lst").write_text("0\t1.0\t0.png\n\n1\t2.5\t3.0\t1.png\n2\t0\tsub/../2.png\n")
    dataset = ImageListDataset(tmp_path, "data.lst")
    assert len(dataset) == 3
    img, label = dataset[1]
    assert img.shape == (16, 20, 3)
    assert label.dtype == np.float32 and label.tolist() == [2.5, 3.0]
    assert dataset[0][1].tolist() == [1.0]
    with pytest.raises(ValueError, match="read-only"):
        label[0] = 7


def test_image_list_bad_line_names_file_and_line(tmp_path):
    (tmp_path / "bad.lst").write_text("0\t1\ta.png\nnot a line\n")
    with pytest.raises(ValueError, match=r"bad\.lst: line 2"):
        ImageListDataset(tmp_path, "bad.lst")
    (tmp_path / "bad2.lst").write_text("x\t1\ta.png\n")
    with pytest.raises(ValueError, match=r"bad2\.lst: line 1"):
        ImageListDataset(tmp_path, "bad2.lst")


def test_image_list_from_python_entries(tmp_path):
    write_image(tmp_path / "a.png", 0)
    dataset = ImageListDataset(tmp_path, [[1, "a.png"], [1, 2, 3, "a.png"], [[4, 5], "a.png"]])
    assert [dataset[i][1].tolist() for i in range(3)] == [[1.0], [1.0, 2.0, 3.0], [4.0, 5.0]]
    with pytest.raises(ValueError, match="entry 0"):
        ImageListDataset(tmp_path, [[1, 2]])
    for bad in ("cat", None, ["x", 2]):
        with pytest.raises(ValueError, match=r"imglist entry 1: labels must be numbers"):
            ImageListDataset(tmp_path, [[1, "a.png"], [bad, "a.png"]])
    with pytest.raises(ValueError, match="imglist must be filename or list"):
        ImageListDataset(tmp_path, None)
