"""`charrec data ...` end to end, through the same entry point as the console script."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from PIL import Image

from charrec.cli import main


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    captured = capsys.readouterr()
    return exit_info.value.code or 0, captured.out, captured.err


def test_list_shows_presence(real_data_dir: Path, capsys) -> None:
    code, out, _ = run(["data", "list", "--data-dir", str(real_data_dir)], capsys)
    assert code == 0
    assert "letters-dev" in out and "train, test" in out


def test_info_counts(real_data_dir: Path, capsys) -> None:
    code, out, _ = run(["data", "info", "letters-dev", "--data-dir", str(real_data_dir)], capsys)
    assert code == 0
    assert "59,384" in out and "14,800" in out


def test_show_writes_a_grid(real_data_dir: Path, tmp_path: Path, capsys) -> None:
    out_file = tmp_path / "grid.png"
    args = ["data", "show", "mnist", "--split", "test", "-n", "16", "--out", str(out_file)]
    code, _, _ = run([*args, "--data-dir", str(real_data_dir)], capsys)
    assert code == 0
    with Image.open(out_file) as image:
        assert image.width > 200 and image.height > 200


def test_verify_real_data(real_data_dir: Path, capsys) -> None:
    code, out, _ = run(["data", "verify", "mnist", "--data-dir", str(real_data_dir)], capsys)
    assert code == 0
    assert "sha256 official" in out and "all 6 checks passed" in out


def test_verify_reports_a_truncated_file(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "mnist"
    folder.mkdir()
    payload = bytes([0, 0, 8, 1]) + (100).to_bytes(4, "big") + bytes(100)
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(payload)[:-10])
    code, _, err = run(["data", "verify", "--data-dir", str(tmp_path)], capsys)
    assert code == 2
    assert "t10k-labels-idx1-ubyte.gz" in err and "truncated" in err
    assert "Traceback" not in err


def test_user_errors_exit_2_with_one_line(tmp_path: Path, capsys) -> None:
    code, _, err = run(["data", "info", "emnist-letters", "--data-dir", str(tmp_path)], capsys)
    assert code == 2
    assert err.count("\n") == 1 and "charrec data fetch emnist" in err
    code, _, err = run(["data", "info", "nope", "--data-dir", str(tmp_path)], capsys)
    assert code == 2 and "letters-dev" in err
    code, _, err = run(["data", "verify", "--data-dir", str(tmp_path)], capsys)
    assert code == 2 and "no data files found" in err


def test_show_rejects_non_png(real_data_dir: Path, tmp_path: Path, capsys) -> None:
    args = ["data", "show", "mnist", "--out", str(tmp_path / "x.jpg")]
    code, _, err = run([*args, "--data-dir", str(real_data_dir)], capsys)
    assert code == 2 and "PNG" in err
    assert not (tmp_path / "x.jpg").exists()
