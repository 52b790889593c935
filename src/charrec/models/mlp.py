"""Fully connected models: Chollet's one-hidden-layer net and a configurable MLP."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from charrec.models.layers import (
    Classifier,
    get_activation,
    init_weights,
    make_dropout,
    make_norm,
)
from charrec.models.registry import register_model


def build_mlp(
    in_features: int,
    hidden: Sequence[int],
    num_classes: int,
    activation: str,
    batch_norm: bool,
    dropout: float,
) -> Classifier:
    """Flatten, then per hidden size Linear → [BN] → activation → [Dropout], then the head."""
    layers: list[nn.Module] = [nn.Flatten()]
    width = in_features
    for size in hidden:
        # Batch norm's shift makes the Linear's bias redundant.
        layers += [nn.Linear(width, size, bias=not batch_norm), make_norm(size, batch_norm, 1)]
        layers += [get_activation(activation), make_dropout(dropout)]
        width = size
    return Classifier(nn.Sequential(*layers), nn.Linear(width, num_classes))


@register_model("chollet-mlp", reference="MNIST 97.8–98.4% (rmsprop, 5 epochs, batch 128)")
def chollet_mlp(
    num_classes: int,
    in_channels: int = 1,
    image_size: int = 28,
    *,
    activation: str = "relu",
    init: str = "xavier",
    batch_norm: bool = False,
    dropout: float = 0.0,
) -> nn.Module:
    """Chollet's dense net ("Deep Learning with Python", ch. 2): Dense(512, relu) → Dense(K).

    407,050 parameters for 10 classes. The recipe has no dropout; dropout=p adds Dropout(p)
    after the hidden layer. init defaults to Keras' Glorot uniform with zero biases.
    """
    in_features = in_channels * image_size * image_size
    model = build_mlp(in_features, (512,), num_classes, activation, batch_norm, dropout)
    return init_weights(model, init, activation)


@register_model("mlp")
def mlp(
    num_classes: int,
    in_channels: int = 1,
    image_size: int = 28,
    *,
    hidden: tuple[int, ...] = (512, 256, 128),
    activation: str = "relu",
    init: str = "kaiming",
    batch_norm: bool = False,
    dropout: float = 0.0,
) -> nn.Module:
    """Configurable MLP: one Linear → [BN] → activation → [Dropout] per size in `hidden`.

    hidden=(512, 256, 128) by default; any number of layers. dropout=p puts Dropout(p)
    after every hidden layer (0: none).
    """
    in_features = in_channels * image_size * image_size
    model = build_mlp(in_features, hidden, num_classes, activation, batch_norm, dropout)
    return init_weights(model, init, activation)
