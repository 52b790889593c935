"""Snapshot ensembles: a run that keeps its last epochs' weights, averaged into one folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import charrec
from charrec.data import load_dataset
from charrec.errors import ConfigError
from charrec.fileio import read_json
from charrec.train import Callback, TrainConfig, apply_overrides, resume, train
from charrec.train.checkpoint import RunFolder, load_weights
from clirun import run_cli as run

pytestmark = pytest.mark.realdata

TOLERANCE = 1e-5


def tiny_config(data_dir: Path, out: Path, **more: object) -> TrainConfig:
    """An MLP trained on 300 MNIST images: about a second per run."""
    values = {
        "data.name": "mnist",
        "data.data_dir": str(data_dir),
        "data.limit": 300,
        "data.evaluate_test": False,
        "model.name": "mlp",
        "model.options.hidden": [32],
        "training.epochs": 3,
        "training.batch_size": 50,
        "training.num_threads": 1,
        "run.out": str(out),
        **more,
    }
    return apply_overrides(TrainConfig(), values)


@pytest.fixture(scope="module")
def snapshot_run(real_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three epochs, the last two kept."""
    out = tmp_path_factory.mktemp("snapshots") / "run"
    train(tiny_config(real_data_dir, out, **{"training.keep_snapshots": 2}), verbose=False)
    return out


def snapshot_as_run(run_dir: Path, epoch: int, folder: Path) -> Path:
    """A run folder whose model is the run's snapshot of `epoch`."""
    folder.mkdir()
    shutil.copyfile(run_dir / "model.json", folder / "model.json")
    shutil.copyfile(RunFolder(run_dir).snapshot(epoch), folder / "model.safetensors")
    return folder


def test_a_run_keeps_only_its_last_epochs_and_the_last_is_the_final_model(
    snapshot_run: Path,
) -> None:
    run_folder = RunFolder(snapshot_run)
    assert [epoch for epoch, _ in run_folder.list_snapshots()] == [2, 3]
    final = load_weights(run_folder.weights)
    last = load_weights(run_folder.snapshot(3))
    earlier = load_weights(run_folder.snapshot(2))
    assert all(np.array_equal(final[k].numpy(), last[k].numpy()) for k in final)
    assert not all(np.array_equal(final[k].numpy(), earlier[k].numpy()) for k in final)


class StopAfter(Callback):
    """Interrupts training once `epoch` is saved, as a Ctrl-C would."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_end(self, epoch: int, metrics: dict, model: object) -> None:
        if epoch == self.epoch:
            raise KeyboardInterrupt


def test_a_resumed_run_keeps_the_same_snapshots(
    snapshot_run: Path, real_data_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "interrupted"
    config = tiny_config(real_data_dir, out, **{"training.keep_snapshots": 2})
    with pytest.raises(KeyboardInterrupt):
        train(config, callbacks=[StopAfter(1)], verbose=False)
    assert [epoch for epoch, _ in RunFolder(out).list_snapshots()] == [1]
    resume(out, verbose=False)
    assert [epoch for epoch, _ in RunFolder(out).list_snapshots()] == [2, 3]
    for epoch in (2, 3):
        ours = load_weights(RunFolder(out).snapshot(epoch))
        whole = load_weights(RunFolder(snapshot_run).snapshot(epoch))
        assert all(np.array_equal(ours[k].numpy(), whole[k].numpy()) for k in whole)


def test_by_default_a_run_folder_keeps_no_snapshots(real_data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "plain"
    train(tiny_config(real_data_dir, out, **{"training.epochs": 1}), verbose=False)
    assert not RunFolder(out).snapshots.exists()


def test_keep_snapshots_must_not_be_negative_and_does_not_change_the_model(
    real_data_dir: Path, tmp_path: Path, snapshot_run: Path
) -> None:
    from charrec.infer.publish import config_differences

    with pytest.raises(ConfigError, match=r"training\.keep_snapshots"):
        tiny_config(real_data_dir, tmp_path / "x", **{"training.keep_snapshots": -1}).validate()
    # A recipe without snapshots still made this run's model (publish, seed ensembles).
    plain = tiny_config(real_data_dir, tmp_path / "x")
    assert config_differences(plain, snapshot_run / "config.yaml") == ""


def test_the_snapshot_ensemble_averages_the_kept_epochs(
    snapshot_run: Path,
    real_data_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "ens"
    args = ["ensemble", "--snapshots", str(snapshot_run), "--out", str(out), "--data", "mnist"]
    code, stdout, stderr = run([*args, "--data-dir", str(real_data_dir), "--weighted"], capsys)
    assert code == 0, stderr
    assert "ensemble:" in stdout

    images = np.ascontiguousarray(load_dataset("mnist", "test", real_data_dir).images[:200])
    singles = [
        charrec.load(snapshot_as_run(snapshot_run, e, tmp_path / f"epoch-{e}"))
        .predict_arrays(images)
        .astype(np.float64)
        for e in (2, 3)
    ]
    history = {row["epoch"]: row for row in read_json(snapshot_run / "history.json")}
    accuracies = [history[e]["val_accuracy"] for e in (2, 3)]
    weights = np.array(accuracies) / sum(accuracies)
    expected = weights[0] * singles[0] + weights[1] * singles[1]
    ours = charrec.load(out).predict_arrays(images).astype(np.float64)
    assert np.abs(ours - expected).max() < TOLERANCE

    card = json.loads((out / "card.json").read_text())
    snapshots = RunFolder(snapshot_run).snapshots
    assert [m["source"] for m in card["members"]] == [
        str(snapshots / f"epoch-{e}.safetensors") for e in (2, 3)
    ]
    assert [m["val_accuracy"] for m in card["members"]] == accuracies
    # The run tested only its final model: no snapshot borrows that score.
    assert [m["test_accuracy"] for m in card["members"]] == [None, None]
    assert card["test_data"] == "mnist:test"
    # One training run made both members: its time is counted once.
    metrics = read_json(out / "metrics.json")
    assert metrics["train_time"] == read_json(snapshot_run / "metrics.json")["train_time"]


def test_a_run_without_snapshots_or_two_sources_is_refused(
    real_data_dir: Path,
    snapshot_run: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    plain = tmp_path / "plain"
    train(tiny_config(real_data_dir, plain, **{"training.epochs": 1}), verbose=False)
    out = tmp_path / "ens"
    code, _, stderr = run(["ensemble", "--snapshots", str(plain), "--out", str(out)], capsys)
    assert code == 2 and "training.keep_snapshots" in stderr
    assert len(stderr.strip().splitlines()) == 1 and not out.exists()

    args = ["ensemble", str(plain), "--snapshots", str(snapshot_run), "--out", str(out)]
    code, _, stderr = run(args, capsys)
    assert code == 2 and "not member folders and --snapshots" in stderr
    assert not out.exists()


def test_keeping_snapshots_leaves_a_study_trials_identity_alone(
    real_data_dir: Path, tmp_path: Path
) -> None:
    from charrec.study.ofat import identity

    plain = tiny_config(real_data_dir, tmp_path / "x")
    kept = tiny_config(real_data_dir, tmp_path / "x", **{"training.keep_snapshots": 2})
    assert identity(plain) == identity(kept)
    assert identity(plain) != identity(
        tiny_config(real_data_dir, tmp_path / "x", **{"training.seed": 1})
    )
