"""Small run folders trained on real MNIST in about a second, for recognizer and CLI tests."""

from __future__ import annotations

from pathlib import Path

from charrec.train import TrainConfig, apply_overrides, train

# Trained once per test session and shared by every test module that asks.
_TRAINED: dict[Path, Path] = {}


def mnist_mlp_run(data_dir: Path, root: Path) -> Path:
    """A run folder holding an MLP trained on 2,000 MNIST images (about 80% accurate)."""
    out = root / "mnist-mlp"
    if out not in _TRAINED:
        config = apply_overrides(
            TrainConfig(),
            {
                "data.name": "mnist",
                "data.data_dir": str(data_dir),
                "data.limit": 2000,
                "data.evaluate_test": False,
                "model.name": "mlp",
                "model.options.hidden": [64],
                "training.epochs": 2,
                "training.batch_size": 100,
                # One thread: tiny ops are fastest so, whatever else runs on the cores.
                "training.num_threads": 1,
                "run.out": str(out),
            },
        )
        train(config, verbose=False)
        _TRAINED[out] = out
    return out


def letters_case_mlp_run(data_dir: Path, root: Path) -> Path:
    """A run folder holding an MLP trained on 1,040 letters-case-dev images: 52 classes,
    A-Z and a-z, so its answers carry the case (a few seconds, mostly reading the data)."""
    out = root / "letters-case-mlp"
    if out not in _TRAINED:
        config = apply_overrides(
            TrainConfig(),
            {
                "data.name": "letters-case-dev",
                "data.data_dir": str(data_dir),
                "data.limit": 1040,
                "data.evaluate_test": False,
                "model.name": "mlp",
                "model.options.hidden": [32],
                "training.epochs": 1,
                "training.batch_size": 100,
                "training.num_threads": 1,
                "run.out": str(out),
            },
        )
        train(config, verbose=False)
        _TRAINED[out] = out
    return out
