"""A 52-class model answers the letter (cases summed) and its case: library, CLI, bench case.
A model without both cases answers as before."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from infer_images import render_text
from PIL import Image
from tiny_runs import letters_case_mlp_run, mnist_mlp_run

from charrec.infer.recognizer import load
from clirun import run_cli as run

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def case_run(real_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return letters_case_mlp_run(real_data_dir, tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def digits_run(real_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return mnist_mlp_run(real_data_dir, tmp_path_factory.getbasetemp())


@pytest.fixture
def letters(tmp_path: Path, font: Path) -> list[Path]:
    paths = []
    for text in ("a", "K", "e"):
        path = tmp_path / f"{text}-{'upper' if text.isupper() else 'lower'}.png"
        Image.fromarray(render_text(text, font)).save(path)
        paths.append(path)
    return paths


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_the_answer_is_the_letter_with_both_cases_summed_and_its_case(
    case_run: Path, letters: list[Path], backend: str
) -> None:
    recognizer = load(case_run, backend=backend)
    assert len(recognizer.classes) == 52
    for prediction in recognizer.predict(letters, top_k=5):
        probs = recognizer.predict_arrays(prediction.seen[None])[0]
        by_class = dict(zip(recognizer.classes, probs, strict=True))
        sums = {u: by_class[u] + by_class[u.lower()] for u in recognizer.classes if u.isupper()}
        merged = prediction.merged
        assert merged is not None
        assert merged.label == max(sums, key=sums.get)
        assert merged.probability == pytest.approx(sums[merged.label], abs=1e-6)
        upper, lower = by_class[merged.label], by_class[merged.label.lower()]
        assert merged.case == ("upper" if upper >= lower else "lower")
        assert merged.case_probability == pytest.approx(max(upper, lower) / (upper + lower))
        assert 0.5 <= merged.case_probability <= 1
        assert prediction.to_dict()["merged"] == merged.to_dict()


def test_predict_prints_the_letter_and_case_in_table_json_and_csv(
    case_run: Path,
    letters: list[Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "300")  # a table row per line
    names = [str(p) for p in letters]
    code, out, err = run(["predict", *names, "--model", str(case_run), "--json"], capsys)
    assert code == 0, err
    rows = json.loads(out)
    expected = [p.to_dict()["merged"] for p in load(case_run).predict(letters)]
    for row, merged in zip(rows, expected, strict=True):
        assert row["merged"]["label"] == merged["label"]
        assert row["merged"]["case"] == merged["case"] in ("upper", "lower")
        assert row["merged"]["case_probability"] == pytest.approx(
            merged["case_probability"], abs=1e-4
        )
    code, out, _ = run(["predict", *names, "--model", str(case_run), "--csv"], capsys)
    assert code == 0
    table = list(csv.DictReader(io.StringIO(out)))
    assert list(table[0])[-5:] == [
        "letter",
        "letter_probability",
        "case",
        "case_probability",
        "error",
    ]
    assert [r["case"] for r in table] == [m["case"] for m in expected]
    assert [r["letter"] for r in table] == [m["label"] for m in expected]
    code, out, _ = run(["predict", *names, "--model", str(case_run)], capsys)
    assert code == 0
    header = next(line for line in out.splitlines() if "answer" in line)
    assert "letter" in header and "case" in header
    for path, merged in zip(letters, expected, strict=True):
        row = next(line for line in out.splitlines() if path.name in line)
        assert f" {merged['label']} " in row and f" {merged['case']} " in row


def test_a_model_without_case_answers_as_before(
    digits_run: Path,
    tmp_path: Path,
    font: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "300")
    picture = tmp_path / "two.png"
    Image.fromarray(render_text("2", font)).save(picture)
    recognizer = load(digits_run)
    assert recognizer.case_reading is None
    prediction = recognizer.predict(picture)
    assert prediction.merged is None and "merged" not in prediction.to_dict()
    code, out, _ = run(["predict", str(picture), "--model", str(digits_run), "--csv"], capsys)
    assert code == 0
    assert out.splitlines()[0] == (
        "source,label,probability,label_2,probability_2,label_3,probability_3,error"
    )
    code, out, _ = run(["predict", str(picture), "--model", str(digits_run), "--json"], capsys)
    assert "merged" not in json.loads(out)[0]
    code, out, _ = run(["predict", str(picture), "--model", str(digits_run)], capsys)
    header = next(line for line in out.splitlines() if "answer" in line)
    assert header.split() == [
        "┃",
        "image",
        "┃",
        "answer",
        "┃",
        "probability",
        "┃",
        "next",
        "guesses",
        "┃",
    ]


def test_bench_case_scores_letters_and_case_on_held_out_images(
    case_run: Path, digits_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["bench", "case", "--model", str(case_run), "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert (result["data"], result["case_data"]) == ("letters-dev:test", "letters-case-dev:test")
    assert result["against"] is None and result["against_accuracy"] is None
    assert 1 / 26 < result["accuracy"] < 1
    alike, differ = result["case"]["groups"]
    assert (alike["letters"], differ["letters"]) == ("CIJKLMOPSUVWXYZ", "ABDEFGHNQRT")
    # Every image of letters-case-dev's test split counts in one group and one letter.
    assert alike["images"] + differ["images"] == 11_680
    assert sum(s["images"] for s in result["case"]["letters"]) == 11_680
    for group in (alike, differ):
        assert 0 <= group["case_right"] <= group["letter_right"] <= group["images"]
        assert group["case_accuracy"] == pytest.approx(group["case_right"] / group["letter_right"])
    # A model that merges the cases (or has no letters) has no case to measure.
    code, _, err = run(["bench", "case", "--model", str(digits_run)], capsys)
    assert code == 2 and "keeps no letter's two cases apart" in err
    assert "Traceback" not in err and err.strip().count("\n") == 0


def test_the_case_reading_agrees_with_the_letters_merged_by_evaluation(case_run: Path) -> None:
    # charrec.evaluate sums the cases by name as the Recognizer does: same letters, same order.
    from charrec.evaluate.labelspace import match_classes
    from charrec.infer.case import merge_case_probabilities

    recognizer = load(case_run)
    probs = np.random.default_rng(0).dirichlet(np.ones(52), size=8).astype(np.float32)
    merged, names = merge_case_probabilities(probs, recognizer.classes)
    space = match_classes(recognizer.classes, names)
    np.testing.assert_allclose(space.apply(probs), merged, rtol=1e-6)


def test_the_card_of_a_case_aware_model_has_its_case_accuracy(
    case_run: Path, digits_run: Path, tmp_path: Path
) -> None:
    from charrec.fileio import read_json
    from charrec.infer.publish import publish

    folder = publish(case_run, "tiny-case", dest=tmp_path)
    case = read_json(folder / "card.json")["case"]
    assert case["case_data"] == "letters-case-dev:test"
    assert [g["letters"] for g in case["groups"]] == ["CIJKLMOPSUVWXYZ", "ABDEFGHNQRT"]
    assert case["letters_data"] == "letters-dev:test" and case["letters_images"] == 14_800
    assert 0 < case["letters_accuracy"] < 1
    assert "## Case" in (folder / "card.md").read_text()
    assert "case" not in read_json(publish(digits_run, "tiny-digits", dest=tmp_path) / "card.json")
