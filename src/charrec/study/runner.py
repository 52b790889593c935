"""Train one unit of a study into its run folder: a normal run, resumed if interrupted.

The folder's unit.json names the unit it trains. A folder that finished that unit is
read, not trained again; one that stopped mid-way (Ctrl-C, SIGKILL, a lost machine whose
folder is shared) continues from its last complete epoch; anything else starts afresh.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from charrec.fileio import write_json
from charrec.study.ofat import Unit
from charrec.train.checkpoint import RunFolder

MARKER = "unit.json"


def _marker_matches(run: RunFolder, unit: Unit) -> bool:
    try:
        return json.loads((run.path / MARKER).read_text()).get("unit") == unit.key
    except (OSError, ValueError):
        return False


def _finished(run: RunFolder) -> dict[str, Any] | None:
    try:
        metrics = json.loads(run.metrics.read_text())
    except (OSError, ValueError):
        return None
    return metrics if isinstance(metrics, dict) and "train_time" in metrics else None


def result_of(metrics: dict[str, Any]) -> dict[str, Any]:
    """The numbers a study keeps from a run's metrics.json."""
    val, test = metrics.get("val") or {}, metrics.get("test") or {}
    return {
        "val_accuracy": val.get("accuracy"),
        "val_loss": val.get("loss"),
        "test_accuracy": test.get("accuracy"),
        "test_loss": test.get("loss"),
        "train_time": metrics.get("train_time"),
        "epochs": metrics.get("epochs"),
        "best_epoch": metrics.get("best_epoch"),
        "images_per_second": metrics.get("images_per_second"),
        "parameters": metrics.get("parameters"),
    }


def run_unit(unit: Unit, threads: int | None = None, callbacks: tuple = ()) -> dict[str, Any]:
    """Train (or resume, or read back) `unit`; returns `result_of` its metrics, and where
    the run folder is (host and path: workers on other machines have their own)."""
    return {**_run(unit, threads, callbacks), **_where(unit)}


def _where(unit: Unit) -> dict[str, Any]:
    import socket

    return {"run_dir": str(Path(unit.config.run.out).resolve()), "host": socket.gethostname()}


def _trial_board(unit: Unit) -> tuple:
    """A cross-validation trial logs curves and hparams only: the HParams view compares
    trials, and histograms or a graph of each of dozens of short runs cost more than
    they tell. Final models keep everything."""
    from charrec.train.tensorboard import TensorBoardCallback

    folder = Path(unit.config.run.out) / "tensorboard"
    return (TensorBoardCallback(folder, histogram_every=0, step_every=0, graph=False),)


def _run(unit: Unit, threads: int | None, callbacks: tuple) -> dict[str, Any]:
    from charrec.train import resume, train

    if not callbacks and unit.fold is not None:
        callbacks = _trial_board(unit)
    config = unit.config
    if threads:
        config = replace(config, training=replace(config.training, num_threads=threads))
    run = RunFolder(config.run.out)
    if _marker_matches(run, unit):
        finished = _finished(run)
        if finished is not None:
            return result_of(finished)
        if run.state.is_file():
            return result_of(resume(run.path, callbacks=callbacks, verbose=False).metrics)
    run.prepare(overwrite=True)
    write_json(Path(run.path) / MARKER, {"unit": unit.key, **unit.attrs()})
    result = train(config, callbacks=callbacks, overwrite=True, verbose=False)
    return result_of(result.metrics)
