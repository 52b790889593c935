"""The realistic line set: drawn the same from the same seed, scored by edit distance, and
read by the shipped models above a floor (measured 2026-12-05 on these 36 lines each:
letters 87.6% of characters and 44.4% of whole lines, digits 96.9% and 80.6%)."""

from __future__ import annotations

import json
import string

import numpy as np
import pytest

from charrec.infer import pretrained
from charrec.infer.read import uncalibrated_top
from charrec.infer.realistic.fonts import handwriting_fonts
from charrec.infer.realistic.lines import (
    LINE_CONDITIONS,
    edit_distance,
    evaluate_lines,
    plan_lines,
    render_line,
)
from charrec.infer.recognizer import Recognizer, load
from charrec.train.checkpoint import load_run
from charrec.train.temperature import fold_temperature

needs_fonts = pytest.mark.skipif(
    not handwriting_fonts(), reason="no handwriting fonts (apt install fonts-dkg-handwriting ...)"
)


def test_edit_distance() -> None:
    assert edit_distance("", "") == 0
    assert edit_distance("ABC", "ABC") == 0
    assert edit_distance("ABC", "AXC") == 1
    assert edit_distance("ABC", "AC") == 1
    assert edit_distance("AC", "ABC") == 1
    assert edit_distance("KITTEN", "SITTING") == 3
    assert edit_distance("", "ABC") == 3


@needs_fonts
def test_the_same_seed_draws_the_same_lines() -> None:
    first = plan_lines(string.digits, 18, seed=3)
    assert first == plan_lines(string.digits, 18, seed=3)
    assert {spec.condition for spec in first} == set(LINE_CONDITIONS)
    assert all(4 <= len(spec.text.replace(" ", "")) <= 10 for spec in first)
    assert render_line(first[4]).data == render_line(first[4]).data
    assert plan_lines(string.digits, 18, seed=4) != first


@needs_fonts
@pytest.mark.parametrize(
    ("model", "alphabet", "characters", "lines"),
    [("letters", string.ascii_uppercase, 0.80, 0.30), ("digits", string.digits, 0.92, 0.65)],
)
def test_shipped_models_read_lines_above_a_floor(model, alphabet, characters, lines) -> None:
    if not pretrained.is_pretrained(model):
        pytest.skip(f"the shipped {model} model is not installed")
    samples = [render_line(spec) for spec in plan_lines(alphabet, 36, seed=0)]
    result = evaluate_lines(load(model, backend="onnx"), samples)
    assert result.character_accuracy() >= characters, result.table("condition")
    assert result.line_accuracy() >= lines, result.table("condition")


@needs_fonts
def test_the_benchmark_command_reports_accuracy_and_latency(capsys) -> None:
    from charrec.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["bench", "read", "--model", "digits", "--lines", "9", "--repeat", "2", "--json"])
    assert exited.value.code in (0, None)
    data = json.loads(capsys.readouterr().out)
    assert data["lines"] == 9 and 0 <= data["character_accuracy"] <= 1
    assert len(data["by_condition"]) == len(LINE_CONDITIONS)
    assert data["latency"]["repeat"] == 2 and len(data["latency"]["line"]) == 10
    assert data["latency"]["p50_ms"] > 0 and data["tta"] is None
    with pytest.raises(SystemExit) as exited:
        main(["bench", "read", "--model", "digits", "-n", "3", "--repeat", "1", "--tta", "shift"])
    assert exited.value.code in (0, None)
    assert "(onnx, --tta shift)" in capsys.readouterr().out


def test_the_top_probability_before_calibration_is_recovered() -> None:
    logits = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]])
    raw = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    for temperature in (0.5, 0.644, 2.0):
        scaled = np.exp(logits / temperature)
        calibrated = (scaled / scaled.sum(axis=1, keepdims=True)).astype(np.float32)
        recovered = uncalibrated_top(calibrated, temperature)
        np.testing.assert_allclose(recovered, raw.max(axis=1), rtol=1e-5)


@needs_fonts
def test_calibrating_a_model_changes_no_reading() -> None:
    """The whole-or-parts decision of touching characters is the same for a calibrated
    model and the same network before calibration (its logits times the temperature)."""
    if not pretrained.is_pretrained("letters"):
        pytest.skip("the shipped letters model is not installed")
    calibrated = load("letters", backend="torch")
    temperature = calibrated.temperature
    assert temperature != 1.0
    model, meta = load_run(pretrained.pretrained_dir("letters"))
    fold_temperature(model, 1.0 / temperature)
    raw_meta = {k: v for k, v in meta.items() if k != "calibration"}
    raw = Recognizer(
        model, raw_meta, name="letters-raw", preprocess=calibrated.preprocessor.config
    )
    assert raw.temperature == 1.0
    # The tight lines of `charrec bench read --model letters` (180 lines, seed 0).
    specs = [s for s in plan_lines(string.ascii_uppercase, 180, seed=0) if s.condition == "tight"]
    for sample in (render_line(spec) for spec in specs):
        a, b = calibrated.read(sample.data), raw.read(sample.data)
        assert a.text == b.text
        assert [c.box for c in a.characters] == [c.box for c in b.characters]
