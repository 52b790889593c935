"""The Recognizer's PyTorch backend (imported only when it is used: torch takes seconds)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from charrec.evaluate.inference import resolve_device
from charrec.infer.recognizer import SMALL_BATCH


class TorchBackend:
    """The model in PyTorch, normalised as in training: (pixels / 255 - mean) / std."""

    def __init__(self, model: nn.Module, meta: dict[str, Any], device: str = "cpu") -> None:
        self.device = resolve_device(device)
        # NHWC, as in training: torch's CPU max pool is several times faster on it.
        self.model = model.to(self.device, memory_format=torch.channels_last).eval()
        mean = float(meta["preprocessing"]["mean"])
        std = float(meta["preprocessing"]["std"])
        # (pixels / 255 - mean) / std as one multiply and one subtraction, in place: each
        # small op costs tens of microseconds, as much as a layer for one image.
        self.scale, self.shift = 1.0 / (255.0 * std), mean / std

    @torch.inference_mode()
    def probabilities(self, images: np.ndarray) -> np.ndarray:
        pixels = torch.from_numpy(np.require(images, requirements=["C", "W"]))
        x = pixels.unsqueeze(1).to(self.device, torch.float32).mul_(self.scale).sub_(self.shift)
        x = x.contiguous(memory_format=torch.channels_last)
        small = self.device.type == "cpu" and len(images) < SMALL_BATCH
        with _intra_op_threads(1 if small else None):
            probs = torch.softmax(self.model(x), dim=1, dtype=torch.float32)
        return probs.cpu().numpy()


@contextlib.contextmanager
def _intra_op_threads(threads: int | None) -> Iterator[None]:
    """Run the block on `threads` intra-op threads (None: as set), then restore the setting.

    Setting and restoring cost nothing measurable next to a forward pass.
    """
    before = torch.get_num_threads()
    if threads is None or threads == before:
        yield
        return
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
