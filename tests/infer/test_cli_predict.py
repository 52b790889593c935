"""`charrec predict` end to end: folders, stdin, table/JSON/CSV, bad files, exit codes."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from infer_images import render_text
from PIL import Image
from tiny_runs import mnist_mlp_run

from charrec.infer import pretrained
from charrec.infer.recognizer import load
from clirun import run_cli as run

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def run_dir(real_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return mnist_mlp_run(real_data_dir, tmp_path_factory.getbasetemp())


@pytest.fixture
def scans(tmp_path: Path, font: Path) -> Path:
    """A folder of digit pictures, one in a sub-folder, with things that are not inputs."""
    folder = tmp_path / "scans"
    (folder / "more").mkdir(parents=True)
    (folder / ".cache").mkdir()
    Image.fromarray(render_text("2", font)).save(folder / "two.png")
    Image.fromarray(255 - render_text("7", font)).save(folder / "seven.jpg", quality=90)
    Image.fromarray(render_text("4", font, canvas=(300, 200))).save(folder / "more" / "four.bmp")
    Image.fromarray(render_text("9", font)).save(folder / ".cache" / "hidden.png")
    Image.fromarray(render_text("9", font)).save(folder / "old.seen.png")
    (folder / "notes.txt").write_text("not an image, and not an image suffix")
    return folder


GOOD = ("more/four.bmp", "seven.jpg", "two.png")


def one_line_error(code: int, err: str, expected: str) -> None:
    assert code == 2
    assert expected in err, err
    assert "Traceback" not in err and err.strip().count("\n") == 0, err


def test_a_folder_prints_a_table_and_exits_0(
    run_dir: Path,
    scans: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # long temporary paths on one line each
    code, out, err = run(["predict", str(scans), "--model", str(run_dir)], capsys)
    assert code == 0, err
    for name in GOOD:
        assert Path(name).name in out
    assert "hidden" not in out and "old.seen" not in out and "notes" not in out
    assert "probability" in out and "next guesses" in out
    expected = load(run_dir).predict(scans / "two.png").label
    row = next(line for line in out.splitlines() if "two.png" in line)
    assert f" {expected} " in row


def test_json_rows_match_the_library_and_a_bad_file_does_not_stop_the_rest(
    run_dir: Path, scans: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((60, 60), 255, dtype=np.uint8)).save(blank)
    args = ["predict", str(bad), str(scans), str(blank), "--model", str(run_dir), "--json"]
    code, out, err = run([*args, "--top", "4"], capsys)
    assert code == 2
    rows = json.loads(out)
    assert [row["source"] for row in rows] == [
        str(bad),
        *(str(scans / name) for name in GOOD),
        str(blank),
    ]
    assert "broken.png" in rows[0]["error"] and "no character" in rows[-1]["error"]
    recognizer = load(run_dir)
    for row in rows[1:-1]:
        assert row["error"] is None
        alone = recognizer.predict(row["source"], top_k=4).to_dict()
        assert row["label"] == alone["label"]
        assert [t["label"] for t in row["top"]] == [t["label"] for t in alone["top"]]
        assert row["probability"] == pytest.approx(alone["probability"], abs=1e-5)
    # The first use of a model exports it to ONNX once, and says so; then each failure on
    # stderr, one line each, naming the file; then the count.
    note, *lines = err.strip().splitlines()
    assert note.startswith("charrec: exporting model") and "ONNX" in note
    assert len(lines) == 3 and "Traceback" not in err
    assert "broken.png" in lines[0] and "blank.png" in lines[1]
    assert "2 of 5 images failed" in lines[2]


def test_tta_answers_as_the_library_does_with_it(
    run_dir: Path, scans: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        ["predict", str(scans), "--model", str(run_dir), "--json", "--tta", "affine"], capsys
    )
    assert code == 0
    with_tta, plain = load(run_dir, tta="affine"), load(run_dir)
    differ = 0
    for row in json.loads(out):
        alone = with_tta.predict(row["source"]).to_dict()
        assert row["label"] == alone["label"]
        assert row["probability"] == pytest.approx(alone["probability"], abs=1e-5)
        differ += abs(row["probability"] - plain.predict(row["source"]).probability) > 1e-4
    assert differ > 0  # the views changed the probabilities


def test_csv_has_a_row_per_image_with_an_error_column(
    run_dir: Path, scans: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.png"
    args = ["predict", str(scans / "two.png"), str(missing), "--model", str(run_dir), "--csv"]
    code, out, _ = run([*args, "--top", "2"], capsys)
    assert code == 2
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == [
        "source",
        "label",
        "probability",
        "label_2",
        "probability_2",
        "error",
    ]
    assert rows[0]["source"] == str(scans / "two.png") and rows[0]["error"] == ""
    assert rows[0]["label"] in [str(d) for d in range(10)]
    assert 0 < float(rows[0]["probability_2"]) <= float(rows[0]["probability"]) <= 1
    assert rows[1]["source"] == str(missing) and "file not found" in rows[1]["error"]
    assert rows[1]["label"] == ""


def test_stdin_reads_one_image(
    run_dir: Path,
    scans: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = (scans / "seven.jpg").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    code, out, err = run(["predict", "-", "--model", str(run_dir), "--json"], capsys)
    assert code == 0, err
    (row,) = json.loads(out)
    assert row["source"] == "<stdin>"
    assert row["label"] == load(run_dir).predict(scans / "seven.jpg").label


def test_explain_writes_the_seen_images_and_they_are_not_inputs_later(
    run_dir: Path, scans: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["predict", str(scans), "--model", str(run_dir), "--explain"], capsys)
    assert code == 0, err
    for name in GOOD:
        seen = (scans / name).with_name(Path(name).stem + ".seen.png")
        assert seen.is_file() and Image.open(seen).size == (280, 280)
    code, out, _ = run(["predict", str(scans), "--model", str(run_dir), "--json"], capsys)
    assert code == 0
    assert [row["source"] for row in json.loads(out)] == [str(scans / n) for n in GOOD]


def test_an_empty_folder_is_reported(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty").mkdir()
    code, out, err = run(["predict", str(tmp_path / "empty"), "--model", str(run_dir)], capsys)
    assert code == 2 and out == ""
    assert "no image files in this folder" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--top", "0"], "--top must lie in 1..10"),
        (["--top", "11"], "--top must lie in 1..10"),
        (["--json", "--csv"], "one of --json and --csv"),
        (["-", "-"], "name it once"),
        (["-", "--explain"], "stdin (-) is not a file"),
        (["--backend", "tensorflow"], "unknown backend 'tensorflow'"),
        (["--tta", "flip"], "unknown test-time augmentation 'flip'"),
    ],
)
def test_bad_options_exit_2_with_one_line(
    run_dir: Path,
    scans: Path,
    extra: list[str],
    expected: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["predict", str(scans / "two.png"), "--model", str(run_dir), *extra]
    code, _, err = run(args, capsys)
    one_line_error(code, err, expected)


def test_unknown_model_names_the_valid_ones(
    scans: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["predict", str(scans), "--model", "nosuch"], capsys)
    one_line_error(code, err, "unknown model 'nosuch'")
    for name in pretrained.list_pretrained():
        assert name in err
    code, _, err = run(["predict", str(scans), "--model", str(tmp_path / "gone")], capsys)
    one_line_error(code, err, "not found")


def test_default_model_is_the_shipped_letters_model(
    scans: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["predict", str(scans / "two.png"), "--json"], capsys)
    if "letters" in pretrained.list_pretrained():
        assert code == 0, err
        (row,) = json.loads(out)
        assert row["label"] in pretrained.read_card("letters")["classes"]
    else:
        one_line_error(code, err, "unknown model 'letters'")


def test_help_shows_examples_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["predict", "--help"], capsys)
    assert code == 0
    assert "charrec predict scans/ --json" in out and "Exit codes" in out


def test_onnx_by_default_same_answers_as_torch_and_no_torch_once_cached(
    run_dir: Path, scans: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os
    import subprocess

    code, by_onnx, err = run(["predict", str(scans), "--model", str(run_dir), "--json"], capsys)
    assert code == 0, err
    assert "exporting model" in err  # the first use exports once, and says so
    args = ["predict", str(scans), "--model", str(run_dir), "--json", "--backend", "torch"]
    code, by_torch, err = run(args, capsys)
    assert code == 0 and "exporting" not in err
    for o, t in zip(json.loads(by_onnx), json.loads(by_torch), strict=True):
        assert o["label"] == t["label"] and [x["label"] for x in o["top"]] == [
            x["label"] for x in t["top"]
        ]
        assert o["probability"] == pytest.approx(t["probability"], abs=1e-4)
    # A fresh process with the export cached: the same answer, and torch never imported.
    probe = (
        "import json, sys\n"
        "from charrec.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print(json.dumps({'torch': 'torch' in sys.modules}), file=sys.stderr)\n"
    )
    picture = str(scans / "two.png")
    done = subprocess.run(
        [sys.executable, "-c", probe, "predict", picture, "--model", str(run_dir), "--json"],
        capture_output=True,
        text=True,
        env={**os.environ},
        check=True,
    )
    assert json.loads(done.stderr.strip().splitlines()[-1]) == {"torch": False}
    assert "exporting" not in done.stderr
    answer = json.loads(done.stdout)[0]
    assert (
        answer["label"] == next(r for r in json.loads(by_onnx) if r["source"] == picture)["label"]
    )
