from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from charrec.data import get_spec, list_datasets, load_dataset
from charrec.data.dedup import overlap_mask
from charrec.data.readers.idx import write_idx
from charrec.errors import ConfigError, DataError
from datagen import glyphs, write_emnist_split


def ink_extent(mean_image: np.ndarray) -> tuple[int, int]:
    """(rows, columns) spanned by pixels brighter than half the mean image's maximum."""
    rows, cols = np.nonzero(mean_image > mean_image.max() / 2)
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)


def mean_of(dataset, class_name: str) -> np.ndarray:
    k = dataset.classes.index(class_name)
    return dataset.images[dataset.labels == k].mean(axis=0)


def test_registry_has_every_named_set() -> None:
    expected = {
        "mnist",
        "emnist-letters",
        "emnist-balanced",
        "emnist-byclass",
        "emnist-bymerge",
        "emnist-digits",
        "emnist-mnist",
        "letters-dev",
        "balanced-dev",
    }
    assert expected <= set(list_datasets())
    assert len(get_spec("emnist-byclass").classes) == 62
    assert len(get_spec("emnist-bymerge").classes) == 47
    assert get_spec("emnist-letters").classes[0] == "A"


def test_unknown_name_lists_valid_ones() -> None:
    with pytest.raises(ConfigError, match="emnist-letters"):
        load_dataset("emnist-leters")
    with pytest.raises(ConfigError, match=r"train, test|test, train"):
        load_dataset("mnist", "validation")


def test_real_mnist(real_data_dir: Path) -> None:
    train = load_dataset("mnist", "train", real_data_dir)
    test = load_dataset("mnist", "test", real_data_dir)
    assert (len(train), len(test)) == (60_000, 10_000)
    assert train.images.shape[1:] == (28, 28) and train.images.dtype == np.uint8
    assert train.classes == tuple("0123456789")
    assert train.counts()[1] == 6742  # the official count of ones
    rows, cols = ink_extent(mean_of(train, "1"))
    assert rows > cols


def test_real_emnist_is_upright(real_data_dir: Path) -> None:
    byclass = load_dataset("emnist-byclass", "test", real_data_dir)
    assert len(byclass) == 116_323
    for name in ("l", "I", "1"):
        rows, cols = ink_extent(mean_of(byclass, name))
        assert rows > cols, name
    bymerge = load_dataset("emnist-bymerge", "test", real_data_dir)
    assert len(bymerge) == 116_323 and bymerge.num_classes == 47


def test_letters_dev_matches_protocol(real_data_dir: Path) -> None:
    train = load_dataset("letters-dev", "train", real_data_dir)
    test = load_dataset("letters-dev", "test", real_data_dir)
    assert (len(train), len(test)) == (59_384, 14_800)
    assert train.classes == test.classes == tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    assert (train.counts() > 0).all()
    # a..r complete (800 each), then the first 400 of s, nothing after.
    assert list(test.counts()[:18]) == [800] * 18 and test.counts()[18] == 400
    assert test.counts()[19:].sum() == 0
    assert not overlap_mask(train.images, test.images).any()
    assert len(np.unique(train.images.reshape(len(train), -1), axis=0)) == len(train)
    rows, cols = ink_extent(mean_of(test, "I"))
    assert rows > cols


def test_balanced_dev_matches_protocol(real_data_dir: Path) -> None:
    train = load_dataset("balanced-dev", "train", real_data_dir)
    test = load_dataset("balanced-dev", "test", real_data_dir)
    letters_test = load_dataset("letters-dev", "test", real_data_dir)
    assert train.classes == test.classes == get_spec("emnist-balanced").classes
    assert set(train.counts()) == {300} and set(test.counts()) == {60}
    assert not overlap_mask(train.images, test.images).any()
    assert not overlap_mask(train.images, letters_test.images).any()
    assert not overlap_mask(test.images, letters_test.images).any()
    rows, cols = ink_extent(mean_of(test, "1"))
    assert rows > cols  # upright


def test_letters_case_dev_keeps_case_and_spares_letters_dev_test(real_data_dir: Path) -> None:
    train = load_dataset("letters-case-dev", "train", real_data_dir)
    letters_test = load_dataset("letters-dev", "test", real_data_dir)
    assert len(train.classes) == 52 and train.classes[0] == "A" and train.classes[-1] == "z"
    assert (train.counts() > 0).all()
    assert not overlap_mask(train.images, letters_test.images).any()


def test_loaded_sets_are_read_only(real_data_dir: Path) -> None:
    test = load_dataset("mnist", "test", real_data_dir)
    with pytest.raises(ValueError):
        test.images[0, 0, 0] = 1


def test_emnist_under_gzip_layout(tmp_path: Path) -> None:
    images, labels = glyphs(94, 47)
    write_emnist_split(tmp_path / "gzip", "balanced", "test", images, labels)
    test = load_dataset("emnist-balanced", "test", tmp_path)
    assert np.array_equal(test.images, images)  # transposed on disk, upright in memory
    assert np.array_equal(test.labels, labels)
    assert test.classes[36:] == tuple("abdefghnqrt")


def test_letters_labels_start_at_one(tmp_path: Path) -> None:
    images, labels = glyphs(52, 26)
    write_emnist_split(tmp_path / "emnist", "letters", "test", images, labels + 1)
    test = load_dataset("emnist-letters", "test", tmp_path)
    assert test.labels.min() == 0 and test.labels.max() == 25


def test_missing_files_say_how_to_get_them(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"not found.*charrec data fetch emnist --split letters"):
        load_dataset("emnist-letters", "train", tmp_path)


def test_count_mismatch_names_both_files(tmp_path: Path) -> None:
    images, labels = glyphs(20, 10)
    folder = tmp_path / "mnist"
    folder.mkdir()
    write_idx(folder / "t10k-images-idx3-ubyte.gz", images)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", labels[:15].astype(np.uint8))
    with pytest.raises(DataError, match=r"t10k-images.*20 images.*t10k-labels.*15 labels"):
        load_dataset("mnist", "test", tmp_path)


def test_labels_out_of_range(tmp_path: Path) -> None:
    images, labels = glyphs(20, 10)
    labels[3] = 12
    folder = tmp_path / "mnist"
    folder.mkdir()
    write_idx(folder / "t10k-images-idx3-ubyte", images)  # raw IDX is accepted too
    write_idx(folder / "t10k-labels-idx1-ubyte", labels.astype(np.uint8))
    with pytest.raises(DataError, match=r"labels run 0\.\.12, expected 0\.\.9"):
        load_dataset("mnist", "test", tmp_path)


def test_wrong_image_shape(tmp_path: Path) -> None:
    images, labels = glyphs(20, 10, size=32)
    folder = tmp_path / "mnist"
    folder.mkdir()
    write_idx(folder / "t10k-images-idx3-ubyte.gz", images)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", labels.astype(np.uint8))
    with pytest.raises(DataError, match=r"\(32, 32\), expected 28×28"):
        load_dataset("mnist", "test", tmp_path)
