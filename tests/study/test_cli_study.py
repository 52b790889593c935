"""`charrec study run` and `charrec study tune` end to end on a few hundred real images."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clirun import run_cli as run

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

# Tiny trials: 240 MNIST images, one epoch, two folds, one thread each.
TINY = [
    "--data",
    "mnist",
    "--folds",
    "2",
    "--epochs",
    "1",
    "--limit",
    "240",
    "--final-limit",
    "300",
]


# The Keras convnet at a quarter of its filters: a CNN that trains in a moment.
CNN = "{name: keras-convnet, options: {width: 0.25}}"


def _rows(folder: Path) -> list[dict[str, str]]:
    with open(folder / "results.csv") as handle:
        return list(csv.DictReader(handle))


def test_ofat_study_of_an_mlp_and_a_cnn(
    real_data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "study"
    bases = []
    for arm, model in (("mlp", "{name: mlp, options: {hidden: [32]}}"), ("cnn", CNN)):
        (tmp_path / f"{arm}.yaml").write_text(f"model: {model}\ntraining: {{batch_size: 32}}\n")
        bases += ["--base", f"{arm}={tmp_path / arm}.yaml"]
    args = ["study", "run", *TINY, *bases, "--factors", "dropout", "--out", str(out)]
    args += ["--factor", "optim.lr=[0.001,0.003]", "--data-dir", str(real_data_dir)]
    code, stdout, stderr = run(args, capsys)
    assert code == 0, stderr
    assert "mlp: final model" in stdout and "cnn: final model" in stdout
    rows = _rows(out)
    arms = {row["arm"] for row in rows}
    assert arms == {"mlp", "cnn"}
    factors = [row["factor"] for row in rows if row["arm"] == "cnn"]
    assert factors[:2] == ["baseline", "baseline"] and "dropout" in factors
    assert factors.index("dropout") < factors.index("optim.lr") < factors.index("final")
    finals = [row for row in rows if row["factor"] == "final"]
    assert len(finals) == 4 and all(float(row["test_accuracy"]) > 0.1 for row in finals)
    # Only the final models touched the test split.
    assert all(row["test_accuracy"] == "" for row in rows if row["factor"] != "final")
    report = (out / "report.md").read_text()
    for heading in (
        "## The study",
        "## mlp: one factor at a time",
        "## cnn: one factor at a time",
        "**Factor 1: dropout**",
        "**Factor 2: optim.lr**",
        "vs best so far, 95% CI*",
        "## Baseline against final, on the test split",
        "## The final models side by side",
        "precision",
        "cnn-test-samples.png",
        "confusion",
        "loss and accuracy per epoch",
    ):
        assert heading in report, heading
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and 'src="figures' not in html
    # Each trial is a normal run folder that `charrec evaluate` accepts.
    trial = Path(rows[0]["run_dir"])
    assert (trial / "tensorboard").is_dir()
    code, _, stderr = run(["evaluate", str(trial), "--data-dir", str(real_data_dir)], capsys)
    assert code == 0, stderr
    # The same command again trains nothing: every trial is reused.
    code, stdout, stderr = run(args, capsys)
    assert code == 0, stderr
    assert "training" not in stdout
    assert _rows(out) == rows


def test_tune_searches_prunes_and_tests_the_best(
    real_data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    space = tmp_path / "space.yaml"
    space.write_text(
        "optim.lr: {low: 1.0e-4, high: 1.0e-2, log: true}\nmodel.options.hidden: [[32], [64, 32]]\n"
    )
    base = tmp_path / "mlp.yaml"
    base.write_text("model: {name: mlp}\ntraining: {epochs: 2, num_threads: 1}\n")
    out = tmp_path / "tune"
    args = ["study", "tune", "--data", "mnist", "--base", str(base), "--space", str(space)]
    args += ["--trials", "5", "--limit", "240", "--folds", "2", "--out", str(out)]
    code, stdout, stderr = run([*args, "--data-dir", str(real_data_dir)], capsys)
    assert code == 0, stderr
    assert "best:" in stdout and "on test" in stdout
    rows = _rows(out)
    assert len(rows) == 5 and {r["state"] for r in rows} <= {"complete", "pruned"}
    report = (out / "report.md").read_text()
    assert "optimisation-history.png" in report and "## The final models side by side" in report
    assert "model.options.hidden" in report


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--factors", "colour"], ["unknown factor 'colour'", "augmentation"]),
        (["--factor", "optim.lr=[0.1]"], ["single option"]),
        (["--factors", "dropout", "--folds", "100", "--limit", "500"], ["100 folds", "class"]),
        (
            ["--factors", "dropout", "--storage", "postgresql://u:secret@127.0.0.1:9/none"],
            ["127.0.0.1:9", "cannot open the study storage"],
        ),
    ],
)
def test_bad_studies_are_refused_in_one_line(
    extra: list[str],
    words: list[str],
    real_data_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "s"
    args = ["study", "run", *TINY, "--out", str(out), "--data-dir", str(real_data_dir), *extra]
    code, _, stderr = run(args, capsys)
    assert code == 2
    assert all(word in stderr for word in words), stderr
    assert "Traceback" not in stderr and "secret" not in stderr


def test_a_folder_made_for_other_data_is_refused(
    real_data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "s"
    args = ["study", "run", "--folds", "2", "--factors", "dropout", "--out", str(out)]
    code, _, _ = run([*args, "--data", "mnist", "--print-spec"], capsys)
    assert code == 0 and not out.exists()  # --print-spec writes nothing
    (out / "trials").mkdir(parents=True)
    from charrec.study.spec import build_spec

    build_spec("s", "letters-dev", ["dropout"], folds=2).to_yaml(out / "study.yaml")
    code, _, stderr = run([*args, "--data", "mnist", "--data-dir", str(real_data_dir)], capsys)
    assert code == 2 and "holds a study of 'letters-dev', not 'mnist'" in stderr
    other = tmp_path / "notes"
    other.mkdir()
    (other / "thesis.tex").write_text("")
    code, _, stderr = run([*args, "--data", "mnist", "--out", str(other)], capsys)
    assert code == 2 and "thesis.tex" in stderr


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "charrec", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def _kill_when_training(process: subprocess.Popen[str], times: int = 1) -> list[str]:
    """Read the worker's lines; SIGKILL it once it has started its `times`-th unit."""
    lines, started = [], 0
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        if line.rstrip().endswith(")") and ": training (worker" in line:
            started += 1
            if started == times:
                time.sleep(0.3)
                process.send_signal(signal.SIGKILL)
                break
    process.wait(timeout=60)
    return lines


