"""Fixtures for training tests: a tiny, fast config on a few hundred real MNIST images."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from charrec.train import TrainConfig, TrainResult, apply_overrides, train

# One thread: fast for tiny models, and immune to other processes competing for the cores
# (OpenMP threads that wait on a busy core slow tiny ops down many times over).
TINY = {
    "data.name": "mnist",
    "data.limit": 300,
    "data.evaluate_test": False,
    "model.name": "mlp",
    "model.options.hidden": [32, 16],
    "training.epochs": 1,
    "training.batch_size": 50,
    "training.num_threads": 1,
}


@pytest.fixture
def tiny_config(real_data_dir: Path, tmp_path: Path) -> Callable[..., TrainConfig]:
    """tiny_config(**overrides with dots as __) -> a TrainConfig writing under tmp_path."""
    counter = iter(range(1000))

    def make(overrides: dict[str, Any] | None = None) -> TrainConfig:
        values = {
            **TINY,
            "data.data_dir": str(real_data_dir),
            "run.out": str(tmp_path / f"run{next(counter)}"),
        }
        values.update(overrides or {})
        return apply_overrides(TrainConfig(), values)

    return make


@pytest.fixture
def run_tiny(tiny_config: Callable[..., TrainConfig]) -> Callable[..., TrainResult]:
    """run_tiny({"optim.name": "sgd", ...}) trains quietly and returns the result."""

    def run(overrides: dict[str, Any] | None = None, **kwargs: Any) -> TrainResult:
        return train(tiny_config(overrides), verbose=False, **kwargs)

    return run
