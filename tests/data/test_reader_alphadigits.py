from __future__ import annotations

import string
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from charrec.data.readers.alphadigits import read_binary_alphadigits
from charrec.errors import DataError

CLASSES = tuple(string.digits + string.ascii_uppercase)


def write_bad(path: Path, per_class: int = 3, cell: tuple[int, int] = (20, 16)) -> np.ndarray:
    """A small `binaryalphadigs.mat` in the original layout; returns the 36×per_class×20×16 ink."""
    rng = np.random.default_rng(0)
    ink = (rng.random((36, per_class, *cell)) < 0.3).astype(np.uint8)
    dat = np.empty((36, per_class), dtype=object)
    for k in range(36):
        for j in range(per_class):
            dat[k, j] = ink[k, j]
    labels = np.empty((1, 36), dtype=object)
    counts = np.empty((1, 36), dtype=object)
    for k, name in enumerate(CLASSES):
        labels[0, k] = name
        counts[0, k] = np.array([[per_class]], dtype=np.uint8)
    scipy.io.savemat(
        path, {"dat": dat, "classlabels": labels, "classcounts": counts, "numclass": 36}
    )
    return ink


def test_all_classes(tmp_path: Path) -> None:
    ink = write_bad(tmp_path / "bad.mat")
    data = read_binary_alphadigits(tmp_path / "bad.mat")
    assert data.classes == CLASSES
    assert data.images.shape == (108, 20, 16) and data.images.dtype == np.uint8
    assert set(np.unique(data.images)) == {0, 255}
    np.testing.assert_array_equal(data.labels, np.repeat(np.arange(36), 3))
    # Class by class in the file's order; ink (1) becomes 255.
    np.testing.assert_array_equal(data.images, ink.reshape(-1, 20, 16) * 255)
    assert data.name == "binaryalphadigits"


def test_letters_only(tmp_path: Path) -> None:
    ink = write_bad(tmp_path / "bad.mat")
    data = read_binary_alphadigits(tmp_path / "bad.mat", letters_only=True)
    assert data.classes == tuple(string.ascii_uppercase)
    np.testing.assert_array_equal(data.labels, np.repeat(np.arange(26), 3))
    np.testing.assert_array_equal(data.images[0], ink[10, 0] * 255)  # the first 'A'


def test_wrong_cell_size(tmp_path: Path) -> None:
    write_bad(tmp_path / "bad.mat", cell=(20, 15))
    with pytest.raises(DataError, match=r"bad\.mat: dat\{1,1\} is \(20, 15\), expected 20×16"):
        read_binary_alphadigits(tmp_path / "bad.mat")


def test_not_binary(tmp_path: Path) -> None:
    dat = np.empty((36, 1), dtype=object)
    for k in range(36):
        dat[k, 0] = np.full((20, 16), 7 if k == 2 else 0, dtype=np.uint8)
    scipy.io.savemat(tmp_path / "bad.mat", {"dat": dat})
    with pytest.raises(DataError, match=r"bad\.mat: dat\{3,1\} must hold only 0 and 1"):
        read_binary_alphadigits(tmp_path / "bad.mat")


def test_wrong_number_of_classes(tmp_path: Path) -> None:
    dat = np.empty((10, 2), dtype=object)
    for index in np.ndindex(dat.shape):
        dat[index] = np.zeros((20, 16), dtype=np.uint8)
    scipy.io.savemat(tmp_path / "digits.mat", {"dat": dat})
    with pytest.raises(DataError, match=r"digits\.mat.*10 rows, expected 36"):
        read_binary_alphadigits(tmp_path / "digits.mat")


def test_no_dat_variable(tmp_path: Path) -> None:
    scipy.io.savemat(tmp_path / "other.mat", {"images": np.zeros((2, 2))})
    with pytest.raises(DataError, match=r"other\.mat: no `dat` variable"):
        read_binary_alphadigits(tmp_path / "other.mat")


def test_missing_and_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nothing\.mat: file not found"):
        read_binary_alphadigits(tmp_path / "nothing.mat")
    (tmp_path / "text.mat").write_text("not a MATLAB file")
    with pytest.raises(DataError, match=r"text\.mat: not a readable MATLAB file"):
        read_binary_alphadigits(tmp_path / "text.mat")


@pytest.fixture(scope="module")
def real_bad(real_data_dir: Path) -> Path:
    return real_data_dir / "binaryalphadigits" / "binaryalphadigs.mat"


def test_real_file(real_bad: Path) -> None:
    data = read_binary_alphadigits(real_bad)
    assert data.images.shape == (36 * 39, 20, 16)
    assert data.classes == CLASSES
    assert data.counts().tolist() == [39] * 36
    # Ink is the minority value, so it is the one made white.
    assert 0.3 < (data.images == 255).mean() < 0.5


def test_real_file_letters(real_bad: Path) -> None:
    data = read_binary_alphadigits(real_bad, letters_only=True)
    assert data.images.shape == (26 * 39, 20, 16)
    assert data.counts().tolist() == [39] * 26
    assert data.labels.min() == 0 and data.labels.max() == 25


def test_real_file_upright(real_bad: Path) -> None:
    data = read_binary_alphadigits(real_bad)

    def mean_of(name: str) -> np.ndarray:
        return data.images[data.labels == data.classes.index(name)].mean(axis=0)

    # 'T' has its bar at the top, 'L' at the bottom: fails if the images were flipped.
    t, ell = mean_of("T"), mean_of("L")
    assert t[:5].mean() > t[-5:].mean()
    assert ell[-5:].mean() > ell[:5].mean()
    # '1' and 'I' are taller than wide: fails if they were transposed.
    for name in "1I":
        rows, cols = np.nonzero(mean_of(name) > 127)
        assert np.ptp(rows) > np.ptp(cols)
