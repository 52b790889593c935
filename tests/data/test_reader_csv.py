from __future__ import annotations

import string
from pathlib import Path

import numpy as np
import pytest

from charrec.data.readers import csv as csv_reader
from charrec.data.readers.csv import read_emnist_csv
from charrec.errors import DataError

LETTERS = tuple(string.ascii_uppercase)


def tall_bars(count: int, seed: int = 0) -> np.ndarray:
    """Upright images with a vertical bar, plus noise over the full 0..255 range."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
    images[:, 3:25, 12:15] = 255
    return images


def write_csv(
    path: Path, images: np.ndarray, labels: np.ndarray, transposed: bool = True, **kw: str
) -> Path:
    """Kaggle's layout: `label,pixel,...` per line, images stored transposed like IDX."""
    stored = images.transpose(0, 2, 1) if transposed else images
    table = np.column_stack([labels, stored.reshape(len(images), -1)])
    np.savetxt(path, table, fmt="%d", delimiter=",", **kw)
    return path


def test_letters_round_trip(tmp_path: Path) -> None:
    images, labels = tall_bars(30), np.arange(30) % 26 + 1
    path = write_csv(tmp_path / "emnist-letters-train.csv", images, labels)
    data = read_emnist_csv(path, LETTERS, transposed=True, label_offset=1)
    np.testing.assert_array_equal(data.images, images)
    np.testing.assert_array_equal(data.labels, labels - 1)
    assert data.labels.dtype == np.int64 and data.images.flags.c_contiguous
    assert data.classes == LETTERS and data.name == "emnist-letters-train"


def test_transposed_storage_is_fixed(tmp_path: Path) -> None:
    images = tall_bars(2)
    path = write_csv(tmp_path / "t.csv", images, np.array([1, 2]))
    as_stored = read_emnist_csv(path, LETTERS, transposed=False, label_offset=1)
    np.testing.assert_array_equal(as_stored.images, images.transpose(0, 2, 1))
    upright = read_emnist_csv(path, LETTERS, transposed=True, label_offset=1)
    np.testing.assert_array_equal(upright.images, images)


def test_upright_mnist_csv_with_header_and_crlf(tmp_path: Path) -> None:
    images, labels = tall_bars(5), np.array([0, 9, 3, 3, 1])
    header = "label," + ",".join(f"pixel{i}" for i in range(784))
    path = write_csv(
        tmp_path / "mnist.csv", images, labels, transposed=False, header=header, comments=""
    )
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n") + b"\r\n\r\n")
    data = read_emnist_csv(path, string.digits, transposed=False)
    np.testing.assert_array_equal(data.images, images)
    np.testing.assert_array_equal(data.labels, labels)


def test_spaces_and_blank_lines_take_the_careful_path(tmp_path: Path) -> None:
    images, labels = tall_bars(3), np.array([1, 2, 3])
    path = write_csv(tmp_path / "t.csv", images, labels, transposed=False)
    lines = path.read_text().splitlines()
    lines[1] = lines[1].replace(",", ", ")
    path.write_text("\n" + lines[0] + "\n\n" + "\n".join(lines[1:]) + "\n")
    data = read_emnist_csv(path, LETTERS, transposed=False, label_offset=1)
    np.testing.assert_array_equal(data.images, images)


def test_many_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_reader, "_BLOCK_BYTES", 5000)  # a few lines per block
    images, labels = tall_bars(40), np.arange(40) % 26 + 1
    path = write_csv(tmp_path / "t.csv", images, labels)
    data = read_emnist_csv(path, LETTERS, label_offset=1)
    np.testing.assert_array_equal(data.images, images)
    np.testing.assert_array_equal(data.labels, labels - 1)
    # Line numbers keep counting across blocks.
    text = path.read_text().splitlines()
    text[33] = "27" + text[33][text[33].index(",") :]
    path.write_text("\n".join(text) + "\n")
    with pytest.raises(DataError, match=r"t\.csv, line 34: label 27 is outside 1\.\.26"):
        read_emnist_csv(path, LETTERS, label_offset=1)


def corrupt_line(path: Path, index: int, new: str) -> None:
    lines = path.read_text().splitlines()
    lines[index] = new
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def small_csv(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "letters.csv", tall_bars(4), np.array([1, 2, 3, 4]))


def test_wrong_number_of_columns(small_csv: Path) -> None:
    corrupt_line(small_csv, 2, "1," + ",".join(["0"] * 780))
    with pytest.raises(DataError, match=r"letters\.csv, line 3: 781 values, expected 785"):
        read_emnist_csv(small_csv, LETTERS, label_offset=1)


def test_non_numeric_value(small_csv: Path) -> None:
    corrupt_line(small_csv, 1, "2," + ",".join(["0"] * 500 + ["x7"] + ["0"] * 283))
    with pytest.raises(DataError, match=r"letters\.csv, line 2, column 502: 'x7' is not a whole"):
        read_emnist_csv(small_csv, LETTERS, label_offset=1)


def test_fractional_value(small_csv: Path) -> None:
    corrupt_line(small_csv, 0, "1," + ",".join(["0.5"] * 784))
    with pytest.raises(DataError, match=r"line 1, column 2: '0\.5' is not a whole number"):
        read_emnist_csv(small_csv, LETTERS, label_offset=1)


@pytest.mark.parametrize("value", ["256", "-1", "65536", "65791"])
def test_pixel_out_of_range(small_csv: Path, value: str) -> None:
    # 65536 and 65791 would wrap to 0 and 255 in 16 bits: they must still be caught.
    corrupt_line(small_csv, 3, "4," + ",".join(["0"] * 783 + [value]))
    with pytest.raises(DataError, match=r"letters\.csv, line 4: pixel values must be 0\.\.255"):
        read_emnist_csv(small_csv, LETTERS, label_offset=1)


def test_label_out_of_range(small_csv: Path) -> None:
    with pytest.raises(DataError, match=r"letters\.csv, line 1: label 1 is outside 2\.\.27"):
        read_emnist_csv(small_csv, LETTERS, label_offset=2)
    with pytest.raises(DataError, match=r"line 1: label 1 is outside 0\.\.0 for 1 classes"):
        read_emnist_csv(small_csv, ["A"])


def test_empty_and_missing_files(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("\n\n")
    with pytest.raises(DataError, match=r"empty\.csv: no images"):
        read_emnist_csv(tmp_path / "empty.csv", LETTERS)
    with pytest.raises(DataError, match=r"gone\.csv: file not found"):
        read_emnist_csv(tmp_path / "gone.csv", LETTERS)
    with pytest.raises(DataError, match=r"is a folder"):
        read_emnist_csv(tmp_path, LETTERS)
