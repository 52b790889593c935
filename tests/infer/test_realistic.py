"""The realistic test set: the generator, the tallies, the command, and accuracy floors.

The floors hold the shipped models to what `charrec bench realistic` measured on this
fixed small set, less a margin: a change to preprocessing or a retrained model that
loses accuracy on users' kind of pictures fails here.
"""

from __future__ import annotations

import dataclasses
import io
import json
import string
from pathlib import Path

import numpy as np
import pytest
from infer_images import correlation, render_text
from PIL import Image
from scipy import ndimage
from tiny_runs import mnist_mlp_run
from typer.testing import CliRunner

from charrec.cli import app
from charrec.errors import ConfigError
from charrec.infer.imageio import BlankImageError
from charrec.infer.preprocess import preprocess
from charrec.infer.pretrained import list_pretrained
from charrec.infer.realistic import (
    CONDITIONS,
    class_characters,
    evaluate_realistic,
    handwriting_fonts,
    plan,
    render,
    write_realistic_report,
)
from charrec.infer.realistic.evaluation import BLANK, keeps_case
from charrec.infer.realistic.scene import Scene, compose, draw_scene, encode, set_stroke
from charrec.infer.recognizer import Prediction, load

LETTERS = {c: [c, c.lower()] for c in string.ascii_uppercase}

# Pictures per class of each shipped model's fixed set (seed 0, every condition).
FLOOR_SET = {"letters": 6, "digits": 16, "alphanumeric": 3, "letters-case": 6}
# name: (floor, measured). Measured with the command that draws the same set, e.g.
# `charrec bench realistic --model digits --per-class 16 --seed 0` (the accuracy it
# prints; with case ignored for alphanumeric); the floor is a few points under it.
FLOORS: dict[str, tuple[float, float]] = {
    # The models trained 2026-12-05 on NIST's images and UNIPEN's train writers
    # (card.json), measured the same day; case ignored for alphanumeric and letters-case.
    # `letters`, `letters-case` and `alphanumeric` retrained 2026-12-06 with UNIPEN's train
    # writers four times; all measured again that day once the set's fine pen followed the
    # glyph's skeleton and the preprocessing kept high dots of i and j (letters 0.942,
    # alphanumeric 0.887, letters-case 0.939 before). The set gained its tight-crop
    # condition the same day, which draws every picture under another condition: measured
    # again then (before: letters 0.955, digits 0.994, alphanumeric 0.8925, letters-case
    # 0.949), `digits` retrained with low-resolution redraws (the one before: 0.9875 too),
    # then `letters` (the one before: 0.9487 too), then `letters` with pen-stroke drawings
    # of UNIPEN's train writers (0.9487 before), then `digits` with stretched pictures
    # (2026-12-07; 0.9875 before), then `letters` as the ResNet-14 (2026-12-07; the vgg
    # 0.9551: two more mistakes of 156, one the blank tight crop both have), then
    # `letters-case` as the ResNet-14 (2026-12-07; the vgg 0.9295).
    "letters": (0.93, 0.9423),
    "digits": (0.95, 0.9938),
    "alphanumeric": (0.83, 0.8548),
    "letters-case": (0.90, 0.9327),
}


@pytest.fixture(scope="module")
def fonts():
    found = handwriting_fonts()
    if not found:
        pytest.skip(
            "no handwriting fonts installed (Debian: fonts-dkg-handwriting, fonts-breip, "
            "fonts-bwht, fonts-klee, fonts-rufscript, fonts-humor-sans)"
        )
    return found


@pytest.fixture(scope="module")
def letter_samples(fonts):
    """Each letter in both cases, the conditions taking turns over the letters: 52 pictures."""
    return [render(spec) for spec in plan(LETTERS, 2, seed=3, fonts=fonts)]


# ------------------------------------------------------------------ the generator


def test_same_seed_same_pictures_other_seed_other_pictures(fonts) -> None:
    classes = {"A": ["A", "a"], "7": ["7"]}
    first = [render(s) for s in plan(classes, 6, seed=11, fonts=fonts)]
    again = [render(s) for s in plan(classes, 6, seed=11, fonts=fonts)]
    other = [render(s) for s in plan(classes, 6, seed=12, fonts=fonts)]
    assert [s.data for s in first] == [s.data for s in again]
    assert [s.to_dict() for s in first] == [s.to_dict() for s in again]
    assert sum(a.data != b.data for a, b in zip(first, other, strict=True)) >= 10


def test_every_condition_is_drawn_and_recorded(letter_samples) -> None:
    drawn = {s.condition for s in letter_samples}
    assert drawn == set(CONDITIONS)
    for sample in letter_samples:
        record = sample.to_dict()
        assert record["condition"] in CONDITIONS and record["font"] == sample.font
        width, height = record["scene"]["canvas"]
        with Image.open(io.BytesIO(sample.data)) as image:
            if record["scene"]["crop"]:  # cut out of the canvas
                assert max(image.size) == record["scene"]["crop"]
            else:
                assert image.size == (width, height)
            assert image.format.lower() == record["scene"]["format"]
        json.dumps(record)  # JSON-ready


