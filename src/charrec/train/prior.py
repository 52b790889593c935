"""Logit adjustment for class priors (Menon et al. 2021, "Long-tail learning via logit
adjustment"), applied once after training.

A classifier trained on unequal class counts learns their frequencies as well as their
shapes: it leans towards the classes it met most. Test sets such as EMNIST Letters' are
balanced, and a person's characters come in any mix, so the adjusted model answers as if
every class were equally likely: each class's logit bias loses τ·log(its share of the
training images). τ = 1 is the full correction; 0 leaves the model as trained.
"""

from __future__ import annotations

import torch
from torch import nn


def logits_layer(model: nn.Module) -> nn.Linear:
    """The last Linear layer: the one whose outputs are the logits in every zoo model."""
    model = getattr(model, "module", model)  # a DistributedDataParallel wrapper
    layers = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not layers:
        raise ValueError("the model has no Linear layer to adjust")
    return layers[-1]


def class_shares(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Each class's share of the training labels; a class never seen counts as one image,
    so its adjustment stays finite."""
    counts = torch.bincount(labels.detach().cpu().long(), minlength=num_classes).double()
    counts = counts.clamp(min=1.0)
    return counts / counts.sum()


@torch.no_grad()
def adjust_for_balanced_prior(model: nn.Module, labels: torch.Tensor, tau: float) -> list[float]:
    """Subtract tau·log(class share) from the logit biases, in place; returns the shares."""
    layer = logits_layer(model)
    if layer.bias is None:
        raise ValueError("the logits layer has no bias to adjust")
    shares = class_shares(labels, layer.out_features)
    layer.bias -= (tau * shares.log()).to(layer.bias.dtype).to(layer.bias.device)
    return shares.tolist()