def _run_or_dump(args: list[str], env: dict[str, str], timeout: float) -> tuple[int, str]:
    """(exit code, output) of `charrec ARGS`; one that runs past `timeout` is made to print
    every thread's stack (faulthandler, on SIGABRT) and the test fails showing them."""
    process = _start(args, {**env, "PYTHONFAULTHANDLER": "1"})
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)
        output, _ = process.communicate(timeout=60)
        pytest.fail(f"charrec {' '.join(args)} ran past {timeout} s:\n{output[-20000:]}")
    return process.returncode, output


def _env(real_data_dir: Path) -> dict[str, str]:
    return {**os.environ, "CHARREC_DATA": str(real_data_dir), "PYTHONUNBUFFERED": "1"}


def _complete_once(store_url: str, name: str) -> None:
    """Every unit of the study finished in exactly one trial."""
    import optuna
    from optuna.trial import TrialState

    study = optuna.load_study(study_name=name, storage=store_url)
    done = [t.user_attrs["unit"] for t in study.get_trials() if t.state == TrialState.COMPLETE]
    assert done and len(done) == len(set(done))


# Trials long enough to be killed in the middle (a few seconds each).
SLOW = ["--data", "mnist", "--folds", "2", "--epochs", "2", "--limit", "2000", "--arms", "mlp"]
SLOW += ["--jobs", "1"]


def test_rerun_after_sigkill_continues_where_it_stopped(
    real_data_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "s"
    args = [
        "study",
        "run",
        *SLOW,
        "--factors",
        "dropout",
        "--final-limit",
        "600",
        "--out",
        str(out),
    ]
    lines = _kill_when_training(_start(args, _env(real_data_dir)), times=2)
    assert any("validation accuracy" in line for line in lines)  # a unit finished
    finished = {
        path: path.stat().st_mtime_ns
        for path in (out / "trials").rglob("model.safetensors")
        if (path.parent / "metrics.json").is_file()
    }
    assert finished
    code, output = _run_or_dump(args, _env(real_data_dir), timeout=300)
    assert code == 0, output
    # The units finished before the kill were not trained again; the rest were.
    assert {path: path.stat().st_mtime_ns for path in finished} == finished
    units = {Path(row["run_dir"]) for row in _rows(out)}
    assert all((unit / "metrics.json").is_file() for unit in units)
    assert len(units) > len(finished)
    _complete_once(f"sqlite:///{out / 'study.db'}", "s")
