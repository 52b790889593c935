"""Handwriting drawn anew from its pen strokes (`data.extra` with `renders: k`)."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from charrec.data import pen_renders
from charrec.data.classes import DIGITS, UPPER
from charrec.data.extra import with_extra
from charrec.data.imageset import ImageSet
from charrec.data.pen_renders import draw, drawn_part, pen_rendered, read_strokes
from charrec.data.realworld_sets import is_test_writer
from charrec.errors import ConfigError, DataError
from charrec.train import TrainConfig


def circle(cx: float = 0.0, radius: float = 100.0, points: int = 40) -> list[list[float]]:
    angles = np.linspace(0, 2 * np.pi, points)
    return [[cx + radius * np.cos(a), radius * np.sin(a)] for a in angles]


def bar(x: float = 0.0) -> list[list[float]]:
    """A vertical stroke 200 tablet units tall, drawn top to bottom (y points up)."""
    return [[x, 100.0 - k * 20.0] for k in range(11)]


# (picture path, label, strokes): an O, an l, a lower-case o and a digit 7.
CHARACTERS = [
    ("upper_O/p1.png", "O", [circle()]),
    ("lower_l/p2.png", "l", [bar()]),
    ("lower_o/p3.png", "o", [circle(radius=60.0)]),
    ("digit_7/p4.png", "7", [[[-80.0, 100.0], [80.0, 100.0], [-20.0, -100.0]]]),
]


def write_strokes(folder: Path, characters=CHARACTERS, scale: float = 10.0) -> Path:
    """A picture folder as UNIPEN's: labels.csv, the pictures, and their strokes."""
    folder.mkdir(parents=True, exist_ok=True)
    with gzip.open(folder / "strokes.jsonl.gz", "wt", encoding="utf-8") as handle:
        for path, label, strokes in characters:
            record = {
                "path": path,
                "label": label,
                "x_points_per_unit": scale,
                "y_points_per_unit": scale,
                "y_axis": "up",
                "strokes": strokes,
            }
            handle.write(json.dumps(record) + "\n")
            picture = draw([np.asarray(s, float) / scale for s in strokes], 2.5)
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(picture).save(folder / path)
    with open(folder / "labels.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label"])
        writer.writerows((path, label) for path, label, _ in characters)
    return folder


def test_a_stroke_is_drawn_as_the_pictures_are_centred_longer_side_56() -> None:
    picture = draw([np.asarray(bar(), float)], 2.5)
    assert picture.shape == (64, 64) and picture.dtype == np.uint8
    ink = picture < 128
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    # The stroke's length is the longer side, 56 px, plus the round pen's ends.
    assert 56 <= rows[-1] - rows[0] + 1 <= 60
    assert 30 <= cols.mean() <= 33
    # A wider pen leaves more ink.
    assert (draw([np.asarray(bar(), float)], 4.5) < 128).sum() > 1.5 * ink.sum()


def test_y_points_up_in_the_strokes_and_down_in_the_picture() -> None:
    # A stroke from the bottom left to the top right (y up) is a "/" in the picture.
    picture = draw([np.array([[0.0, 0.0], [100.0, 100.0]])], 3.0) < 128
    assert picture[8, 55] and picture[55, 8]
    assert not picture[8, 8] and not picture[55, 55]


def test_drawings_vary_and_repeat_with_the_seed(tmp_path: Path) -> None:
    folder = write_strokes(tmp_path / "pen")
    first = pen_rendered(folder, UPPER, 3, seed=0)
    # O, l and o are letters; the 7 is left out. Three drawings of each, case merged.
    assert first.labels.tolist() == [14] * 3 + [11] * 3 + [14] * 3
    assert first.image_shape == (28, 28)
    assert (first.images.reshape(len(first), -1).max(axis=1) == 255).all()
    # Each drawing of a character differs from the others (pen width, stroke moves).
    o1, o2, o3 = first.images[:3].astype(int)
    assert np.abs(o1 - o2).sum() > 0 and np.abs(o2 - o3).sum() > 0
    again = pen_rendered(folder, UPPER, 3, seed=0)
    assert np.array_equal(first.images, again.images)
    other = pen_rendered(folder, UPPER, 3, seed=1)
    assert not np.array_equal(first.images, other.images)


def test_drawings_are_kept_and_read_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write_strokes(tmp_path / "pen")
    first = pen_rendered(folder, DIGITS, 2)
    assert first.labels.tolist() == [7, 7]
    assert len(list(pen_renders.cache_dir().glob("*.npz"))) == 1

    def no_drawing(*args, **kwargs):
        raise AssertionError("drawn again")

    monkeypatch.setattr(pen_renders, "_draw_all", no_drawing)
    assert np.array_equal(pen_rendered(folder, DIGITS, 2).images, first.images)
    # Other strokes are other drawings: the cache key holds the file's bytes.
    write_strokes(folder, [*CHARACTERS[:3], ("digit_7/p4.png", "7", [bar(), bar(50.0)])])
    with pytest.raises(AssertionError, match="drawn again"):
        pen_rendered(folder, DIGITS, 2)


