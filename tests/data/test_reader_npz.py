from __future__ import annotations

import pickle
import string
from pathlib import Path

import numpy as np
import pytest

from charrec.data.readers.npz import read_npz
from charrec.errors import DataError

LETTERS = tuple(string.ascii_uppercase)


def one_hot_27(labels: np.ndarray) -> np.ndarray:
    """The course layout: 27 columns, column 0 unused, 'A' in column 1."""
    rows = np.zeros((len(labels), 27), dtype=np.float32)
    rows[np.arange(len(labels)), labels + 1] = 1
    return rows


def float_images(count: int, shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((count, *shape)).astype(np.float32)


def test_course_letters_file(tmp_path: Path) -> None:
    arrays, expected = {}, {}
    for i, split in enumerate(["train", "validate", "test"]):
        images, labels = float_images(6, (28, 28), seed=i), np.arange(6) * 5 % 26
        arrays[f"{split}_images"] = images.reshape(6, 784)  # flat rows
        arrays[f"{split}_labels"] = one_hot_27(labels)
        expected[split] = (np.round(images * 255).astype(np.uint8), labels)
    np.savez(tmp_path / "emnist_letter.npz", **arrays)
    sets = read_npz(tmp_path / "emnist_letter.npz")
    assert list(sets) == ["train", "validate", "test"]
    for split, (images, labels) in expected.items():
        assert sets[split].images.shape == (6, 28, 28) and sets[split].images.dtype == np.uint8
        np.testing.assert_array_equal(sets[split].images, images)
        np.testing.assert_array_equal(sets[split].labels, labels)
        assert sets[split].classes == LETTERS
        assert sets[split].name == f"emnist_letter:{split}"


def test_rounding_of_intensities(tmp_path: Path) -> None:
    images = np.array([0.0, 0.5 / 255, 1.5 / 255, 0.4, 1.0], dtype=np.float64).reshape(1, 1, 5)
    images = np.repeat(images, 4, axis=1)
    np.savez(tmp_path / "r.npz", train_images=images, train_labels=np.array([3]))
    got = read_npz(tmp_path / "r.npz")["train"].images[0, 0].tolist()
    assert got == [0, 0, 2, 102, 255]  # round(x·255), halves to even


def test_binary_alphadigits_file_integer_labels(tmp_path: Path) -> None:
    images = (np.random.default_rng(1).random((5, 20, 16)) > 0.6).astype(np.float64)
    np.savez(tmp_path / "binaryalphadigits.npz", train_images=images, train_labels=np.arange(1, 6))
    sets = read_npz(tmp_path / "binaryalphadigits.npz")
    assert list(sets) == ["train"]
    assert sets["train"].image_shape == (20, 16)
    np.testing.assert_array_equal(sets["train"].images, (images * 255).astype(np.uint8))
    np.testing.assert_array_equal(sets["train"].labels, np.arange(5))


def test_flat_alphadigits_and_channel_axis(tmp_path: Path) -> None:
    images = float_images(3, (20, 16))
    np.savez(
        tmp_path / "a.npz",
        train_images=images.reshape(3, 320),
        train_labels=one_hot_27(np.array([0, 1, 2])),
        test_images=images[..., None],  # N×H×W×1
        test_labels=one_hot_27(np.array([25, 0, 1])),
    )
    sets = read_npz(tmp_path / "a.npz")
    assert sets["train"].images.shape == sets["test"].images.shape == (3, 20, 16)
    assert sets["test"].labels.tolist() == [25, 0, 1]


def test_binary_integer_images_and_bare_pair(tmp_path: Path) -> None:
    images = np.zeros((2, 28, 28), dtype=np.uint8)
    images[:, 5:20, 10:13] = 1
    np.savez(tmp_path / "b.npz", images=images, labels=np.array([[1], [26]]))
    sets = read_npz(tmp_path / "b.npz")
    assert list(sets) == ["all"]
    assert sets["all"].images.max() == 255
    assert sets["all"].labels.tolist() == [0, 25]


def test_one_hot_over_k_columns_and_other_classes(tmp_path: Path) -> None:
    labels = np.eye(10)[[3, 0, 9]]
    np.savez(tmp_path / "d.npz", test_images=float_images(3, (28, 28)), test_labels=labels)
    sets = read_npz(tmp_path / "d.npz", classes=string.digits)
    assert sets["test"].labels.tolist() == [3, 0, 9]
    assert sets["test"].classes == tuple(string.digits)


def write(path: Path, **arrays: np.ndarray) -> Path:
    base = {"train_images": float_images(2, (28, 28)), "train_labels": one_hot_27(np.array([0, 1]))}
    np.savez(path, **{**base, **arrays})
    return path


def test_missing_labels(tmp_path: Path) -> None:
    path = write(tmp_path / "m.npz", test_images=float_images(2, (28, 28)))
    with pytest.raises(DataError, match=r"m\.npz: has test_images but no test_labels array"):
        read_npz(path)


def test_no_pairs(tmp_path: Path) -> None:
    np.savez(tmp_path / "x.npz", x=np.zeros(3), y=np.zeros(3))
    with pytest.raises(DataError, match=r"x\.npz: no `<split>_images` arrays \(arrays: x, y\)"):
        read_npz(tmp_path / "x.npz")


def test_rows_not_one_hot(tmp_path: Path) -> None:
    labels = one_hot_27(np.array([0, 1]))
    labels[1, 5] = 1  # two ones
    path = write(tmp_path / "h.npz", train_labels=labels)
    with pytest.raises(DataError, match=r"h\.npz: train_labels: row 1 is not one-hot"):
        read_npz(path)
    labels = np.zeros((2, 27))
    labels[:, 0] = 1  # the unused column used
    path = write(tmp_path / "h.npz", train_labels=labels)
    with pytest.raises(DataError, match=r"column 0 of the one-hot labels is used"):
        read_npz(path)
    path = write(tmp_path / "h.npz", train_labels=np.zeros((2, 12)))
    with pytest.raises(DataError, match=r"one-hot labels have 12 columns, expected 27"):
        read_npz(path)


def test_integer_labels_out_of_range(tmp_path: Path) -> None:
    path = write(tmp_path / "i.npz", train_labels=np.array([0, 5]))
    with pytest.raises(DataError, match=r"i\.npz: train_labels: integer labels run 0\.\.5"):
        read_npz(path)


@pytest.mark.parametrize("bad", [-0.1, 1.5, np.nan])
def test_images_outside_unit_range(tmp_path: Path, bad: float) -> None:
    images = float_images(2, (28, 28))
    images[1, 3, 3] = bad
    path = write(tmp_path / "f.npz", train_images=images)
    with pytest.raises(DataError, match=r"f\.npz: train_images: float images must lie in \[0, 1\]"):
        read_npz(path)


def test_shape_mismatch(tmp_path: Path) -> None:
    path = write(tmp_path / "s.npz", train_labels=one_hot_27(np.array([0, 1, 2])))
    with pytest.raises(DataError, match=r"s\.npz: train_images holds 2 images but train_labels"):
        read_npz(path)
    path = write(tmp_path / "s.npz", train_images=np.zeros((2, 100)))
    with pytest.raises(DataError, match=r"flat images of 100 pixels"):
        read_npz(path)
    path = write(tmp_path / "s.npz", train_images=np.zeros(5))
    with pytest.raises(DataError, match=r"images have shape \(5,\)"):
        read_npz(path)


def test_object_arrays_are_never_unpickled(tmp_path: Path) -> None:
    labels = np.array([{"label": 1}, {"label": 2}], dtype=object)
    path = write(tmp_path / "o.npz", train_labels=labels)
    with pytest.raises(DataError, match=r"o\.npz: cannot read array train_labels"):
        read_npz(path)


def test_not_an_npz(tmp_path: Path) -> None:
    (tmp_path / "text.npz").write_text("not a zip archive")
    with pytest.raises(DataError, match=r"text\.npz: not a readable \.npz archive"):
        read_npz(tmp_path / "text.npz")
    (tmp_path / "pickle.npz").write_bytes(pickle.dumps({"train_images": [1]}))
    with pytest.raises(DataError, match=r"pickle\.npz: not a readable \.npz archive"):
        read_npz(tmp_path / "pickle.npz")
    np.save(tmp_path / "single.npy", np.zeros(3))
    with pytest.raises(DataError, match=r"single\.npy: holds a single array"):
        read_npz(tmp_path / "single.npy")
    with pytest.raises(DataError, match=r"gone\.npz: file not found"):
        read_npz(tmp_path / "gone.npz")


def test_truncated_npz(tmp_path: Path) -> None:
    path = write(tmp_path / "t.npz")
    data = path.read_bytes()
    for cut in (len(data) // 3, len(data) - 30):
        path.write_bytes(data[:cut])
        with pytest.raises(DataError, match=r"t\.npz"):
            read_npz(path)
