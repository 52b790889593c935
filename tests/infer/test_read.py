"""Reading lines with the shipped letters and digits models: the text, boxes, top-k,
constraints, both polarities, boxed fields, bad input, the command line and the API."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from line_images import draw_line
from PIL import Image

from charrec.infer import pretrained
from charrec.infer.constrain import Pattern, WordList
from charrec.infer.imageio import BlankImageError, ImageError
from charrec.infer.preprocess import PreprocessConfig
from charrec.infer.read import LineTooLongError
from charrec.infer.recognizer import load
from clirun import run_cli as _run

pytestmark = pytest.mark.skipif(
    not pretrained.is_pretrained("letters") or not pretrained.is_pretrained("digits"),
    reason="the shipped letters and digits models are not installed",
)


@pytest.fixture(scope="module")
def letters():
    return load("letters", backend="onnx")


@pytest.fixture(scope="module")
def digits():
    return load("digits", backend="onnx")


def test_a_line_is_read_with_boxes_top_k_and_spaces(letters) -> None:
    reading = letters.read(draw_line("LT HE"), top_k=4)
    assert reading.text == "LT HE"
    assert [c.space_before for c in reading.characters] == [False, False, True, False]
    lefts = [c.box[0] for c in reading.characters]
    assert lefts == sorted(lefts)
    for character in reading.characters:
        assert len(character.top) == 4 and character.top[0][0] == character.label
        assert 0 < character.confidence <= 1 and character.seen.shape == (28, 28)
    assert reading.polarity == "dark-on-light"
    data = reading.to_dict()
    assert data["text"] == "LT HE" and len(data["characters"]) == 4
    assert "constraint" not in data


def test_white_on_black_and_boxes(letters, digits) -> None:
    assert letters.read(draw_line("HELL", light_on_dark=True)).text == "HELL"
    boxed = digits.read(draw_line("17171", boxes=True, gap=0.8))
    assert boxed.text == "17171"
    assert boxed.polarity == "dark-on-light"


def test_a_constraint_narrows_the_answer_and_both_are_reported(letters) -> None:
    reading = letters.read(draw_line("LTLE"), constraint=WordList(["LILY", "LTLE", "TELL"]))
    assert reading.text == "LTLE" and reading.constrained == "LTLE"
    reading = letters.read(draw_line("LTLE"), constraint=WordList(["TELL", "HELL"]))
    assert reading.constrained in ("TELL", "HELL") and reading.text == "LTLE"
    data = reading.to_dict()
    assert data["constraint_met"] and data["constraint"].startswith("one of 2 words")
    nothing = letters.read(draw_line("LTLE"), constraint=Pattern("[A-Z]{3}"))
    assert nothing.constrained is None and nothing.to_dict()["constraint_met"] is False


def test_bad_input_gives_one_clear_error_each(letters) -> None:
    with pytest.raises(BlankImageError, match="no characters found"):
        letters.read(np.full((80, 300), 255, dtype=np.uint8))
    with pytest.raises(ImageError, match="not an image"):
        letters.read(b"this is text, not a picture")
    with pytest.raises(LineTooLongError, match="found 4 characters, more than the limit of 3"):
        letters.read(draw_line("HELL"), max_chars=3)
    small = load("letters", backend="onnx", preprocess=PreprocessConfig(max_pixels=10_000))
    with pytest.raises(ImageError, match="over the limit"):
        small.read(draw_line("HELL"))


def test_the_command_reads_explains_and_reports_bad_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "field.png"
    Image.fromarray(draw_line("LT HE")).save(good)
    code, out, err = _run(["read", str(good), "--explain", "--words", "LT,HE"], capsys)
    assert code == 0, err
    assert "LT HE" in out
    assert (tmp_path / "field.read.png").is_file()
    blank = tmp_path / "blank.png"
    Image.new("L", (300, 80), 255).save(blank)
    junk = tmp_path / "notes.png"
    junk.write_bytes(b"notes")
    code, out, err = _run(["read", str(good), str(blank), str(junk), "--json"], capsys)
    assert code == 2
    rows = json.loads(out)
    assert rows[0]["text"] == "LT HE" and rows[0]["error"] is None
    assert "no characters found" in rows[1]["error"] and "not an image" in rows[2]["error"]
    assert "2 of 3 images failed" in err
    code, _, err = _run(["read", str(good), "--max-chars", "2"], capsys)
    assert code == 2 and "more than the limit of 2" in err and "Traceback" not in err
    code, _, err = _run(["read", str(good), "--pattern", "("], capsys)
    assert code == 2 and "not a regular expression" in err
    code, out, err = _run(["read", str(good), "--tta", "shift"], capsys)
    assert code == 0 and "LT HE" in out, err
    code, _, err = _run(["read", str(good), "--tta", "flip"], capsys)
    assert code == 2 and "unknown test-time augmentation 'flip'" in err


def test_the_api_reads_a_line() -> None:
    from fastapi.testclient import TestClient

    from charrec.serve import create_app

    client = TestClient(create_app(["digits"]))
    buffer = io.BytesIO()
    Image.fromarray(draw_line("17 71")).save(buffer, format="PNG")
    data = buffer.getvalue()
    query = "pattern=\\d%2B%20\\d%2B&seen=true"
    answer = client.post(f"/v1/read?{query}", files={"file": ("a.png", data)})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["text"] == "17 71" and body["constrained"] == "17 71"
    assert body["characters"][0]["seen"].startswith("data:image/png;base64,")
    too_long = client.post(
        "/v1/read?max_chars=2", content=data, headers={"content-type": "image/png"}
    )
    assert too_long.status_code == 422 and too_long.json()["error"]["code"] == "too_many_characters"
    junk = client.post("/v1/read", content=b"junk", headers={"content-type": "image/png"})
    assert junk.status_code == 400
    buffer = io.BytesIO()
    Image.new("L", (300, 80), 255).save(buffer, format="PNG")
    blank = client.post(
        "/v1/read", content=buffer.getvalue(), headers={"content-type": "image/png"}
    )
    assert blank.status_code == 422 and blank.json()["error"]["code"] == "blank_image"
