"""Extra training images from other data sets or folders (data.extra)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from charrec.data.classes import DIGITS, UPPER
from charrec.data.extra import class_mapping, with_extra
from charrec.data.imageset import ImageSet
from charrec.errors import ConfigError, DataError
from charrec.train import TrainConfig, apply_overrides
from charrec.train.tensor_data import prepare_data


def image_set(classes: tuple[str, ...], labels: list[int], size: int = 28) -> ImageSet:
    images = np.stack([np.full((size, size), 10 * (k + 1), np.uint8) for k in labels])
    return ImageSet(images, np.array(labels, dtype=np.int64), classes, "made")


def extra(name: str, repeat: int = 1, take: dict[str, str] | None = None) -> SimpleNamespace:
    return SimpleNamespace(
        name=name, split="train", repeat=repeat, classes=None, renders=0, take=take or {}
    )


def test_classes_match_by_name_and_merge_case_where_the_target_does() -> None:
    assert class_mapping(("a", "B", "7"), UPPER).tolist() == [0, 1, -1]
    assert class_mapping(("7", "x"), DIGITS).tolist() == [7, -1]


def test_extra_images_join_with_mapped_labels_repeated(monkeypatch: pytest.MonkeyPatch) -> None:
    train = image_set(("A", "B"), [0, 1])
    other = image_set(("a", "b", "z", "7"), [0, 1, 2, 3])
    monkeypatch.setattr("charrec.data.registry.load_dataset", lambda *a, **k: other)
    monkeypatch.setattr("charrec.data.registry.dataset_splits", lambda *a: ("train",))
    mixed = with_extra(train, [extra("other", repeat=2)], None)
    assert mixed.classes == ("A", "B")
    # The train images, then a and b twice each; z and 7 are not letters A or B.
    assert mixed.labels.tolist() == [0, 1, 0, 1, 0, 1]
    assert mixed.images[2:, 0, 0].tolist() == [10, 20, 10, 20]


def test_taken_classes_join_under_the_names_given_and_no_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """g's lent to a digits set as 9s: its 7 (a digit too) and its q stay out."""
    train = image_set(DIGITS, [1, 9])
    other = image_set(("7", "g", "q"), [0, 1, 2, 1])
    monkeypatch.setattr("charrec.data.registry.load_dataset", lambda *a, **k: other)
    monkeypatch.setattr("charrec.data.registry.dataset_splits", lambda *a: ("train",))
    mixed = with_extra(train, [extra("other", repeat=2, take={"g": "9"})], None)
    assert mixed.labels.tolist() == [1, 9, 9, 9, 9, 9]
    assert mixed.images[2:, 0, 0].tolist() == [20, 20, 20, 20]
    # A case-merged training set takes a lower-case name as its capital.
    letters = with_extra(image_set(UPPER, [0]), [extra("other", take={"q": "o"})], None)
    assert letters.labels.tolist() == [0, UPPER.index("O")]


def test_taking_a_class_either_side_lacks_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    train, other = image_set(DIGITS, [1]), image_set(("g",), [0])
    monkeypatch.setattr("charrec.data.registry.load_dataset", lambda *a, **k: other)
    monkeypatch.setattr("charrec.data.registry.dataset_splits", lambda *a: ("train",))
    with pytest.raises(DataError, match=r"other: it has no class 'q' to take"):
        with_extra(train, [extra("other", take={"q": "9"})], None)
    with pytest.raises(DataError, match=r"other: its 'g' cannot be taken as 'x'"):
        with_extra(train, [extra("other", take={"g": "x"})], None)


def test_extra_data_is_refused_when_it_cannot_join(monkeypatch: pytest.MonkeyPatch) -> None:
    train = image_set(("A", "B"), [0, 1])
    monkeypatch.setattr("charrec.data.registry.dataset_splits", lambda *a: ("train",))
    digits = image_set(DIGITS, [3, 4])
    monkeypatch.setattr("charrec.data.registry.load_dataset", lambda *a, **k: digits)
    with pytest.raises(DataError, match=r"digits: none of its classes \(0, 1, .*\) is among"):
        with_extra(train, [extra("digits")], None)
    big = image_set(("A",), [0], size=32)
    monkeypatch.setattr("charrec.data.registry.load_dataset", lambda *a, **k: big)
    with pytest.raises(DataError, match=r"images are \(32, 32\), the training images \(28, 28\)"):
        with_extra(train, [extra("big")], None)


