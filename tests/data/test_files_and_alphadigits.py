"""Named Binary AlphaDigits sets and users' own files loaded by path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from charrec.data import load_dataset
from charrec.errors import DataError
from datagen import glyphs


def test_binary_alphadigits_in_the_emnist_frame(real_data_dir: Path) -> None:
    everything = load_dataset("binary-alphadigits", "all", real_data_dir)
    letters = load_dataset("binary-alphadigits-letters", "all", real_data_dir)
    assert (len(everything), len(letters)) == (1404, 1014)
    assert letters.images.shape[1:] == (28, 28)
    assert letters.classes == tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    assert list(letters.counts()) == [39] * 26
    assert everything.classes[:10] == tuple("0123456789")
    # The 2 px frame of the EMNIST conversion stays empty.
    assert letters.images[:, :2].max() == 0 and letters.images[:, -2:].max() == 0


def test_binary_alphadigits_digits_are_the_first_ten_classes(real_data_dir: Path) -> None:
    everything = load_dataset("binary-alphadigits", "all", real_data_dir)
    digits = load_dataset("bad-digits", "all", real_data_dir)
    assert digits.name == "binary-alphadigits-digits"
    assert digits.classes == tuple("0123456789")
    assert list(digits.counts()) == [39] * 10
    first = everything.labels < 10
    np.testing.assert_array_equal(digits.images, everything.images[first])
    np.testing.assert_array_equal(digits.labels, everything.labels[first])


def test_npz_by_path(tmp_path: Path) -> None:
    images, labels = glyphs(60, 26)
    one_hot = np.zeros((60, 27), dtype=np.float32)
    one_hot[np.arange(60), labels + 1] = 1
    path = tmp_path / "emnist_letter.npz"
    np.savez(
        path,
        train_images=images / 255.0,
        train_labels=one_hot,
        test_images=images[:10] / 255.0,
        test_labels=one_hot[:10],
    )
    train = load_dataset(str(path), "train")
    assert len(train) == 60 and np.array_equal(train.labels, labels)
    assert len(load_dataset(str(path), "test")) == 10
    with pytest.raises(DataError, match="no 'validate' part"):
        load_dataset(str(path), "validate")


def test_image_folder_with_train_and_test(tmp_path: Path) -> None:
    for part, count in (("train", 3), ("test", 2)):
        for name in ("A", "B"):
            folder = tmp_path / "mine" / part / name
            folder.mkdir(parents=True)
            for i in range(count):
                canvas = np.full((60, 50), 255, dtype=np.uint8)
                canvas[10 + 3 * i : 50, 20:28] = 0 if name == "A" else 80
                Image.fromarray(canvas).save(folder / f"{i}.png")
    train = load_dataset(str(tmp_path / "mine"), "train")
    test = load_dataset(str(tmp_path / "mine"), "test")
    assert (len(train), len(test)) == (6, 4) and train.classes == ("A", "B")
    assert train.images.shape[1:] == (28, 28)


def test_unknown_file_type(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_text("hello")
    with pytest.raises(DataError, match="unknown data file type"):
        load_dataset(str(path), "train")
    with pytest.raises(DataError, match="no such file"):
        load_dataset(str(tmp_path / "missing.npz"), "train")
