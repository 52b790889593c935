"""What `training.precision: auto` means on this machine.

bf16 autocast cuts the cost of convolutions where the hardware multiplies bf16 natively
(measured about 2× for the zoo's CNNs on a CPU with Intel AMX, 1.1-1.6× on an AMD Zen 4
with AVX512-BF16), and is several times slower where it is emulated (AVX2 CPUs). Dense
layers at these sizes gain little on a CPU, so an MLP stays in fp32.
"""

from __future__ import annotations

import torch
from torch import nn


def has_convolutions(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.conv._ConvNd) for m in model.modules())


def resolve_precision(precision: str, device: torch.device, model: nn.Module) -> str:
    """fp32 or bf16: `precision` itself unless it is auto."""
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if device.type == "cpu" and has_convolutions(model):
        from charrec.machine import computes_bf16_natively

        return "bf16" if computes_bf16_natively() else "fp32"
    return "fp32"
