"""Batched inference over a whole image set, timed: class probabilities and images/s.

Images are prepared exactly as in training (model.json's preprocessing):
uint8 white ink on black, N×1×H×W, x = (pixels / 255 − mean) / std.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from charrec.errors import ConfigError

DEFAULT_BATCH = 1000


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} asked for, but torch sees no CUDA GPU; use cpu or auto")
    try:
        return torch.device(name)
    except RuntimeError:
        raise ConfigError(f"unknown device {name!r}; use auto, cpu or cuda") from None


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@torch.inference_mode()
def predict_probs(
    model: nn.Module,
    preprocessing: Mapping[str, Any],
    images: np.ndarray,
    batch_size: int = DEFAULT_BATCH,
    device: str = "auto",
) -> tuple[np.ndarray, dict[str, Any]]:
    """Softmax probabilities N×K (float64) and the measured throughput of this pass.

    Throughput counts everything from uint8 images on the device to probabilities
    (normalisation, forward pass, softmax), after one untimed warm-up batch.
    """
    if batch_size < 1:
        raise ConfigError(f"batch size must be at least 1, got {batch_size}")
    target = resolve_device(device)
    model = model.to(target).eval()
    mean, std = float(preprocessing["mean"]), float(preprocessing["std"])
    # A writable copy only if needed: torch warns on read-only arrays (cached data sets).
    data = torch.from_numpy(np.require(images, requirements=["C", "W"])).unsqueeze(1).to(target)

    def forward(batch: torch.Tensor) -> torch.Tensor:
        x = (batch.float() / 255.0 - mean) / std
        return torch.softmax(model(x).float(), dim=1)

    forward(data[: min(batch_size, len(data))])  # warm-up: lazy init, allocator, caches
    _sync(target)
    parts = []
    start = time.perf_counter()
    for first in range(0, len(data), batch_size):
        parts.append(forward(data[first : first + batch_size]))
    _sync(target)
    seconds = time.perf_counter() - start
    probs = torch.cat(parts).double().cpu().numpy()
    throughput = {
        "images_per_second": len(data) / max(seconds, 1e-9),
        "images": len(data),
        "seconds": seconds,
        "batch_size": batch_size,
        "device": str(target),
        "threads": torch.get_num_threads() if target.type == "cpu" else None,
    }
    return probs, throughput
