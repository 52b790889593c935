"""Reading a line with a model that keeps upper and lower case apart: each character's letter
(cases summed) and its case with its probability, in Python, the command line and the API.
A model without case reads as before."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from line_images import draw_line
from PIL import Image
from tiny_runs import letters_case_mlp_run, mnist_mlp_run

from charrec.infer.recognizer import load
from clirun import run_cli as run

pytestmark = pytest.mark.realdata

LINE = "LT HE"


@pytest.fixture(scope="module")
def case_run(real_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return letters_case_mlp_run(real_data_dir, tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def digits_run(real_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return mnist_mlp_run(real_data_dir, tmp_path_factory.getbasetemp())


@pytest.fixture
def line(tmp_path: Path) -> Path:
    path = tmp_path / "line.png"
    Image.fromarray(draw_line(LINE)).save(path)
    return path


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_each_character_has_its_letter_with_both_cases_summed_and_its_case(
    case_run: Path, line: Path, backend: str
) -> None:
    recognizer = load(case_run, backend=backend)
    assert len(recognizer.classes) == 52
    reading = recognizer.read(line)
    assert len(reading.characters) == 4
    for character, row in zip(reading.characters, reading.to_dict()["characters"], strict=True):
        probs = recognizer.predict_arrays(character.seen[None])[0]
        by_class = dict(zip(recognizer.classes, probs, strict=True))
        sums = {u: by_class[u] + by_class[u.lower()] for u in recognizer.classes if u.isupper()}
        merged = character.merged
        assert merged is not None
        assert merged.label == max(sums, key=sums.get)
        assert merged.probability == pytest.approx(sums[merged.label], abs=1e-5)
        upper, lower = by_class[merged.label], by_class[merged.label.lower()]
        assert merged.case == ("upper" if upper >= lower else "lower")
        assert merged.case_probability == pytest.approx(max(upper, lower) / (upper + lower))
        assert row["merged"] == merged.to_dict()


def test_the_command_prints_each_characters_case(
    case_run: Path,
    line: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "300")  # one table row per line
    expected = load(case_run, backend="onnx").read(line)
    code, out, err = run(["read", str(line), "--model", str(case_run), "--json"], capsys)
    assert code == 0, err
    rows = json.loads(out)[0]["characters"]
    for row, character in zip(rows, expected.characters, strict=True):
        assert row["merged"]["label"] == character.merged.label
        assert row["merged"]["case"] == character.merged.case in ("upper", "lower")
        assert row["merged"]["case_probability"] == pytest.approx(
            character.merged.case_probability, abs=1e-4
        )
    code, out, err = run(["read", str(line), "--model", str(case_run)], capsys)
    assert code == 0, err
    assert "answer, confidence, case" in out
    row = next(text for text in out.splitlines() if "line.png" in text)
    for character in expected.characters:
        share = round(100 * character.merged.case_probability)
        assert f"{character.label} " in row and f" {character.merged.case} {share}%" in row


def test_the_api_answers_each_characters_case(case_run: Path) -> None:
    from fastapi.testclient import TestClient

    from charrec.serve import create_app

    client = TestClient(create_app([str(case_run)]))
    buffer = io.BytesIO()
    Image.fromarray(draw_line(LINE)).save(buffer, format="PNG")
    answer = client.post("/v1/read", files={"file": ("line.png", buffer.getvalue())})
    assert answer.status_code == 200, answer.text
    expected = load(case_run, backend="onnx").read(draw_line(LINE))
    for row, character in zip(answer.json()["characters"], expected.characters, strict=True):
        assert row["merged"]["label"] == character.merged.label
        assert row["merged"]["case"] == character.merged.case
        assert np.isclose(row["merged"]["case_probability"], character.merged.case_probability)
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    assert schema["ReadCharacterOut"]["properties"]["merged"]["anyOf"][0] == {
        "$ref": "#/components/schemas/MergedOut"
    }


def test_a_model_without_case_reads_as_before(
    digits_run: Path,
    line: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "300")
    reading = load(digits_run).read(line)
    assert all(c.merged is None for c in reading.characters)
    assert all("merged" not in row for row in reading.to_dict()["characters"])
    code, out, err = run(["read", str(line), "--model", str(digits_run)], capsys)
    assert code == 0, err
    assert "answer, confidence)" in out and " upper " not in out and " lower " not in out
