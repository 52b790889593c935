"""An ensemble of trained classifiers as one model: the members' probabilities averaged.

    model = Ensemble([net_a, net_b], weights=[0.5, 0.5])
    probs = torch.softmax(model(x), dim=1)   # = 0.5 · softmax(net_a(x)) + 0.5 · softmax(net_b(x))

Every charrec consumer of a model applies a softmax to its output, so the ensemble returns
the logarithm of the averaged probabilities: their softmax is the average itself. That is
what lets an ensemble go wherever a single model goes (evaluation, the Recognizer's
backends, the ONNX export) without those knowing about it.

Members may have been trained with different input normalisation; each gets an affine map
from the ensemble's normalised input to its own (`inputs`: scale and shift per member).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

# The model name an ensemble has in model.json.
ENSEMBLE = "ensemble"


class Ensemble(nn.Module):
    """Members' softmax probabilities, weighted and summed; returns their logarithm."""

    def __init__(
        self,
        members: Sequence[nn.Module],
        weights: Sequence[float] | None = None,
        inputs: Sequence[tuple[float, float]] | None = None,
    ) -> None:
        super().__init__()
        if len(members) < 2:
            raise ValueError("an ensemble needs at least two members")
        weights = list(weights) if weights is not None else [1.0] * len(members)
        inputs = list(inputs) if inputs is not None else [(1.0, 0.0)] * len(members)
        if len(weights) != len(members) or len(inputs) != len(members):
            raise ValueError("one weight and one input map per member")
        if any(w <= 0 for w in weights):
            raise ValueError("member weights must be positive")
        total = float(sum(weights))
        self.members = nn.ModuleList(members)
        # Plain floats, not buffers: the weights file holds only the members' own tensors.
        self.weights = [float(w) / total for w in weights]
        self.inputs = [(float(scale), float(shift)) for scale, shift in inputs]

    def member_probabilities(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Each member's softmax probabilities of the (ensemble-normalised) input `x`."""
        out = []
        for member, (scale, shift) in zip(self.members, self.inputs, strict=True):
            # Most ensembles share one normalisation: no extra ops in their graph.
            xi = x if (scale, shift) == (1.0, 0.0) else x * scale + shift
            out.append(torch.softmax(member(xi).float(), dim=1))
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        probs = self.member_probabilities(x)
        mean = probs[0] * self.weights[0]
        for p, w in zip(probs[1:], self.weights[1:], strict=True):
            mean = mean + p * w
        # A probability that underflowed to 0 stays a finite logit.
        return torch.log(mean.clamp_min(torch.finfo(mean.dtype).tiny))