def test_labels_and_fonts_match_what_is_drawn(fonts, letter_samples) -> None:
    by_name = {f.name: f for f in fonts}
    assert {s.label for s in letter_samples} == set(LETTERS)
    for sample in letter_samples:
        assert sample.char in LETTERS[sample.label]
        assert by_name[sample.font].draws(sample.char)
    # A clean picture is its character: the model's view of it matches the font's glyph
    # drawn plainly far better than the glyph of another character.
    clean = [s for s in letter_samples if s.condition in ("clean", "paper", "colour")]
    assert len(clean) >= 3
    for sample in clean:
        path = by_name[sample.font].path
        seen = preprocess(sample.data).image
        same = preprocess(render_text(sample.char, path)).image
        other_char = "x" if sample.char.lower() != "x" else "o"
        other = preprocess(render_text(other_char, path)).image
        assert correlation(seen, same) > 0.75
        assert correlation(seen, same) > correlation(seen, other) + 0.1


def test_small_capital_fonts_never_draw_lower_case(fonts) -> None:
    by_name = {f.name: f for f in fonts}
    # Measured from the glyphs: bwht and Humor Sans draw lower case as small capitals.
    for name in ("bwht-learn", "humor-sans"):
        if name in by_name:
            assert by_name[name].caps_only
    for name in ("dkg", "breip", "klee"):
        if name in by_name:
            assert not by_name[name].caps_only
    for spec in plan(LETTERS, 8, seed=0, fonts=fonts):
        if spec.char.islower():
            assert not spec.font.caps_only


def test_both_polarities(letter_samples) -> None:
    def border(sample) -> float:
        gray = np.asarray(Image.open(io.BytesIO(sample.data)).convert("L"), dtype=float)
        return float(np.median(np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])))

    for sample in letter_samples:
        dark_paper = sample.condition in ("chalk", "light-on-dark")
        if sample.condition in ("shadow", "photo", "tight"):  # tight: ink on the border
            continue
        assert (border(sample) < 100) == dark_paper, sample.name


def test_conditions_do_what_they_say() -> None:
    rng = np.random.default_rng(0)
    for _ in range(5):
        assert abs(draw_scene("rotation", rng).angle) >= 8
        assert max(draw_scene("small", rng).canvas) <= 40
        assert min(draw_scene("off-centre", rng).canvas) >= 480
        assert draw_scene("jpeg", rng).format == "jpeg"
        assert 16 <= draw_scene("tight", rng).crop <= 64
        assert draw_scene("shadow", rng).light < 1
        scene = draw_scene("thin-pen", rng)
        assert scene.stroke is not None
        assert scene.stroke <= 0.03 * scene.height * scene.canvas[1] + 1e-6


