"""`compare` on run folders written by the test: table, CSV, Markdown, overlay plot, CLI."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from evalruns import write_run_files
from PIL import Image

from charrec.cli import main
from charrec.errors import CharrecError
from charrec.evaluate.compare import compare_runs, format_seconds, write_comparison

CONFIG = """\
data: {{name: mnist, data_dir: {data_dir}, val_fraction: 0.1}}
model:
  name: keras-convnet
  options: {{batch_norm: {bn}, dropout: 0.5}}
optim: {{name: adam, lr: 0.001}}
training: {{epochs: 3, device: {device}}}
run: {{out: {out}}}
"""


def history(accuracies: list[float]) -> list[dict]:
    return [
        {"epoch": i + 1, "val_accuracy": a, "val_loss": 1 - a, "epoch_time": 10.0}
        for i, a in enumerate(accuracies)
    ]


@pytest.fixture
def runs(tmp_path: Path) -> list[Path]:
    plain = write_run_files(
        tmp_path / "cnn",
        history=history([0.95, 0.97, 0.98]),
        metrics={
            "epochs": 3,
            "parameters": 34826,
            "train_time": 95.5,
            "val": {"loss": 0.05, "accuracy": 0.98},
            "test": {"loss": 0.04, "accuracy": 0.9812},
            "evaluation": {"mnist:test": {"accuracy": 0.9812, "macro": {"f1": 0.9811}}},
        },
        config=CONFIG.format(bn="false", data_dir="/a", device="cpu", out="runs/cnn"),
        model={"model": {"name": "keras-convnet"}, "data": {"name": "mnist"}},
    )
    with_bn = write_run_files(
        tmp_path / "cnn-bn",
        history=history([0.97, 0.985, 0.99]),
        metrics={"epochs": 3, "parameters": 35082, "val": {"accuracy": 0.99}},
        config=CONFIG.format(bn="true", data_dir="/b", device="cuda", out="runs/cnn-bn"),
    )
    return [plain, with_bn]


def test_table_shows_what_differs(runs: list[Path]) -> None:
    comparison = compare_runs(runs)
    # Only the technique differs; where the data lives, the device and the folder do not count.
    assert comparison.differing == ["model.options.batch_norm"]
    rows = comparison.rows()
    assert rows[0] == [
        "cnn", "keras-convnet", "batch_norm=False", "34,826", "mnist", "3", "1m 36s",
        "98.00%", "98.12%", "0.981",
    ]  # fmt: skip
    # The second run has no metrics for time, test or F1: the time comes from the history.
    assert rows[1][2] == "batch_norm=True" and rows[1][6] == "30.0 s"
    assert rows[1][7:] == ["99.00%", "—", "—"]


def test_written_files(runs: list[Path], tmp_path: Path) -> None:
    paths = write_comparison(compare_runs(runs), tmp_path / "out")
    with paths["csv"].open() as handle:
        records = list(csv.DictReader(handle))
    assert [r["run"] for r in records] == ["cnn", "cnn-bn"]
    assert float(records[0]["test_accuracy"]) == pytest.approx(0.9812)
    assert records[1]["test_accuracy"] == ""
    markdown = paths["markdown"].read_text()
    assert "| cnn-bn | keras-convnet | batch_norm=True |" in markdown
    assert "![Validation curves](val_curves.png)" in markdown
    with Image.open(paths["curves"]) as image:
        assert image.width > 1000 and image.height > 400
    assert paths["curves"].stat().st_size > 20_000


def test_cli_prints_and_writes(runs: list[Path], tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["compare", *map(str, runs), "--out", str(tmp_path / "cmp")])
    out = capsys.readouterr().out
    assert exit_info.value.code in (0, None)
    assert "cnn-bn" in out and "batch_norm=True" in out and "99.00%" in out
    assert (tmp_path / "cmp" / "compare.csv").is_file()


def test_cli_rejects_a_folder_that_is_not_a_run(tmp_path: Path, capsys) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit) as exit_info:
        main(["compare", str(tmp_path / "empty")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert "is not a run folder" in err and err.strip().count("\n") == 0


def test_missing_folder_and_corrupt_metrics(tmp_path: Path) -> None:
    with pytest.raises(CharrecError, match="not found"):
        compare_runs([tmp_path / "nope"])
    run = write_run_files(tmp_path / "bad", history=[])
    (run / "metrics.json").write_text("{not json")
    with pytest.raises(CharrecError, match=r"metrics\.json is unreadable"):
        compare_runs([run])


def test_format_seconds() -> None:
    assert [format_seconds(s) for s in (None, 5.04, 95.5, 7260)] == [
        "—",
        "5.0 s",
        "1m 36s",
        "2h 01m",
    ]
