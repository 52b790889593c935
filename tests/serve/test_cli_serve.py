"""`charrec serve` and `charrec bench serve` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from charrec.cli import main


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["serve", "--model", "no-such-model"], "no-such-model"),
        (["serve", "--model", "./runs/missing"], "runs/missing"),
        (["serve", "--port", "70000", "--model", "x"], "--port"),
        (["serve", "--max-mb", "0"], "--max-mb"),
        (["serve", "--tta", "flip"], "unknown test-time augmentation 'flip'"),
        (["bench", "serve", "--duration", "0"], "--duration"),
        (["bench", "serve", "--image", "missing.png"], "missing.png"),
    ],
)
def test_bad_options_exit_2_with_one_line(args, says, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert says in err and len(err.splitlines()) == 1, err
    assert "Traceback" not in err


@pytest.mark.realdata
@pytest.mark.slow
def test_bench_serve_starts_a_server_and_measures_it(digits_run: Path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "serve", "--model", str(digits_run), "--duration", "1.5",
              "--concurrency", "4", "--workers", "1", "--json"])  # fmt: skip
    assert exit_info.value.code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["errors"] == 0 and result["ok"] == result["requests"] > 0
    assert result["url"].startswith("http://127.0.0.1:")
    assert result["latency_ms"]["p50"] <= result["latency_ms"]["p99"] <= result["latency_ms"]["max"]
    assert result["server_cpu_s"] > 0 and result["workers"] == 1


def test_a_server_that_stops_at_once_is_reported_with_its_last_message(tmp_path: Path):
    from charrec.errors import CharrecError
    from charrec.serve.loadtest import running_server

    missing = tmp_path / "no-run"
    with pytest.raises(CharrecError) as error, running_server(str(missing)):
        pass
    assert "the server stopped before answering" in str(error.value)
    assert f"run folder {missing} not found" in str(error.value)
