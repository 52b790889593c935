"""Temperature scaling (Guo et al., "On Calibration of Modern Neural Networks", 2017),
applied once after training, or later to a trained run (`charrec calibrate`).

Label smoothing, heavy augmentation and dropout leave a network's confidence off from how
often it is right (the recipes here are under-confident: 84% confidence for 93% accuracy).
One temperature T, fitted on the validation split by minimising the negative
log-likelihood, divides every logit: the answers (the arg max) stay the same, their
probabilities come to match the accuracy. T is folded into the logits layer, so every
backend (PyTorch, ONNX, an ensemble's average) computes the calibrated probabilities with
no extra step.

A prior-corrected model (charrec.train.prior) answers as if its classes were equally
likely, while its validation split has the training set's class shares; each validation
image then counts share^-τ times, so that the fit sees the classes as the corrected model
expects them. T is fitted last, on the final logits, so the answers never change.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
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
    """The fitted temperature and the validation split's scores before and after (each
    image weighted as the fit weighted it)."""

    temperature: float
    images: int
    nll_before: float
    nll_after: float
    ece_before: float
    ece_after: float

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)

    def summary(self) -> str:
        return (
            f"temperature {self.temperature:.3f} fitted on {self.images:,} validation "
            f"images: ECE {100 * self.ece_before:.2f}% -> {100 * self.ece_after:.2f}%, "
            f"NLL {self.nll_before:.4f} -> {self.nll_after:.4f}"
        )


def prior_weights(
    labels: torch.Tensor, shares: Sequence[float] | None, tau: float
) -> torch.Tensor | None:
    """Each image's weight share[label]^-τ (mean 1), or None where there is no correction."""
    if not shares or not tau:
        return None
    per_class = torch.tensor(shares, dtype=torch.float64).pow(-tau)
    weights = per_class[labels.long().cpu()]
    return weights / weights.mean()


def _nll(
    logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor | None, temperature: float
) -> float:
    losses = F.cross_entropy(logits / temperature, labels, reduction="none")
    if weights is None:
        return float(losses.mean())
    return float((losses * weights).sum() / weights.sum())


def _ece(
    logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor | None, temperature: float
) -> float:
    probs = torch.softmax(logits / temperature, dim=1).numpy()
    return expected_calibration_error(
        probs, labels.numpy(), weights=None if weights is None else weights.numpy()
    )


def fit_temperature(
    logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor | None = None
) -> Calibration:
    """The temperature that minimises the (weighted) mean cross-entropy of logits / T.

    The NLL is convex in 1/T, so a bounded search over log T finds its one minimum.
    """
    if logits.ndim != 2 or len(logits) != len(labels) or len(labels) == 0:
        raise ValueError("temperature scaling needs N×C logits and N labels, N > 0")
    logits, labels = logits.detach().double().cpu(), labels.detach().long().cpu()
    if weights is not None:
        weights = weights.detach().double().cpu()
    result = minimize_scalar(
        lambda log_t: _nll(logits, labels, weights, math.exp(log_t)),
        bounds=LOG_T_BOUNDS,
        method="bounded",
        options={"xatol": 1e-5},
    )
    temperature = float(np.exp(result.x))
    return Calibration(
        temperature=temperature,
        images=len(labels),
        nll_before=_nll(logits, labels, weights, 1.0),
        nll_after=_nll(logits, labels, weights, temperature),
        ece_before=_ece(logits, labels, weights, 1.0),
        ece_after=_ece(logits, labels, weights, temperature),
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


@torch.no_grad()
def model_logits(
    model: nn.Module,
    images: torch.Tensor,
    mean: float,
    std: float,
    device: torch.device | str = "cpu",
    batch: int = 1000,
) -> torch.Tensor:
    """fp32 logits, on the CPU, of uint8 images (N×1×H×W, white ink on black) normalised
    as in training: in fp32, as the model answers once trained."""
    model.eval()
    parts = []
    for start in range(0, len(images), batch):
        x = images[start : start + batch].to(device).float().div_(255.0).sub_(mean).div_(std)
        parts.append(model(x).float().cpu())
    return torch.cat(parts)


def calibrate_model(
    model: nn.Module,
    logits: torch.Tensor,
    labels: torch.Tensor,
    shares: Sequence[float] | None = None,
    tau: float = 0.0,
) -> Calibration:
    """Fit the temperature on the model's validation logits and fold it into the model."""
    calibration = fit_temperature(logits, labels, prior_weights(labels, shares, tau))
    fold_temperature(model, calibration.temperature)
    return calibration