def test_a_damaged_cache_file_is_drawn_again(tmp_path: Path) -> None:
    folder = write_strokes(tmp_path / "pen")
    first = pen_rendered(folder, DIGITS, 1)
    (cached,) = pen_renders.cache_dir().glob("*.npz")
    for damaged in (b"not an npz", cached.read_bytes()[:100]):
        cached.write_bytes(damaged)
        assert np.array_equal(pen_rendered(folder, DIGITS, 1).images, first.images)


def test_bad_strokes_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"strokes\.jsonl\.gz: file not found"):
        list(read_strokes(tmp_path))
    folder = write_strokes(tmp_path / "pen")
    with gzip.open(folder / "strokes.jsonl.gz", "at", encoding="utf-8") as handle:
        handle.write('{"path": "x.png", "label": "x"}\n')
    with pytest.raises(DataError, match="line 5 is not a character's strokes"):
        list(read_strokes(folder))
    (folder / "strokes.jsonl.gz").write_bytes(b"\x1f\x8b broken")
    with pytest.raises(DataError, match=r"strokes\.jsonl\.gz: cannot read"):
        list(read_strokes(folder))
    with pytest.raises(DataError, match="no character has a label among A"):
        pen_rendered(write_strokes(tmp_path / "digits", CHARACTERS[3:]), ("A",), 1)


def write_unipen(data_dir: Path) -> Path:
    """realworld/unipen with the O and l by a train writer, the o and 7 by a test one."""
    folder = write_strokes(data_dir / "realworld" / "unipen")
    train = next(f"w{k}" for k in range(100) if not is_test_writer("kai", f"w{k}"))
    test = next(f"w{k}" for k in range(100) if is_test_writer("kai", f"w{k}"))
    with open(folder / "meta.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "contributor", "writer"])
        for (path, label, _), who in zip(CHARACTERS, [train, train, test, test], strict=True):
            writer.writerow([path, label, "kai", who])
    return folder


def test_a_named_set_is_drawn_from_its_train_writers(tmp_path: Path) -> None:
    write_unipen(tmp_path)
    train = drawn_part("unipen-letters", None, tmp_path, 2, UPPER)
    assert train.classes == UPPER and train.labels.tolist() == [14, 14, 11, 11]
    test = drawn_part("unipen-letters", "test", tmp_path, 1, UPPER)
    assert test.labels.tolist() == [14]
    digits = drawn_part("unipen-digits", "test", tmp_path, 1, UPPER)
    assert digits.classes == DIGITS and digits.labels.tolist() == [7]


def test_sets_without_pen_strokes_are_refused(tmp_path: Path) -> None:
    semeion = tmp_path / "realworld" / "semeion"
    semeion.mkdir(parents=True)
    (semeion / "labels.csv").write_text("path,label\n")
    with pytest.raises(DataError, match="semeion: renders needs on-line handwriting"):
        drawn_part("semeion", "test", tmp_path, 1, DIGITS)
    folder = tmp_path / "mine"
    folder.mkdir()
    with pytest.raises(DataError, match=r"renders needs a folder of pictures with labels\.csv"):
        drawn_part(str(folder), None, tmp_path, 1, DIGITS)


def test_extra_data_drawn_anew_joins_the_training_images(tmp_path: Path) -> None:
    folder = write_strokes(tmp_path / "pen")
    images = np.zeros((2, 28, 28), np.uint8)
    train = ImageSet(images, np.array([0, 1], dtype=np.int64), ("L", "O"), "made")
    extra = SimpleNamespace(
        name=str(folder), split=None, repeat=2, classes=None, renders=3, take={}
    )
    mixed = with_extra(train, [extra], None)
    # Three drawings each of O, l and o (case merged), repeated twice.
    assert mixed.labels.tolist() == [0, 1] + ([1] * 3 + [0] * 3 + [1] * 3) * 2


def test_renders_is_checked() -> None:
    with pytest.raises(ConfigError, match=r"data.extra\[0\].renders must be ≥ 0"):
        TrainConfig.from_dict(
            {"data": {"extra": [{"name": "unipen-letters", "renders": -1}]}}
        ).validate()
    config = TrainConfig.from_dict({"data": {"extra": [{"name": "unipen", "renders": 3}]}})
    assert TrainConfig.from_yaml(config.to_yaml()).data.extra[0].renders == 3


def test_drawing_again_reproduces_the_unipen_pictures(real_data_dir: Path) -> None:
    folder = real_data_dir / "realworld" / "unipen"
    if not (folder / "strokes.jsonl.gz").is_file():
        pytest.skip("realworld/unipen is not in the data folder")
    # The set's pictures were drawn from the same strokes with a 2.5 px pen.
    for _, (path, _, strokes) in zip(range(25), read_strokes(folder), strict=False):
        picture = np.asarray(Image.open(folder / path).convert("L"), float)
        again = draw(strokes, 2.5).astype(float)
        assert np.corrcoef(picture.ravel(), again.ravel())[0, 1] > 0.97, path
