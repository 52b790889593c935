"""Temperature scaling (Guo et al., "On Calibration of Modern Neural Networks", 2017),
applied once after training.

Label smoothing, heavy augmentation and dropout leave a network's confidence off from how
often it is right (the models here are mostly under-confident: 85% confidence for 93%
accuracy). One temperature T, fitted on the validation split by minimising the negative
log-likelihood, divides every logit: the answers (the arg max) stay the same, their
probabilities come to match the accuracy. T is folded into the logits layer, so every
backend (PyTorch, ONNX, an ensemble's average) computes the calibrated probabilities with
no extra step.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import minimize_scalar
from torch import nn

from charrec.evaluate.calibration import expected_calibration_error
from charrec.train.prior import logits_layer

# Temperatures searched: far beyond what a trained network needs on either side.
LOG_T_BOUNDS = (math.log(0.05), math.log(20.0))


@dataclass(frozen=True)
class Calibration:
    """The fitted temperature and the validation split's scores before and after."""

    temperature: float
    images: int
    nll_before: float
    nll_after: float
    ece_before: float
    ece_after: float

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _nll(logits: torch.Tensor, labels: torch.Tensor, temperature: float) -> float:
    return float(F.cross_entropy(logits / temperature, labels))


def _ece(logits: torch.Tensor, labels: torch.Tensor, temperature: float) -> float:
    probs = torch.softmax(logits / temperature, dim=1).numpy()
    return expected_calibration_error(probs, labels.numpy())


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> Calibration:
    """The temperature that minimises the mean cross-entropy of logits / T on these labels.

    The NLL is convex in 1/T, so a bounded search over log T finds its one minimum.
    """
    if logits.ndim != 2 or len(logits) != len(labels) or len(labels) == 0:
        raise ValueError("temperature scaling needs N×C logits and N labels, N > 0")
    logits, labels = logits.detach().double().cpu(), labels.detach().long().cpu()
    result = minimize_scalar(
        lambda log_t: _nll(logits, labels, math.exp(log_t)),
        bounds=LOG_T_BOUNDS,
        method="bounded",
        options={"xatol": 1e-5},
    )
    temperature = float(np.exp(result.x))
    return Calibration(
        temperature=temperature,
        images=len(labels),
        nll_before=_nll(logits, labels, 1.0),
        nll_after=_nll(logits, labels, temperature),
        ece_before=_ece(logits, labels, 1.0),
        ece_after=_ece(logits, labels, temperature),
    )


@torch.no_grad()
def fold_temperature(model: nn.Module, temperature: float) -> None:
    """Divide the logits layer's weights and bias by the temperature, in place."""
    if not temperature > 0:
        raise ValueError(f"a temperature must be positive, got {temperature}")
    layer = logits_layer(model)
    layer.weight.div_(temperature)
    if layer.bias is not None:
        layer.bias.div_(temperature)
