"""`charrec train` end to end: flags -> config, errors with exit code 2, rerun, resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from charrec.cli import main
from charrec.train import TrainConfig
from charrec.train.augment import AugmentConfig

pytestmark = pytest.mark.realdata

TIMES = ("epoch_time", "train_time", "images_per_second", "total_time")


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    captured = capsys.readouterr()
    return exit_info.value.code or 0, captured.out, captured.err


def ok(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run a command that succeeds (returns without SystemExit) and return its output."""
    try:
        main(args)
    except SystemExit as exc:
        assert not exc.code, capsys.readouterr()
    return capsys.readouterr().out


def _tiny(data_dir: Path, out: Path) -> list[str]:
    return [
        "train",
        "--data-dir",
        str(data_dir),
        "--limit",
        "300",
        "--model",
        "mlp",
        "--hidden",
        "32,16",
        "--batch-size",
        "50",
        "--threads",
        "1",
        "--no-test",
        "--out",
        str(out),
    ]


def _strip(value):
    """Drop timings (they differ between runs), recursively."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in TIMES}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def test_flags_map_to_config(capsys) -> None:
    args = [
        "train",
        "--print-config",
        *("--data", "mnist", "--model", "keras-convnet", "--epochs", "5"),
        *("--optimizer", "adam", "--lr", "1e-3", "--schedule", "cosine", "--augment", "light"),
        *("--l1", "0", "--weight-decay", "0", "--dropout", "0.3", "--activation", "gelu"),
        *("--init", "kaiming", "--batch-norm", "--pooling", "avg", "--early-stopping", "3"),
        *("--label-smoothing", "0.1", "--val-fraction", "0.1", "--seed", "0"),
        *("--out", "runs/x", "--set", "model.options.hidden=[256,128,64]"),
        *("--precision", "bf16", "--channels-last", "--device", "cpu", "--warmup", "0.5"),
        *("--monitor", "val_accuracy", "--keep-last", "--momentum", "0.8", "--nesterov"),
        *("--batch-size", "256", "--threads", "2", "--limit", "1000", "--no-test"),
        "--calibrate",
        *("--teacher", "runs/a", "--teacher", "letters"),
    ]
    config = TrainConfig.from_dict(yaml.safe_load(ok(args, capsys)))
    assert config.data.name == "mnist" and config.data.val_fraction == 0.1
    assert config.data.limit == 1000 and not config.data.evaluate_test
    assert config.model.name == "keras-convnet"
    assert config.model.options == {
        "dropout": 0.3,
        "activation": "gelu",
        "init": "kaiming",
        "batch_norm": True,
        "pooling": "avg",
        "hidden": [256, 128, 64],
    }
    optim = config.optim
    assert (optim.name, optim.lr, optim.weight_decay, optim.momentum, optim.nesterov) == (
        "adam",
        0.001,
        0.0,
        0.8,
        True,
    )
    assert config.schedule.name == "cosine" and config.schedule.warmup_epochs == 0.5
    assert config.augment == AugmentConfig.preset("light")
    assert config.regularisation.l1 == 0 and config.regularisation.label_smoothing == 0.1
    training = config.training
    assert (training.epochs, training.batch_size, training.seed, training.num_threads) == (
        5,
        256,
        0,
        2,
    )
    assert training.device == "cpu" and training.precision == "bf16" and training.channels_last
    assert training.calibrate
    stop = training.early_stopping
    assert (stop.patience, stop.metric, stop.restore_best) == (3, "val_accuracy", False)
    assert config.run.out == "runs/x"
    assert config.distill.teachers == ["runs/a", "letters"]


def test_config_file_then_flags_then_set(tmp_path: Path, capsys) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("optim: {name: sgd, lr: 0.1}\ntraining: {epochs: 7, batch_size: 64}\n")
    args = ["train", "--print-config", "--config", str(path), "--lr", "0.2"]
    config = TrainConfig.from_dict(
        yaml.safe_load(ok([*args, "--set", "training.epochs=9"], capsys))
    )
    assert config.optim.name == "sgd" and config.optim.lr == 0.2
    assert config.training.epochs == 9 and config.training.batch_size == 64


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--optimizer", "adamax"], ["unknown optimizer 'adamax'", "adam, adamw"]),
        (["--model", "lenet"], ["unknown model 'lenet'", "keras-convnet", "mlp"]),
        (["--schedule", "linear"], ["unknown schedule 'linear'", "cosine, exponential"]),
        (["--augment", "wild"], ["augmentation preset 'wild'", "light", "strong"]),
        (["--data", "cifar"], ["unknown data set 'cifar'", "mnist"]),
        (["--set", "optim.lrate=1"], ["unknown key 'lrate'", "lr"]),
        (["--model", "keras-convnet", "--hidden", "64"], ["has no option 'hidden'"]),
        (["--activation", "swish"], ["activation"]),
    ],
)
def test_unknown_names_exit_2_listing_valid_ones(args, words, tmp_path: Path, capsys) -> None:
    code, _, err = run(["train", "--out", str(tmp_path / "r"), *args], capsys)
    assert code == 2
    message = " ".join(err.split())  # the console may wrap long lines
    for word in words:
        assert word in message
    assert "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_resume_refuses_other_options(tmp_path: Path, capsys) -> None:
    code, _, err = run(["train", "--resume", str(tmp_path), "--lr", "0.1"], capsys)
    assert code == 2 and "--resume continues a run exactly" in " ".join(err.split())


def test_saved_config_reruns_the_run(real_data_dir: Path, tmp_path: Path, capsys) -> None:
    first = tmp_path / "first"
    out = ok([*_tiny(real_data_dir, first), "--epochs", "2", "--augment", "light"], capsys)
    assert "epoch 2/2" in out and f"run folder: {first}" in " ".join(out.split())
    # Rerunning into the same folder is refused, and says what to do instead.
    code, _, err = run(["train", "--config", str(first / "config.yaml")], capsys)
    assert code == 2 and "--resume" in err and "--overwrite" in err
    second = tmp_path / "second"
    ok(["train", "--config", str(first / "config.yaml"), "--out", str(second), "-q"], capsys)
    history = [json.loads((d / "history.json").read_text()) for d in (first, second)]
    assert _strip(history[0]) == _strip(history[1])


def test_divergence_exits_2_with_a_clear_message(real_data_dir, tmp_path: Path, capsys) -> None:
    out = tmp_path / "nan"
    args = [*_tiny(real_data_dir, out), "--epochs", "3", "--optimizer", "sgd", "--lr", "0.01"]
    args += ["--schedule", "step", "--set", "schedule.params={step_size: 1, gamma: 1e9}"]
    code, stdout, err = run(args, capsys)
    message = " ".join(err.split())
    assert code == 2 and "training diverged" in message and "Traceback" not in err
    assert "last good checkpoint (epoch 1)" in message and "--lr" in message
    assert "epoch 1/3" in stdout
    assert json.loads((out / "model.json").read_text())["epoch"] == 1


def test_resume_after_sigkill_matches_an_uninterrupted_run(
    real_data_dir: Path, tmp_path: Path, capsys
) -> None:
    # keras-convnet on 1,500 images, one thread: about a second per epoch.
    args = ["--data-dir", str(real_data_dir), "--limit", "1500", "--model", "keras-convnet"]
    args += ["--epochs", "2", "--threads", "1", "--no-test", "--augment", "light", "-q"]
    killed = tmp_path / "killed"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "charrec", "train", *args, "--out", str(killed)]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE)
    try:
        # state.pt is written last in each epoch: once it exists, epoch 1 is complete and
        # epoch 2 is under way.
        deadline = time.monotonic() + 120
        while not (killed / "state.pt").exists():
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "no checkpoint within 120 s"
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=60)
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    assert not (killed / "metrics.json").exists()
    done = len(json.loads((killed / "history.json").read_text()))
    assert done == 1, "the run was not interrupted in its second epoch"

    ok(["train", "--resume", str(killed), "-q"], capsys)
    reference = tmp_path / "reference"
    ok(["train", *args, "--out", str(reference)], capsys)
    for name in ("metrics.json", "history.json"):
        resumed, uninterrupted = (json.loads((d / name).read_text()) for d in (killed, reference))
        assert _strip(resumed) == _strip(uninterrupted), name
    assert json.loads((killed / "metrics.json").read_text())["epochs"] == 2
