"""Non-28×28 images become 28×28 at load, by a named policy: EMNIST framing or pad."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from charrec.data import load_dataset
from charrec.data.readers.alphadigits import read_binary_alphadigits
from charrec.data.resize import POLICIES, resize_with_pad, to_square
from charrec.errors import ConfigError
from charrec.train.config import RESIZES, TrainConfig, apply_overrides


def test_pad_keeps_the_aspect_ratio_of_a_20x16_bitmap() -> None:
    # A bitmap whose every pixel is ink: its 28×28 image is the scaled bitmap between bands.
    full = np.ones((1, 20, 16), dtype=np.uint8)
    out = resize_with_pad(full)[0]
    assert out.shape == (28, 28) and out.dtype == np.uint8
    ink_cols = np.flatnonzero(out.max(axis=0) > 127)
    ink_rows = np.flatnonzero(out.max(axis=1) > 127)
    # 20 rows fill 28, so 16 columns become 16 · 28/20 = 22.4 → 22, centred: 3 + 22 + 3.
    assert (ink_rows[0], ink_rows[-1]) == (0, 27)
    assert (ink_cols[0], ink_cols[-1]) == (3, 24)
    assert out[:, :3].max() == 0 and out[:, 25:].max() == 0


def test_pad_keeps_position_emnist_recentres() -> None:
    # A dot in the top-left corner stays there with pad; EMNIST framing centres the ink.
    corner = np.zeros((1, 20, 16), dtype=np.uint8)
    corner[0, 0:4, 0:4] = 1
    padded, framed = to_square(corner, "pad")[0], to_square(corner, "emnist")[0]
    rows, cols = np.nonzero(padded > 127)
    assert rows.max() < 8 and cols.min() >= 3 and cols.max() < 11
    rows, cols = np.nonzero(framed > 127)
    assert abs(rows.mean() - 13.5) < 1 and abs(cols.mean() - 13.5) < 1


def test_policy_names_agree_with_the_config() -> None:
    assert tuple(POLICIES) == RESIZES
    with pytest.raises(ConfigError, match="resize policy"):
        apply_overrides(TrainConfig(), {"data.resize": "stretch"}).validate()
    with pytest.raises(ConfigError, match="resize policy"):
        to_square(np.zeros((1, 20, 16), dtype=np.uint8), "stretch")


def test_named_set_by_policy(real_data_dir: Path) -> None:
    emnist = load_dataset("binary-alphadigits-letters", "all", real_data_dir, resize="emnist")
    padded = load_dataset("binary-alphadigits-letters", "all", real_data_dir, resize="pad")
    assert emnist.images.shape == padded.images.shape == (1014, 28, 28)
    assert (emnist.labels == padded.labels).all()
    # pad leaves the 3-pixel side bands of a 20×16 bitmap empty; EMNIST leaves 2-pixel ones.
    assert padded.images[:, :, :3].max() == 0 and padded.images[:, :, 25:].max() == 0
    assert not np.array_equal(emnist.images, padded.images)


def test_course_binaryalphadigits_npz_is_28x28_at_load(real_data_dir: Path, tmp_path: Path) -> None:
    # The course form: images N×20×16 of 0/1, one-hot labels over 27 columns, column 0 unused.
    native = read_binary_alphadigits(
        real_data_dir / "binaryalphadigits" / "binaryalphadigs.mat", letters_only=True
    )
    one_hot = np.zeros((len(native), 27), dtype=np.float32)
    one_hot[np.arange(len(native)), native.labels + 1] = 1
    path = tmp_path / "binaryalphadigits.npz"
    np.savez(path, images=(native.images > 0).astype(np.uint8), labels=one_hot)
    loaded = load_dataset(str(path), "train")
    named = load_dataset("binary-alphadigits-letters", "all", real_data_dir)
    assert loaded.images.shape == (1014, 28, 28)
    assert loaded.classes == named.classes
    assert np.array_equal(loaded.images, named.images)
    assert np.array_equal(loaded.labels, named.labels)
    assert load_dataset(str(path), "all", resize="pad").images.shape == (1014, 28, 28)


def test_per_class_subsample_keeps_n_of_each_class() -> None:
    from charrec.data.imageset import ImageSet
    from charrec.data.splits import per_class_subsample

    labels = np.repeat(np.arange(3, dtype=np.int64), [5, 8, 2])
    images = np.arange(len(labels), dtype=np.uint8)[:, None, None] * np.ones((1, 4, 4), np.uint8)
    dataset = ImageSet(images, labels, ("a", "b", "c"))
    kept = per_class_subsample(dataset, 3, seed=1)
    assert list(kept.counts()) == [3, 3, 2]
    again = per_class_subsample(dataset, 3, seed=1)
    assert np.array_equal(kept.images, again.images)
    assert not np.array_equal(kept.images, per_class_subsample(dataset, 3, seed=2).images)


def test_training_on_the_course_npz_records_its_policy(real_data_dir: Path, tmp_path: Path) -> None:
    from charrec.train import train

    native = read_binary_alphadigits(
        real_data_dir / "binaryalphadigits" / "binaryalphadigs.mat", letters_only=True
    )
    one_hot = np.zeros((len(native), 27), dtype=np.float32)
    one_hot[np.arange(len(native)), native.labels + 1] = 1
    path = tmp_path / "binaryalphadigits.npz"
    np.savez(path, images=(native.images > 0).astype(np.uint8), labels=one_hot)
    config = apply_overrides(
        TrainConfig(),
        {
            "data.name": str(path),
            "data.resize": "pad",
            "model.name": "chollet-mlp",
            "training.epochs": 1,
            "training.num_threads": 1,
            "run.out": str(tmp_path / "run"),
        },
    )
    result = train(config, verbose=False)
    assert result.metrics["val"]["accuracy"] > 1 / 26
    saved = TrainConfig.from_yaml(tmp_path / "run" / "config.yaml")
    assert saved.data.resize == "pad"
    meta = json.loads((tmp_path / "run" / "model.json").read_text())
    assert meta["preprocessing"]["input_size"] == [28, 28]
