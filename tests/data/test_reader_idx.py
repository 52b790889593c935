from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from charrec.data.readers.idx import read_idx_images, read_idx_labels, write_idx
from charrec.errors import DataError


def ink_extent(image: np.ndarray) -> tuple[int, int]:
    """(rows, columns) spanned by pixels brighter than half the image's maximum."""
    rows, cols = np.nonzero(image > image.max() / 2)
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)


def tall_bars(count: int = 3) -> np.ndarray:
    """Images of a vertical bar (upright: taller than wide), each a different height."""
    images = np.zeros((count, 28, 28), dtype=np.uint8)
    for i in range(count):
        images[i, 4 : 20 + i, 12:15] = 255
    return images


@pytest.mark.parametrize("name", ["images-idx3-ubyte.gz", "images-idx3-ubyte"])
def test_images_round_trip(tmp_path: Path, name: str) -> None:
    images = tall_bars()
    write_idx(tmp_path / name, images)
    if name.endswith(".gz"):
        assert (tmp_path / name).read_bytes()[:2] == b"\x1f\x8b"
    back = read_idx_images(tmp_path / name)
    assert back.dtype == np.uint8
    np.testing.assert_array_equal(back, images)


@pytest.mark.parametrize("name", ["labels-idx1-ubyte.gz", "labels-idx1-ubyte"])
def test_labels_round_trip(tmp_path: Path, name: str) -> None:
    labels = np.array([0, 9, 3, 255], dtype=np.uint8)
    write_idx(tmp_path / name, labels)
    back = read_idx_labels(tmp_path / name)
    assert back.dtype == np.int64
    np.testing.assert_array_equal(back, labels)


def test_gzip_detected_by_content_not_name(tmp_path: Path) -> None:
    path = tmp_path / "images.idx"
    write_idx(path, tall_bars(), compress=True)
    np.testing.assert_array_equal(read_idx_images(path), tall_bars())


def test_emnist_transposed_storage_read_upright(tmp_path: Path) -> None:
    upright = tall_bars()
    write_idx(tmp_path / "emnist.gz", upright.transpose(0, 2, 1))  # as NIST stores them
    stored = read_idx_images(tmp_path / "emnist.gz")
    back = read_idx_images(tmp_path / "emnist.gz", transposed=True)
    np.testing.assert_array_equal(back, upright)
    assert back.flags.c_contiguous
    rows, cols = ink_extent(back[0])
    assert rows > cols
    rows, cols = ink_extent(stored[0])
    assert rows < cols


def test_truncated_gzip(tmp_path: Path) -> None:
    path = tmp_path / "images.gz"
    write_idx(path, tall_bars())
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(DataError, match=r"images\.gz.*(truncated|corrupt)"):
        read_idx_images(path)


def test_corrupt_gzip(tmp_path: Path) -> None:
    path = tmp_path / "images.gz"
    data = bytearray(gzip.compress(b"\x00" * 4000))
    data[12:40] = b"\xff" * 28
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"images\.gz.*corrupt"):
        read_idx_images(path)


def test_wrong_magic_labels_file_as_images(tmp_path: Path) -> None:
    path = tmp_path / "labels.gz"
    write_idx(path, np.zeros(5, dtype=np.uint8))
    with pytest.raises(DataError, match=r"labels\.gz.*magic 2049.*2051"):
        read_idx_images(path)
    write_idx(tmp_path / "images.gz", tall_bars())
    with pytest.raises(DataError, match=r"images\.gz.*magic 2051.*2049"):
        read_idx_labels(tmp_path / "images.gz")


def test_not_idx_at_all(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello, these are not images")
    with pytest.raises(DataError, match=r"notes\.txt"):
        read_idx_images(path)


def test_header_data_size_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "images"
    write_idx(path, tall_bars(4))
    path.write_bytes(path.read_bytes()[:-100])  # raw IDX, cut short
    with pytest.raises(DataError, match=r"images.*declares \(4, 28, 28\).*truncated"):
        read_idx_images(path)
    path.write_bytes(path.read_bytes() + b"\x00" * 500)  # now too long
    with pytest.raises(DataError, match=r"images.*declares"):
        read_idx_images(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"missing-images\.gz: file not found"):
        read_idx_images(tmp_path / "missing-images.gz")
    with pytest.raises(DataError, match=r"missing-labels\.gz: file not found"):
        read_idx_labels(tmp_path / "missing-labels.gz")


def test_real_mnist_train_upright(real_data_dir: Path) -> None:
    images = read_idx_images(real_data_dir / "mnist" / "train-images-idx3-ubyte.gz")
    labels = read_idx_labels(real_data_dir / "mnist" / "train-labels-idx1-ubyte.gz")
    assert images.shape == (60_000, 28, 28)
    assert labels.shape == (60_000,)
    rows, cols = ink_extent(images[labels == 1].mean(axis=0))
    assert rows > cols


@pytest.fixture(scope="module")
def byclass_test(real_data_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    folder = real_data_dir / "emnist"
    images = read_idx_images(folder / "emnist-byclass-test-images-idx3-ubyte.gz", transposed=True)
    labels = read_idx_labels(folder / "emnist-byclass-test-labels-idx1-ubyte.gz")
    return images, labels


@pytest.mark.parametrize("label", [18, 47], ids=["I", "l"])
def test_real_emnist_byclass_transposed_upright(
    byclass_test: tuple[np.ndarray, np.ndarray], label: int
) -> None:
    images, labels = byclass_test
    assert images.shape == (116_323, 28, 28)
    rows, cols = ink_extent(images[labels == label].mean(axis=0))
    assert rows > cols
    # Read as stored (not transposed back), the same class lies on its side.
    rows, cols = ink_extent(images[labels == label].mean(axis=0).T)
    assert rows < cols
