"""A VGG-style CNN of our own: stages of 3×3 conv → BN → activation, each ended by a pool."""

from __future__ import annotations

from torch import nn

from charrec.models.layers import (
    Classifier,
    conv_norm_act,
    feature_size,
    get_activation,
    init_weights,
    make_dropout,
    make_norm,
    make_pool,
    scaled,
)
from charrec.models.registry import OURS, register_model

STAGE_WIDTHS = (32, 64, 128)
HIDDEN = 256


@register_model("vgg", reference=OURS)
def vgg(
    num_classes: int,
    in_channels: int = 1,
    image_size: int = 28,
    *,
    width: float = 1.0,
    depth: int = 2,
    activation: str = "relu",
    init: str = "kaiming",
    batch_norm: bool = True,
    dropout: float = 0.4,
    pooling: str = "max",
) -> nn.Module:
    """VGG-style CNN: [depth × Conv3×3-BN-act, pool] at 32, 64, 128 filters, Dense 256, Dense(K).

    On 28×28 the three stages run at 28, 14 and 7 pixels and leave 3×3 maps, which the
    head flattens (position matters for characters): Dropout → Dense(256) → BN → act →
    Dropout → Dense(K). depth is the number of convs per stage; width scales every layer;
    dropout=p sets both dropout rates.
    """
    layers: list[nn.Module] = []
    channels = in_channels
    for stage_width in STAGE_WIDTHS:
        out = scaled(stage_width, width)
        for _ in range(depth):
            layers += conv_norm_act(channels, out, 3, activation, batch_norm, padding=1)
            channels = out
        layers.append(make_pool(pooling, channels))
    side = feature_size("vgg", image_size, lambda s: s // 2 // 2 // 2)
    hidden = scaled(HIDDEN, width)
    layers += [
        nn.Flatten(),
        make_dropout(dropout),
        nn.Linear(channels * side * side, hidden, bias=not batch_norm),
        make_norm(hidden, batch_norm, dims=1),
        get_activation(activation),
        make_dropout(dropout),
    ]
    model = Classifier(nn.Sequential(*layers), nn.Linear(hidden, num_classes))
    return init_weights(model, init, activation)