def test_extra_settings_are_checked() -> None:
    for values, message in (
        ({"name": "x", "repeat": 0}, r"data.extra\[0\].repeat must be ≥ 1"),
        ({"name": "x", "split": "test"}, r"data.extra\[0\]: the test split is for measuring"),
        ({"repeat": 2}, r"data.extra\[0\].name must name"),
    ):
        with pytest.raises(ConfigError, match=message):
            TrainConfig.from_dict({"data": {"extra": [values]}}).validate()
    with pytest.raises(ConfigError, match="must be a list"):
        TrainConfig.from_dict({"data": {"extra": "unipen"}})
    config = TrainConfig.from_dict({"data": {"extra": [{"name": "unipen-digits", "repeat": 3}]}})
    assert TrainConfig.from_yaml(config.to_yaml()) == config
    # YAML reads a digit as a number; class names are kept as text.
    taken = TrainConfig.from_yaml("data:\n  extra: [{name: unipen, take: {g: 9}}]\n")
    assert taken.data.extra[0].take == {"g": "9"}
    assert TrainConfig.from_yaml(taken.to_yaml()) == taken
    with pytest.raises(ConfigError, match=r"'data.extra\[0\].take' must be a mapping"):
        TrainConfig.from_dict({"data": {"extra": [{"name": "x", "take": ["g"]}]}})


def test_a_folder_joins_the_training_part_only(
    tiny_config: Callable[..., TrainConfig], tmp_path: Path
) -> None:
    """A user's folder of 3s and x's beside MNIST: its 3s train, its x's are left out."""
    folder = tmp_path / "mine"
    for label in ("3", "x"):
        (folder / label).mkdir(parents=True)
        for k in range(4):
            image = np.zeros((28, 28), np.uint8)
            image[6:22, 10 + k : 14 + k] = 255
            Image.fromarray(image).save(folder / label / f"{k}.png")
    base = tiny_config({"data.val_fraction": 0.2})
    plain = prepare_data(base)
    config = apply_overrides(base, {"data.extra": [{"name": str(folder), "repeat": 2}]})
    mixed = prepare_data(config)
    assert len(mixed.train_y) == len(plain.train_y) + 8
    assert mixed.train_y[-8:].tolist() == [3] * 8
    assert np.array_equal(mixed.val_y.numpy(), plain.val_y.numpy())
    assert mixed.fingerprint != plain.fingerprint


def test_the_picture_frame_is_recorded_and_used_by_predict(
    run_tiny: Callable[..., object], tmp_path: Path
) -> None:
    """MNIST alone: MNIST's frame; with extra pictures (framed as EMNIST is) or when the
    recipe says so: EMNIST's. `charrec.load` frames pictures as model.json records."""
    import charrec
    from charrec.train.checkpoint import load_run

    plain = run_tiny()
    assert load_run(plain.run_dir)[1]["preprocessing"]["frame"] == "mnist"
    assert charrec.load(plain.run_dir).preprocessor.config.style == "mnist"
    chosen = run_tiny({"data.frame": "emnist"})
    assert load_run(chosen.run_dir)[1]["preprocessing"]["frame"] == "emnist"
    assert charrec.load(chosen.run_dir).preprocessor.config.style == "emnist"
    with pytest.raises(ConfigError, match="unknown picture frame 'box'"):
        TrainConfig.from_dict({"data": {"frame": "box"}}).validate()


def test_extra_data_defaults_to_the_emnist_frame() -> None:
    from charrec.train.tensor_data import picture_frame

    config = TrainConfig.from_dict({"data": {"name": "mnist"}})
    assert picture_frame(config.data) == "mnist"
    config = TrainConfig.from_dict({"data": {"name": "mnist", "extra": [{"name": "x"}]}})
    assert picture_frame(config.data) == "emnist"
    assert picture_frame(TrainConfig.from_dict({"data": {"name": "letters"}}).data) == "emnist"
