"""`charrec coursework` end to end on the tiny budget: every section, reuse, bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from charrec.coursework import SECTIONS
from clirun import run_cli as run

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def test_every_section_runs_and_a_rerun_reuses_them(
    real_data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    args = ["coursework", "--out", str(out), "--budget", "tiny", "--data-dir", str(real_data_dir)]
    code, _, stderr = run(args, capsys)
    assert code == 0, stderr
    markdown = (out / "report.md").read_text()
    headings = re.findall(r"^## (.+)$", markdown, flags=re.MULTILINE)
    assert headings[0] == "How this report was made"
    assert headings[1:] == [s.question for s in SECTIONS]
    # Each section holds measured numbers; the figures sit beside the Markdown.
    parts = markdown.split("\n## ")[1:]
    measured = {s.question: part for s, part in zip(SECTIONS, parts[1:], strict=True)}
    for question, part in measured.items():
        if not question.startswith(("2.", "6.")):  # the sample grid; where the logs are
            assert re.search(r"\d+\.\d\d%", part), part[:200]
    figures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert len(figures) >= 8 and all((out / f).is_file() for f in figures)
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == len(figures)
    assert "letters-dev" in parts[0] and "PyTorch" in parts[0]
    for command in ("charrec train --config", "charrec study run", "charrec transfer"):
        assert command in markdown
    # Section 9 answers its question in numbers: transfer against scratch.
    transfer = next(p for p in parts if p.startswith("9."))
    assert "scratch" in transfer and "zero-shot" in transfer
    # Rerun: every section is reused, nothing is trained again.
    stamps = {p: p.stat().st_mtime_ns for p in (out / "runs").rglob("model.safetensors")}
    code, _, stderr = run(args, capsys)
    assert code == 0, stderr
    assert stamps == {p: p.stat().st_mtime_ns for p in (out / "runs").rglob("model.safetensors")}
    timing = (out / "report.md").read_text().split("## 1.")[0]
    assert timing.count("| reused |") == len(SECTIONS)
    saved = json.loads(next((out / "sections").glob("01-*.json")).read_text())
    assert saved["summary"] and saved["commands"]


def test_missing_data_is_named_with_what_still_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "data"
    empty.mkdir()
    args = ["coursework", "--out", str(tmp_path / "r"), "--data-dir", str(empty)]
    code, _, stderr = run(args, capsys)
    assert code == 2
    assert "mnist is missing" in stderr and "binary-alphadigits is missing" in stderr
    assert "these could:" in stderr and "tensorboard" in stderr
    assert not (tmp_path / "r").exists()


def test_a_folder_holding_other_files_is_refused(
    real_data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "thesis.tex").write_text("")
    args = ["coursework", "--out", str(tmp_path), "--budget", "tiny"]
    code, _, stderr = run([*args, "--data-dir", str(real_data_dir)], capsys)
    assert code == 2 and "already holds other files" in stderr
    code, _, stderr = run([*args, "--budget", "huge"], capsys)
    assert code == 2 and "quick" in stderr
