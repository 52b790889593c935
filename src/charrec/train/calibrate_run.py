"""Calibrate a trained run folder afterwards: what `training.calibrate` does at the end of
training, for a run trained without it (`charrec calibrate RUN`).

The validation split is made again from the run's config.yaml (same data, same seed, so
the same images, checked by the training data's fingerprint), the temperature is fitted
on the final model's logits and folded into model.safetensors, model.json records it, and
config.yaml gets `training.calibrate: true`, so that `--resume` and a rerun of the config
give the same calibrated model. The answers do not change; the validation and test losses
that model.json and metrics.json record are scored again, as training scores them after
calibrating.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

import torch
import torch.nn.functional as F

from charrec.errors import CharrecError, ConfigError
from charrec.fileio import read_json, write_json
from charrec.train.checkpoint import (
    FORMAT,
    RunFolder,
    load_run,
    save_weights,
    state_dict_for_saving,
)
from charrec.train.config import TrainConfig
from charrec.train.temperature import Calibration, calibrate_model, model_logits


def calibrate_run(run_dir: str | os.PathLike[str]) -> Calibration:
    """Fit and fold the temperature of a run folder trained without `training.calibrate`."""
    from charrec.train.tensor_data import load_test_split, prepare_data

    run = RunFolder(run_dir)
    if not run.model_json.is_file():
        raise CharrecError(f"{run.path} is not a run folder with a checkpoint (no model.json)")
    meta = read_json(run.model_json)
    if (meta.get("model") or {}).get("members"):
        raise ConfigError(
            f"{run.path} is an ensemble: calibrate its members, then make the ensemble again"
        )
    if "calibration" in meta:
        temperature = meta["calibration"].get("temperature")
        raise ConfigError(f"{run.path} is calibrated already (temperature {temperature:.3f})")
    if not run.config.is_file():
        raise CharrecError(f"{run.path} has no config.yaml to make its validation split from")
    config = TrainConfig.from_yaml(run.config)
    data = prepare_data(config)
    if len(data.val_y) == 0:
        raise ConfigError(
            f"{run.path} was trained without a validation split (data.val_fraction 0); "
            "a temperature is fitted on one"
        )
    trained_on = (meta.get("data") or {}).get("fingerprint")
    if trained_on is not None and trained_on != data.fingerprint:
        raise CharrecError(
            f"the training data of {run.path} has changed since it trained (another "
            "fingerprint), so its validation split cannot be made again"
        )
    model, meta = load_run(run.path)
    preprocessing = meta["preprocessing"]
    logits = model_logits(model, data.val_x, preprocessing["mean"], preprocessing["std"])
    prior = meta.get("prior_correction") or {}
    calibration = calibrate_model(
        model, logits, data.val_y, prior.get("train_shares"), float(prior.get("tau", 0.0))
    )
    trained = run.weights.stat()
    save_weights(
        run.weights, state_dict_for_saving(model), {"epoch": str(meta["epoch"]), "format": FORMAT}
    )
    # The weights keep the time they were trained at (a model card's "trained" date).
    os.utime(run.weights, ns=(trained.st_atime_ns, trained.st_mtime_ns))
    losses = {"val": _loss(logits / calibration.temperature, data.val_y)}
    if config.data.evaluate_test and data.has_test:
        test_x, test_y = load_test_split(config)
        test_logits = model_logits(model, test_x, preprocessing["mean"], preprocessing["std"])
        losses["test"] = _loss(test_logits, test_y)
    scores = {**meta.get("metrics", {}), **{f"{split}_loss": x for split, x in losses.items()}}
    write_json(run.model_json, {**meta, "metrics": scores, "calibration": calibration.to_dict()})
    _rescore_metrics(run, losses)
    training = replace(config.training, calibrate=True)
    replace(config, training=training).to_yaml(run.config)
    return calibration


def _loss(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Mean cross-entropy without smoothing, as training reports it."""
    return float(F.cross_entropy(logits.double(), labels.long()))


def _rescore_metrics(run: RunFolder, losses: dict[str, float]) -> None:
    """The calibrated losses into metrics.json's final scores (accuracies are unchanged)."""
    if not run.metrics.is_file():
        return
    metrics: dict[str, Any] = read_json(run.metrics)
    for split, loss in losses.items():
        if isinstance(metrics.get(split), dict):
            metrics[split] = {**metrics[split], "loss": loss}
    write_json(run.metrics, metrics)
