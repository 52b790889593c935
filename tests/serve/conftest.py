"""Fixtures for the server tests: a small trained model, the app, and pictures to send."""

from __future__ import annotations

from pathlib import Path

import pytest

from charrec.train import TrainConfig, apply_overrides, train

# A small MNIST model: the API's behaviour does not depend on how good it is.
TINY = {
    "data.name": "mnist",
    "data.limit": 600,
    "data.evaluate_test": False,
    "model.name": "mlp",
    "model.options.hidden": [64, 32],
    "training.epochs": 2,
    "training.batch_size": 50,
    "training.num_threads": 1,
}


@pytest.fixture(scope="session")
def digits_run(real_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder of a small model trained on real MNIST digits."""
    out = tmp_path_factory.mktemp("serve") / "digits-run"
    values = {**TINY, "data.data_dir": str(real_data_dir), "run.out": str(out)}
    train(apply_overrides(TrainConfig(), values), verbose=False)
    return out


@pytest.fixture(scope="session")
def recognizer(digits_run: Path):
    import charrec

    return charrec.load(digits_run)


@pytest.fixture(scope="session")
def app(recognizer):
    from charrec.serve import create_app

    return create_app([recognizer], max_bytes=256 * 1024, max_pixels=4_000_000)


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as test_client:
        yield test_client
