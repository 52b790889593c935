from __future__ import annotations

import string
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from charrec.data.readers.emnist_mat import read_emnist_mat
from charrec.errors import DataError


def bars(count: int, seed: int = 0) -> np.ndarray:
    """Upright images: a vertical bar (taller than wide) at a random column, plus noise."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 30, size=(count, 28, 28), dtype=np.uint8)
    for i in range(count):
        col = int(rng.integers(3, 22))
        images[i, 3:25, col : col + 3] = 255
    return images


def matlab_rows(upright: np.ndarray) -> np.ndarray:
    """N×784 rows as in the official files: MATLAB's column-major flattening of each image."""
    return upright.reshape(len(upright), -1, order="F")


def letters_mapping() -> np.ndarray:
    return np.array([[k, 64 + k, 96 + k] for k in range(1, 27)], dtype=np.float64)


def write_emnist_mat(
    path: Path,
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    mapping: np.ndarray,
) -> Path:
    """An `emnist-*.mat` shaped like NIST's: dataset.{train,test}.{images,labels,writers}."""

    def part(images: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
        return {
            "images": matlab_rows(images),
            "labels": labels.reshape(-1, 1).astype(np.float64),
            "writers": np.zeros((len(labels), 1)),
        }

    dataset = {"train": part(*train), "test": part(*test), "mapping": mapping}
    scipy.io.savemat(path, {"dataset": dataset}, do_compression=True)
    return path


@pytest.fixture
def letters_mat(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    images = bars(30)
    labels = np.arange(30) % 26 + 1  # EMNIST Letters: 1..26
    path = write_emnist_mat(
        tmp_path / "emnist-letters.mat",
        (images[:20], labels[:20]),
        (images[20:], labels[20:]),
        letters_mapping(),
    )
    return path, images, labels


def test_letters_structure(letters_mat: tuple[Path, np.ndarray, np.ndarray]) -> None:
    path, _, labels = letters_mat
    sets = read_emnist_mat(path)
    assert list(sets) == ["train", "test"]
    train, test = sets["train"], sets["test"]
    assert (len(train), len(test)) == (20, 10)
    assert train.classes == tuple(string.ascii_uppercase)
    np.testing.assert_array_equal(train.labels, labels[:20] - 1)
    np.testing.assert_array_equal(test.labels, labels[20:] - 1)
    assert train.name == "emnist-letters:train" and test.name == "emnist-letters:test"
    assert train.sources == (str(path),)
    assert train.subset(train.labels < 3).sources == (str(path),)  # the file, whatever part


def test_images_come_out_upright(letters_mat: tuple[Path, np.ndarray, np.ndarray]) -> None:
    path, images, _ = letters_mat
    train = read_emnist_mat(path)["train"]
    assert train.images.dtype == np.uint8 and train.images.flags.c_contiguous
    np.testing.assert_array_equal(train.images, images[:20])
    ink = train.images[0] > 128
    assert np.ptp(np.nonzero(ink)[0]) > np.ptp(np.nonzero(ink)[1])  # taller than wide


def test_rows_are_the_idx_byte_order(tmp_path: Path) -> None:
    """The 784 values read in C order are the transposed image, like the IDX files."""
    images = bars(3)
    rows = matlab_rows(images)
    np.testing.assert_array_equal(rows.reshape(-1, 28, 28), images.transpose(0, 2, 1))
    path = write_emnist_mat(
        tmp_path / "e.mat", (images, np.ones(3)), (images[:1], np.ones(1)), letters_mapping()
    )
    np.testing.assert_array_equal(read_emnist_mat(path)["train"].images, images)


def test_two_column_mapping_keeps_case(tmp_path: Path) -> None:
    # Balanced-like: labels from 0, one code per class, lower case kept where distinct.
    codes = [ord(c) for c in "0123456789ABab"]
    mapping = np.array([[k, c] for k, c in enumerate(codes)], dtype=np.float64)
    labels = np.array([0, 10, 12, 13])
    images = bars(4)
    path = write_emnist_mat(tmp_path / "emnist-x.mat", (images, labels), (images, labels), mapping)
    train = read_emnist_mat(path, name="mine")["train"]
    assert train.classes == tuple("0123456789ABab")
    np.testing.assert_array_equal(train.labels, labels)
    assert train.name == "mine:train"


def test_single_image_split(tmp_path: Path) -> None:
    images = bars(2)
    path = write_emnist_mat(
        tmp_path / "e.mat",
        (images[:1], np.array([3])),
        (images[1:], np.array([26])),
        letters_mapping(),
    )
    sets = read_emnist_mat(path)
    assert sets["train"].images.shape == (1, 28, 28)
    assert sets["test"].labels.tolist() == [25]


def test_label_outside_mapping(tmp_path: Path) -> None:
    images = bars(2)
    path = write_emnist_mat(
        tmp_path / "bad.mat",
        (images, np.array([1, 27])),
        (images, np.array([1, 2])),
        letters_mapping(),
    )
    with pytest.raises(DataError, match=r"bad\.mat.*train\.labels run 1\.\.27.*1\.\.26"):
        read_emnist_mat(path)


def test_count_mismatch(tmp_path: Path) -> None:
    images = bars(3)
    path = write_emnist_mat(
        tmp_path / "bad.mat", (images, np.array([1, 2])), (images, np.ones(3)), letters_mapping()
    )
    with pytest.raises(DataError, match=r"bad\.mat.*3 images but 2 labels"):
        read_emnist_mat(path)


def test_not_square_images(tmp_path: Path) -> None:
    part = {"images": np.zeros((2, 700), np.uint8), "labels": np.ones((2, 1))}
    path = tmp_path / "bad.mat"
    scipy.io.savemat(path, {"dataset": {"train": part, "test": part, "mapping": letters_mapping()}})
    with pytest.raises(DataError, match=r"bad\.mat.*700 columns"):
        read_emnist_mat(path)


def test_missing_field(tmp_path: Path) -> None:
    part = {"images": np.zeros((2, 784), np.uint8), "labels": np.ones((2, 1))}
    path = tmp_path / "bad.mat"
    scipy.io.savemat(path, {"dataset": {"train": part, "mapping": letters_mapping()}})
    with pytest.raises(DataError, match=r"bad\.mat.*no field 'test'"):
        read_emnist_mat(path)


def test_no_dataset_variable(tmp_path: Path) -> None:
    path = tmp_path / "other.mat"
    scipy.io.savemat(path, {"x": np.zeros(3)})
    with pytest.raises(DataError, match=r"other\.mat.*no `dataset` variable \(variables: x\)"):
        read_emnist_mat(path)


def test_matlab_v73_refused_clearly(tmp_path: Path) -> None:
    # A v7.3 file: a 128-byte MATLAB text header, then an HDF5 file from offset 512.
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5"
    data = header.ljust(128, b" ") + b"\x00" * 384 + b"\x89HDF\r\n\x1a\n" + b"\x00" * 64
    path = tmp_path / "emnist-letters.mat"
    path.write_bytes(data)
    with pytest.raises(DataError, match=r"emnist-letters\.mat.*v7\.3 \(HDF5\).*not supported"):
        read_emnist_mat(path)


def test_not_a_mat_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.mat"
    path.write_text("just some text, not MATLAB data\n" * 10)
    with pytest.raises(DataError, match=r"notes\.mat: not a readable MATLAB file"):
        read_emnist_mat(path)


def test_truncated_mat_file(letters_mat: tuple[Path, np.ndarray, np.ndarray]) -> None:
    path = letters_mat[0]
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(DataError, match=r"emnist-letters\.mat"):
        read_emnist_mat(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"emnist-digits\.mat: file not found"):
        read_emnist_mat(tmp_path / "emnist-digits.mat")
