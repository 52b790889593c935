"""Cross-validation folds of the training split (data.folds, data.fold, data.fold_seed)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pytest

from charrec.errors import ConfigError
from charrec.train import TrainConfig, apply_overrides
from charrec.train.tensor_data import prepare_data


def _split_keys(config: TrainConfig) -> tuple[set[bytes], set[bytes]]:
    data = prepare_data(config)
    as_keys = lambda x: {bytes(image.numpy().tobytes()) for image in x}  # noqa: E731
    return as_keys(data.train_x), as_keys(data.val_x)


def test_folds_partition_the_training_split(tiny_config: Callable[..., TrainConfig]) -> None:
    base = tiny_config({"data.folds": 3})
    vals, trains = [], []
    for fold in range(3):
        config = apply_overrides(base, {"data.fold": fold})
        data = prepare_data(config)
        # Stratified: every class on both sides of each fold.
        assert set(data.val_y.tolist()) == set(range(10))
        assert len(data.train_y) + len(data.val_y) == 300
        train_keys, val_keys = _split_keys(config)
        vals.append(val_keys)
        trains.append(train_keys)
        assert not train_keys & val_keys
    # Every image validates in exactly one fold.
    assert sum(len(v) for v in vals) == len(set.union(*vals))


def test_folds_do_not_depend_on_the_training_seed(tiny_config: Callable[..., TrainConfig]) -> None:
    config = tiny_config({"data.folds": 2, "data.fold": 1})
    other_seed = apply_overrides(config, {"training.seed": 7, "model.options.hidden": [8]})
    other_folds = apply_overrides(config, {"data.fold_seed": 1})
    assert _split_keys(config) == _split_keys(other_seed)
    assert _split_keys(config)[1] != _split_keys(other_folds)[1]


def test_fold_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match=r"data\.folds"):
        apply_overrides(TrainConfig(), {"data.folds": 1}).validate()
    with pytest.raises(ConfigError, match=r"data.fold must be in 0..2"):
        apply_overrides(TrainConfig(), {"data.folds": 3, "data.fold": 3}).validate()
    # Early stopping on validation needs no val_fraction when folds validate.
    config = apply_overrides(
        TrainConfig(),
        {"data.folds": 3, "data.val_fraction": 0, "training.early_stopping.patience": 2},
    )
    assert config.validate() is config


def test_a_fold_run_records_its_fold(run_tiny: Callable[..., object]) -> None:
    result = run_tiny({"data.folds": 2, "data.fold": 1})
    meta = __import__("json").loads((result.run_dir / "model.json").read_text())
    assert (meta["data"]["folds"], meta["data"]["fold"]) == (2, 1)
    assert meta["data"]["val_images"] == 150
    assert np.isfinite(result.metrics["val"]["accuracy"])
    assert replace(TrainConfig().data).folds == 0
