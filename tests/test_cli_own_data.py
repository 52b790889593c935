"""A user's own files, by path, everywhere a data set name is: train, evaluate, data show.

Each format gets a tiny generated file: an IDX pair (MNIST's and EMNIST's names, and any
name with --classes), an EMNIST .mat, a course .npz with train/validate/test parts, a
Kaggle CSV under any name, and an image folder with train/ and test/.
"""

from __future__ import annotations

import json
import string
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import yaml

from charrec.data import canonical_name, data_label, dataset_splits, get_spec, load_dataset
from charrec.errors import DataError
from clirun import cli
from datagen import (
    glyphs,
    write_course_npz,
    write_emnist_mat,
    write_idx_pair,
    write_image_folder,
    write_kaggle_csv,
)

LETTERS = string.ascii_uppercase


def letters(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    return glyphs(count, 26, seed=seed)


def mnist_idx_folder(tmp: Path) -> tuple[str, list[str]]:
    folder = tmp / "my-mnist"
    write_idx_pair(folder, "", "train", *glyphs(120, 10), transposed=False)
    write_idx_pair(folder, "", "t10k", *glyphs(30, 10, seed=1), transposed=False)
    return str(folder), []


def emnist_idx_file(tmp: Path) -> tuple[str, list[str]]:
    images, labels = letters(286)
    # EMNIST Letters' labels run 1..26 in its files.
    images_path = write_idx_pair(tmp, "emnist-letters-", "train", images, labels + 1, True)
    return str(images_path), []


def any_name_idx_file(tmp: Path) -> tuple[str, list[str]]:
    images, labels = letters(286)
    path = write_idx_pair(tmp, "scans-", "train", images, labels + 1, transposed=True)
    return str(path), ["--classes", "letters"]


def emnist_mat(tmp: Path) -> tuple[str, list[str]]:
    parts = {"train": letters(286), "test": letters(52, seed=1)}
    return str(write_emnist_mat(tmp / "emnist-letters.mat", parts)), []


def course_npz(tmp: Path) -> tuple[str, list[str]]:
    parts = {"train": letters(260), "validate": letters(52, seed=1), "test": letters(78, seed=2)}
    return str(write_course_npz(tmp / "emnist_letter.npz", parts)), []


def kaggle_csv(tmp: Path) -> tuple[str, list[str]]:
    images, labels = letters(286)
    return str(write_kaggle_csv(tmp / "my letters.csv", images, labels + 1)), [
        "--classes",
        "letters",
    ]


def image_folder(tmp: Path) -> tuple[str, list[str]]:
    parts = {"train": glyphs(60, 3), "test": glyphs(15, 3, seed=1)}
    return str(write_image_folder(tmp / "scans", parts, "ABC")), []


FORMATS: dict[str, Callable[[Path], tuple[str, list[str]]]] = {
    "idx-folder-mnist-names": mnist_idx_folder,
    "idx-file-emnist-name": emnist_idx_file,
    "idx-file-any-name": any_name_idx_file,
    "emnist-mat": emnist_mat,
    "course-npz": course_npz,
    "kaggle-csv": kaggle_csv,
    "image-folder": image_folder,
}


@pytest.mark.parametrize("kind", list(FORMATS))
def test_train_evaluate_and_show_from_a_path(kind: str, tmp_path: Path) -> None:
    path, options = FORMATS[kind](tmp_path)
    run = tmp_path / "run"
    args = ["train", "--data", path, *options, "--model", "mlp", "--hidden", "16"]
    code, _, err = cli([*args, "--epochs", "1", "--device", "cpu", "--out", str(run), "-q"])
    assert code == 0, err
    meta = json.loads((run / "model.json").read_text())
    # The path is recorded absolute, with the class list, so the run reruns from anywhere.
    assert meta["data"]["name"] == str(Path(path).resolve())
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["data"]["name"] == str(Path(path).resolve())
    assert config["data"]["classes"] == (options[1] if options else None)
    parts = dataset_splits(path, classes=config["data"]["classes"])
    metrics = json.loads((run / "metrics.json").read_text())
    assert (metrics["test"] is not None) == ("test" in parts)

    code, out, err = cli(["evaluate", str(run)])
    assert code == 0, err
    split = "test" if "test" in parts else parts[0]
    assert f":{split}: " in out
    assert (run / "evaluation").is_dir()

    code, out, err = cli(["compare", str(run)])
    assert code == 0, err
    assert data_label(path) in out and str(tmp_path) not in out  # the name, not the path

    grid = tmp_path / "grid.png"
    code, out, err = cli(["data", "show", path, *options, "-n", "8", "--out", str(grid)])
    assert code == 0, err
    assert grid.stat().st_size > 1000 and "wrote" in out


def test_a_course_npz_validates_on_its_validate_part(tmp_path: Path) -> None:
    path, _ = course_npz(tmp_path)
    run = tmp_path / "run"
    args = ["train", "--data", path, "--model", "mlp", "--hidden", "16", "--epochs", "1"]
    code, _, err = cli([*args, "--device", "cpu", "--out", str(run), "-q"])
    assert code == 0, err
    data = json.loads((run / "model.json").read_text())["data"]
    # Its own 52 validation images, not 10% carved out of its 260 training images.
    assert (data["train_images"], data["val_images"]) == (260, 52)
    assert data["split"] == "train" and data["val_split"] == "validate"
    # Tested on its own 78 test images, by the trainer and by `charrec evaluate`.
    assert json.loads((run / "metrics.json").read_text())["test"] is not None
    code, out, err = cli(["evaluate", str(run)])
    assert code == 0, err
    assert "on emnist_letter:test: 78 images" in out


def test_a_file_with_one_part_gets_a_stratified_validation_split(tmp_path: Path) -> None:
    path, options = kaggle_csv(tmp_path)
    run = tmp_path / "run"
    args = ["train", "--data", path, *options, "--model", "mlp", "--hidden", "16"]
    code, _, err = cli([*args, "--epochs", "1", "--device", "cpu", "--out", str(run), "-q"])
    assert code == 0, err
    data = json.loads((run / "model.json").read_text())["data"]
    assert data["val_split"] is None
    assert (data["train_images"], data["val_images"]) == (257, 29)  # 10%, rounded up


def test_a_csv_under_any_name_needs_its_classes_and_the_error_says_how(tmp_path: Path) -> None:
    path, _ = kaggle_csv(tmp_path)
    with pytest.raises(DataError, match="--classes"):
        load_dataset(path, "all")
    code, _, err = cli(["data", "info", path])
    assert code == 2 and "--classes" in err and "Traceback" not in err
    dataset = load_dataset(path, "all", classes="letters")
    assert dataset.classes == tuple(LETTERS) and len(dataset) == 286
    assert dataset.labels.min() == 0  # Letters' 1..26 became 0..25
    # The same file read as balanced: other classes, the labels taken as they are.
    balanced = load_dataset(path, "all", classes="balanced")
    assert len(balanced.classes) == 47 and balanced.labels.min() == 1
    code, _, err = cli(["data", "info", path, "--classes", "greek"])
    assert code == 2 and "unknown class list 'greek'" in err


def test_a_kaggle_name_tells_its_classes(tmp_path: Path) -> None:
    images, labels = glyphs(47, 47)
    path = write_kaggle_csv(tmp_path / "emnist-balanced-test.csv", images, labels)
    assert dataset_splits(str(path)) == ("test",)
    assert len(load_dataset(str(path), "test").classes) == 47


def test_classes_of_a_named_data_set_are_refused(tmp_path: Path) -> None:
    run = tmp_path / "run"
    code, _, err = cli(["train", "--data", "mnist", "--classes", "letters", "--out", str(run)])
    assert code == 2 and "mnist has its own classes" in err and not run.exists()


def test_short_names() -> None:
    assert canonical_name("letters") == "emnist-letters"
    assert canonical_name("bad") == "binary-alphadigits"
    assert canonical_name("mnist") == "mnist" and canonical_name("digits") == "emnist-digits"
    assert get_spec("balanced").name == "emnist-balanced"
    assert get_spec("byclass").name == "emnist-byclass" and get_spec("bymerge").splits


def test_short_names_load_and_show(real_data_dir: Path, tmp_path: Path) -> None:
    bad = load_dataset("bad", "all", real_data_dir)
    assert bad is load_dataset("binary-alphadigits", "all", real_data_dir)
    # data show picks the only split of a set without "train".
    grid = tmp_path / "bad.png"
    code, out, err = cli(
        ["data", "show", "bad", "--data-dir", str(real_data_dir), "--out", str(grid)]
    )
    assert code == 0, err
    assert "binary-alphadigits:all" in out and grid.is_file()


def test_letters_without_its_files_points_at_letters_dev(tmp_path: Path) -> None:
    code, _, err = cli(["data", "info", "letters", "--data-dir", str(tmp_path)])
    assert code == 2 and "letters-dev" in err and "charrec data fetch emnist" in err
    run = tmp_path / "run"
    args = ["train", "--data", "letters", "--data-dir", str(tmp_path), "--out", str(run)]
    code, _, err = cli([*args, "-q"])
    assert code == 2 and "letters-dev" in err and "Traceback" not in err
    config = yaml.safe_load((run / "config.yaml").read_text()) if run.exists() else None
    assert config is None or config["data"]["name"] == "emnist-letters"


def test_data_list_shows_short_names_and_the_missing_files(tmp_path: Path) -> None:
    from charrec.commands.data import _presence

    images, labels = letters(26)
    write_idx_pair(tmp_path / "emnist", "emnist-letters-", "train", images, labels + 1, True)
    presence = _presence(get_spec("letters"), tmp_path)
    assert presence.startswith("train; ") and "missing 2 of 4 files" in presence
    assert "emnist-letters-test-images-idx3-ubyte.gz" in presence
    assert _presence(get_spec("mnist"), tmp_path) == "[dim]no[/]"
    code, out, err = cli(["data", "list", "--data-dir", str(tmp_path)])
    assert code == 0, err
    assert "or letters" in out and "or bad" in out and "missing" in out


def test_a_missing_path_is_one_clear_error_and_no_run_is_left(tmp_path: Path) -> None:
    run = tmp_path / "run"
    code, _, err = cli(["train", "--data", str(tmp_path / "nope.npz"), "--out", str(run)])
    assert code == 2 and "no such file or folder" in err and "Traceback" not in err
    assert not run.exists()
