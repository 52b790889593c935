"""The real handwriting sets (`unipen`, `unipen-letters`, `unipen-digits`, `semeion`,
`optdigits`): read in place from realworld/, framed as `charrec predict` frames pictures."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from charrec.data import dataset_splits, default_split, get_spec, load_dataset
from charrec.data.classes import DIGITS, EMNIST_CLASSES, UPPER
from charrec.data.readers.pictures import class_of, read_pictures
from charrec.data.realworld_sets import is_test_writer
from charrec.errors import DataError
from charrec.infer.preprocess import Preprocessor

# The tiny unipen folder: (file, label), dark ink on white as the real one.
UNIPEN = [
    ("digit_1/u1.png", "1"),
    ("digit_7/u2.png", "7"),
    ("upper_A/u3.png", "A"),
    ("lower_a/u4.png", "a"),
    ("upper_T/u5.png", "T"),
    ("lower_t/u6.png", "t"),
    ("upper_O/u7.png", "O"),
]


def drawn(char: str, size: int = 64) -> Image.Image:
    """A character drawn dark on white, filling most of a size×size picture."""
    image = Image.new("L", (size, size), 255)
    font = ImageFont.load_default(size=int(size * 0.8))
    ImageDraw.Draw(image).text((size / 2, size / 2), char, fill=0, font=font, anchor="mm")
    return image


def write_set(folder: Path, rows: list[tuple[str, str]], size: int = 64) -> Path:
    folder.mkdir(parents=True)
    for path, label in rows:
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        drawn(label, size).save(folder / path)
    with open(folder / "labels.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label"])
        writer.writerows(rows)
    return folder


def write_writers(folder: Path, writers: list[tuple[str, str]]) -> None:
    """meta.csv naming each picture's (contributor, writer), as the real unipen/ has."""
    with open(folder / "labels.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    with open(folder / "meta.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "contributor", "writer"])
        for row, (contributor, who) in zip(rows, writers, strict=True):
            writer.writerow([row["path"], row["label"], contributor, who])


def a_test_writer(test: bool) -> tuple[str, str]:
    return next(
        ("kai", f"w{k}") for k in range(100) if is_test_writer("kai", f"w{k}") == test
    )


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    unipen = write_set(tmp_path / "realworld" / "unipen", UNIPEN)
    # All but the first two pictures are by a test writer.
    writers = [a_test_writer(False)] * 2 + [a_test_writer(True)] * (len(UNIPEN) - 2)
    write_writers(unipen, writers)
    write_set(tmp_path / "realworld" / "semeion", [("digit_3/s0.png", "3")], size=16)
    return tmp_path


def test_registered_sets_and_their_splits() -> None:
    for name, classes, splits in (
        ("unipen", EMNIST_CLASSES["byclass"], ("train", "test")),
        ("unipen-letters", UPPER, ("train", "test")),
        ("unipen-digits", DIGITS, ("train", "test")),
        ("semeion", DIGITS, ("test",)),
        ("optdigits", DIGITS, ("test",)),
    ):
        spec = get_spec(name)
        assert spec.classes == classes
        assert dataset_splits(name) == splits
        assert default_split(dataset_splits(name), "test") == "test"
        assert spec.files["test"][0].folders == (f"realworld/{name.split('-')[0]}",)


def test_unipen_is_split_by_writer(data_dir: Path) -> None:
    train = load_dataset("unipen", "train", data_dir)
    test = load_dataset("unipen", "test", data_dir)
    assert [train.classes[k] for k in train.labels] == ["1", "7"]
    assert [test.classes[k] for k in test.labels] == [c for _, c in UNIPEN[2:]]
    # The split is by a checksum of the writer, the same on every machine.
    assert is_test_writer("kai", "w0") == is_test_writer("kai", "w0")
    share = np.mean([is_test_writer("kai", f"w{k}") for k in range(3000)])
    assert 0.3 < share < 0.37


def test_unipen_without_writers_is_refused(tmp_path: Path) -> None:
    write_set(tmp_path / "realworld" / "unipen", UNIPEN)
    with pytest.raises(DataError, match=r"meta.csv: file not found; its writers split"):
        load_dataset("unipen-digits", "test", tmp_path)


def test_letters_merge_case_and_leave_digits_out(data_dir: Path) -> None:
    letters = load_dataset("unipen-letters", "test", data_dir)
    assert letters.classes == UPPER
    assert [letters.classes[k] for k in letters.labels] == ["A", "A", "T", "T", "O"]
    assert letters.name == "unipen-letters:test"


def test_all_classes_keep_case(data_dir: Path) -> None:
    everything = load_dataset("unipen", "test", data_dir)
    assert [everything.classes[k] for k in everything.labels] == [c for _, c in UNIPEN[2:]]
    digits = load_dataset("unipen-digits", "train", data_dir)
    assert [digits.classes[k] for k in digits.labels] == ["1", "7"]