def test_pens_are_set_to_the_asked_width() -> None:
    # A bar 40 pixels wide, thinned to 6 and thickened to 60.
    bar = np.zeros((200, 200), dtype=np.float32)
    bar[20:180, 80:120] = 1
    thin = set_stroke(bar, 6)
    thick = set_stroke(bar, 60)
    assert abs(int((thin[100] > 0.5).sum()) - 6) <= 2
    assert abs(int((thick[thick.shape[0] // 2] > 0.5).sum()) - 60) <= 3


def test_a_fine_pen_keeps_every_stroke() -> None:
    # A brush-like glyph: a stem 40 pixels wide with a hairline bar 4 wide leaving it. A
    # fine pen (2 pixels) draws both, still joined; eroding the glyph erased the bar.
    glyph = np.zeros((200, 200), dtype=np.float32)
    glyph[20:180, 40:80] = 1
    glyph[98:102, 80:180] = 1
    thin = set_stroke(glyph, 2) > 0.5
    assert thin[90:110, 100:170].any(axis=0).all()
    assert ndimage.label(thin, structure=np.ones((3, 3)))[1] == 1
    assert int(thin[50].sum()) <= 4


def test_tight_crops_end_at_the_ink(fonts) -> None:
    font = {f.name: f for f in fonts}.get("dkg", fonts[0])
    base = dataclasses.replace(draw_scene("clean", np.random.default_rng(1)), crop=40)
    shapes = {}
    for fill in (False, True):
        for binary in (False, True):
            scene = dataclasses.replace(base, fill=fill, binary=binary)
            picture = compose("I", font, scene, np.random.default_rng(2))
            gray = picture.mean(axis=2)
            dark = gray < (gray.min() + gray.max()) / 2
            assert max(picture.shape[:2]) == 40
            # No margin: the ink reaches every edge.
            assert dark[0].any() and dark[-1].any() and dark[:, 0].any() and dark[:, -1].any()
            assert (len(np.unique(gray)) == 2) == binary
            shapes[fill] = picture.shape[:2]
    # An I is tall and narrow; filling stretches it sideways, 2.5 times at most.
    narrow, filled = shapes[False][1], shapes[True][1]
    assert narrow < 20 and filled == min(40, round(narrow * 2.5))
    # White ink on a dark board keeps its ink white when cut to two levels.
    dark_ink = compose("I", font, dataclasses.replace(base, binary=True), np.random.default_rng(2))
    board = dataclasses.replace(base, binary=True, ink=(0.9, 0.9, 0.9), paper=(0.1, 0.1, 0.1))
    white_ink = compose("I", font, board, np.random.default_rng(2))
    assert (white_ink > 0.5).mean() == pytest.approx((dark_ink < 0.5).mean(), abs=0.05)
    wide = compose("I", font, dataclasses.replace(base, margin=0.1), np.random.default_rng(2))
    gray = wide.mean(axis=2)
    assert not (gray[0] < (gray.min() + gray.max()) / 2).any()  # a margin of paper


def test_class_characters() -> None:
    assert class_characters(["A", "B"]) == {"A": ["A", "a"], "B": ["B", "b"]}
    assert class_characters(["0", "A", "a"]) == {"0": ["0"], "A": ["A"], "a": ["a"]}
    assert not keeps_case(list(string.ascii_uppercase))
    assert keeps_case(list(string.digits + string.ascii_letters))
    with pytest.raises(ConfigError, match="not a single letter or digit"):
        class_characters(["cat"])
    with pytest.raises(ConfigError, match="unknown condition"):
        plan(LETTERS, 1, conditions=["fog"])


# ------------------------------------------------------------------ tallies and report


class AlwaysA:
    """A recognizer that answers "A" to everything and finds nothing in tiny pictures."""

    name = "always-a"
    classes = ("A", "B", "a")

    def predict_many(self, sources, top_k=1, *, errors="raise"):
        out = []
        for data in sources:
            with Image.open(io.BytesIO(data)) as image:
                if max(image.size) <= 40:
                    out.append(BlankImageError("<bytes>: no character found"))
                    continue
            seen = np.zeros((28, 28), dtype=np.uint8)
            out.append(Prediction("<bytes>", "A", 0.9, [("A", 0.9)], seen, {}))
        return out


def test_tallies_and_report(fonts, tmp_path: Path) -> None:
    result = evaluate_realistic(AlwaysA(), per_class=len(CONDITIONS), seed=0, fonts=fonts)
    outcomes = result.outcomes
    assert len(outcomes) == 3 * len(CONDITIONS)
    blank = [o for o in outcomes if o.predicted == BLANK]
    assert blank and all(o.sample.condition in ("small", "tight") for o in blank)
    expected = np.mean([o.sample.label == "A" and o.predicted != BLANK for o in outcomes])
    assert result.accuracy() == pytest.approx(expected)
    # Case ignored, "a" pictures answered "A" count as right.
    ignoring = np.mean([o.sample.label in "Aa" and o.predicted != BLANK for o in outcomes])
    assert result.accuracy_ignoring_case() == pytest.approx(ignoring)
    rows = {row["condition"]: row for row in result.table("condition")}
    assert set(rows) == set(CONDITIONS) and rows["small"]["accuracy"] == 0.0
    paths = write_realistic_report(result, tmp_path / "out", save_images=True)
    data = json.loads(paths["json"].read_text())
    assert data["images"] == len(outcomes) and data["accuracy"] == pytest.approx(expected, 1e-3)
    assert "accuracy_case_insensitive" in data
    assert data["blank"] == len(blank)
    assert "| small |" in paths["markdown"].read_text()
    assert paths["figure"].stat().st_size > 1000
    items = paths["items"].read_text().splitlines()
    assert len(items) == len(outcomes) and json.loads(items[0])["scene"]["canvas"]
    pictures = [p for p in paths["images"].iterdir() if p.name != "labels.csv"]
    assert len(pictures) == len(outcomes)
    # The saved pictures are a data set: labels.csv names each one's class.
    from charrec.data.files import read_parts

    (saved,) = read_parts(paths["images"]).values()
    assert [saved.classes[k] for k in saved.labels] == [o.sample.label for o in outcomes]


# ------------------------------------------------------------------ the command


def test_command_on_a_run_folder(fonts, real_data_dir: Path, tmp_path: Path) -> None:
    run = mnist_mlp_run(real_data_dir, tmp_path.parent)
    out = tmp_path / "report"
    args = ["bench", "realistic", "--model", str(run), "-n", "2", "--seed", "4", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Per condition" in result.output and "Per font" in result.output
    data = json.loads((out / "report.json").read_text())
    assert data["images"] == 20 and data["seed"] == 4
    assert "accuracy_case_insensitive" not in data  # digits have no case
    assert (out / "report.md").is_file()
    assert data["tta"] is None and "--tta" not in data["command"]
    # With test-time augmentation the report says so, and how to draw and score it again.
    result = CliRunner().invoke(app, [*args, "--tta", "shift"])
    assert result.exit_code == 0, result.output
    data = json.loads((out / "report.json").read_text())
    assert data["tta"] == "shift" and data["command"].endswith("--seed 4 --tta shift")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--per-class", "0"], "--per-class must be at least 1"),
        (["--save-images"], "--save-images needs --out"),
        (["--out", "pyproject.toml"], "is a file, not a folder"),
        (["--model", "no-such-model"], "unknown model"),
        (["--model", "letters", "--condition", "fog"], "unknown condition"),
        (["--tta", "flip"], "unknown test-time augmentation 'flip'"),
    ],
)
def test_command_errors(
    fonts, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if "letters" in args and "letters" not in list_pretrained():
        pytest.skip("the shipped letters model is not installed")
    from charrec.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "realistic", *args])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert message in error and "Traceback" not in error


# ------------------------------------------------------------------ accuracy floors


@pytest.mark.parametrize("name", sorted(FLOOR_SET))
def test_shipped_model_accuracy_floor(fonts, name: str) -> None:
    if name not in list_pretrained():
        pytest.skip(f"the shipped model {name!r} is not installed")
    per_class = FLOOR_SET[name]
    if name not in FLOORS:
        pytest.skip(
            f"no accuracy floor recorded for the shipped model {name!r}: measure it with "
            f"`charrec bench realistic --model {name} --per-class {per_class} --seed 0` "
            "and add it to FLOORS"
        )
    floor, measured = FLOORS[name]
    result = evaluate_realistic(load(name), per_class=per_class, seed=0, fonts=fonts)
    accuracy = result.accuracy_ignoring_case() if result.case_insensitive else result.accuracy()
    by_condition = [(r["condition"], round(r["accuracy"], 2)) for r in result.table("condition")]
    assert accuracy >= floor, (
        f"{name}: {accuracy:.3f} on the realistic set, floor {floor} (measured {measured}); "
        f"per condition: {by_condition}"
    )


# ------------------------------------------------------------------ preprocessing on them


def _seen_and_clean(font, char: str, **changes) -> tuple[np.ndarray, np.ndarray]:
    """What the model sees of a picture drawn under `changes`, and of the same character
    drawn plainly (same size, place, tilt and pen; black on white, nothing else)."""
    base = Scene(
        canvas=(160, 160),
        height=0.6,
        centre=(0.5, 0.5),
        angle=0.0,
        stroke=None,
        ink=(0.1, 0.1, 0.1),
        paper=(0.95, 0.95, 0.95),
    )
    scene = dataclasses.replace(base, **changes)
    plain = dataclasses.replace(
        scene,
        ink=(0.0,) * 3,
        paper=(1.0,) * 3,
        texture=0.0,
        grain=0.0,
        ruled=False,
        light=1.0,
        shadow=1.0,
        blur=0.0,
        noise=0.0,
        specks=0,
        format="png",
    )
    rng = np.random.default_rng(5)
    seen = preprocess(encode(compose(char, font, scene, rng), scene)).image
    clean = preprocess(encode(compose(char, font, plain, rng), plain)).image
    return seen, clean


@pytest.mark.parametrize(
    ("char", "font_name", "changes"),
    [
        # The rules of lined paper, one touching the letter: not part of it.
        ("l", "dkg", {"ruled": True, "canvas": (138, 115), "height": 0.54}),
        ("t", "dkg", {"ruled": True, "canvas": (240, 195), "height": 0.5}),
        # A fat marker's blot is ink, not a patch of shadow to be evened out.
        ("Q", "bwht-create", {"stroke": 34.0, "canvas": (253, 272), "height": 0.54}),
        # Chalk grains: one stroke, not a cloud of specks.
        (
            "g",
            "dkg",
            {"ink": (0.9,) * 3, "paper": (0.15, 0.18, 0.16), "grain": 0.45, "texture": 0.08},
        ),
        # A hard shadow across the page: its edge is not a stroke.
        ("F", "dkg", {"shadow": 0.5, "light": 0.6, "canvas": (400, 300), "height": 0.3}),
    ],
)
def test_preprocessing_undoes_the_condition(
    fonts, char: str, font_name: str, changes: dict
) -> None:
    # The font each case failed with before preprocessing handled it, else any.
    able = [f for f in fonts if f.draws(char)]
    font = next((f for f in able if f.name == font_name), able[0])
    seen, clean = _seen_and_clean(font, char, **changes)
    assert correlation(seen, clean) > 0.85
