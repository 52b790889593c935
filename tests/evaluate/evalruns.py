"""Run folders for evaluation tests, in the training engine's checkpoint format."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from charrec.fileio import write_json
from charrec.train.checkpoint import (
    FORMAT,
    FORMAT_VERSION,
    build_model,
    save_weights,
    state_dict_for_saving,
)


def save_run(
    folder: Path,
    classes: Sequence[str],
    *,
    data_name: str = "mnist",
    hidden: Sequence[int] = (16,),
    seed: int = 0,
    mean: float = 0.13,
    std: float = 0.31,
) -> Path:
    """A run folder holding an untrained MLP (seeded weights) and its model.json."""
    torch.manual_seed(seed)
    options = {"hidden": list(hidden), "activation": "relu", "init": "kaiming"}
    options.update(batch_norm=False, dropout=0.0)
    model = build_model("mlp", options, len(classes))
    folder.mkdir(parents=True, exist_ok=True)
    save_weights(folder / "model.safetensors", state_dict_for_saving(model))
    write_json(
        folder / "model.json",
        {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "model": {"name": "mlp", "options": options},
            "num_classes": len(classes),
            "classes": list(classes),
            "parameters": sum(p.numel() for p in model.parameters()),
            "preprocessing": {"input_size": [28, 28], "mean": mean, "std": std},
            "data": {"name": data_name},
            "epoch": 1,
            "metrics": {},
        },
    )
    return folder


def write_run_files(
    folder: Path,
    *,
    history: list[dict[str, Any]] | None = None,
    metrics: dict[str, Any] | None = None,
    config: str | None = None,
    model: dict[str, Any] | None = None,
) -> Path:
    """A run folder of plain files only (what `compare` reads), written by the test."""
    folder.mkdir(parents=True, exist_ok=True)
    if history is not None:
        (folder / "history.json").write_text(json.dumps(history))
    if metrics is not None:
        (folder / "metrics.json").write_text(json.dumps(metrics))
    if config is not None:
        (folder / "config.yaml").write_text(config)
    if model is not None:
        (folder / "model.json").write_text(json.dumps(model))
    return folder