def test_pictures_are_framed_as_predict_frames_them(data_dir: Path) -> None:
    everything = load_dataset("unipen", "test", data_dir)
    assert everything.images.shape == (len(UNIPEN) - 2, 28, 28)
    assert everything.images.dtype == np.uint8
    frame = Preprocessor()
    for image, source in zip(everything.images, everything.sources, strict=True):
        assert np.array_equal(image, frame(source).image)
        # White ink on black, the ink box's longer side about 24 pixels (EMNIST's frame).
        assert image[0].max() == 0 and image.max() == 255
    # A 16×16 picture (Semeion's size) is framed the same way.
    (three,) = load_dataset("semeion", "test", data_dir).images
    assert three.shape == (28, 28) and three.max() == 255


def test_a_picture_without_a_character_is_an_empty_image(tmp_path: Path) -> None:
    folder = write_set(tmp_path / "set", [("a.png", "4"), ("b.png", "5")])
    Image.new("L", (64, 64), 255).save(folder / "b.png")
    pictures = read_pictures(folder, DIGITS)
    assert pictures.images[0].max() == 255
    assert pictures.images[1].max() == 0  # counted as a mistake, as predict refuses it


def test_every_keeps_a_sample(tmp_path: Path) -> None:
    rows = [(f"p{i}.png", str(i)) for i in range(10)]
    folder = write_set(tmp_path / "set", rows, size=32)
    sample = read_pictures(folder, DIGITS, every=3)
    assert [sample.classes[k] for k in sample.labels] == ["0", "3", "6", "9"]


def test_class_of_merges_case_only_where_the_classes_do() -> None:
    assert class_of("a", UPPER) == 0
    assert class_of("a", EMNIST_CLASSES["byclass"]) == 36
    assert class_of("7", UPPER) is None
    assert class_of("Z", DIGITS) is None


def test_missing_folder_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"labels.csv not found .*realworld/optdigits"):
        load_dataset("optdigits", "test", tmp_path)


def test_bad_labels_file_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "labels.csv").write_text("file,class\na.png,1\n")
    with pytest.raises(DataError, match="path,label"):
        read_pictures(folder, DIGITS)
    (folder / "labels.csv").write_text("path,label\na.png,10\n")
    with pytest.raises(DataError, match=r"'10' of a\.png is not one character"):
        read_pictures(folder, DIGITS)
    (folder / "labels.csv").write_text("path,label\na.png,Q\n")
    with pytest.raises(DataError, match="no picture has a label among"):
        read_pictures(folder, DIGITS)


def test_real_semeion(real_data_dir: Path) -> None:
    if not (real_data_dir / "realworld" / "semeion" / "labels.csv").is_file():
        pytest.skip("realworld/semeion is not in the data folder")
    semeion = load_dataset("semeion", "test", real_data_dir)
    assert len(semeion) == get_spec("semeion").sizes["test"] == 1_593
    assert semeion.counts().tolist() == [161, 162, 159, 159, 161, 159, 161, 158, 155, 158]
    # Every picture holds a character, framed like EMNIST: ink in the middle, none at
    # the frame's edge, the longer side of the ink's box 24-26 pixels.
    assert (semeion.images.reshape(len(semeion), -1).max(axis=1) == 255).all()
    assert semeion.images[:, 0].max() == 0 and semeion.images[:, :, 0].max() == 0
    rows = (semeion.images > 0).any(axis=2)
    cols = (semeion.images > 0).any(axis=1)
    longer = np.maximum(rows.sum(axis=1), cols.sum(axis=1))
    assert 24 <= np.median(longer) <= 26


def test_a_labelled_folder_is_a_data_file_everywhere(tmp_path: Path) -> None:
    """`--data FOLDER` with a labels.csv: its labels are its classes, sorted; a class
    list keeps only its classes, case merged where it merges case."""
    from charrec.data.files import read_parts

    folder = write_set(tmp_path / "mine", UNIPEN)
    (everything,) = read_parts(folder).values()
    assert everything.classes == ("1", "7", "A", "O", "T", "a", "t")
    assert [everything.classes[k] for k in everything.labels] == [c for _, c in UNIPEN]
    assert np.array_equal(everything.images, read_pictures(folder, everything.classes).images)
    letters = read_parts(folder, "letters")["all"]
    assert [letters.classes[k] for k in letters.labels] == ["A", "A", "T", "T", "O"]
    # train/ and test/ parts, each with its own labels.csv.
    write_set(tmp_path / "split" / "train", UNIPEN[:3])
    write_set(tmp_path / "split" / "test", UNIPEN[3:])
    parts = read_parts(tmp_path / "split")
    assert sorted(parts) == ["test", "train"]
    assert parts["train"].classes == ("1", "7", "A")
