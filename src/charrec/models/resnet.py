"""A small ResNet of our own for 28×28 characters (He et al. 2015, CIFAR-style)."""

from __future__ import annotations

import torch
from torch import nn

from charrec.models.layers import (
    Classifier,
    conv_norm_act,
    get_activation,
    init_weights,
    make_dropout,
    make_norm,
    scaled,
)
from charrec.models.registry import OURS, register_model

STAGE_WIDTHS = (32, 64, 128)


class BasicBlock(nn.Module):
    """conv3×3 → BN → act → conv3×3 → BN, plus the input (1×1 conv when shapes change), → act."""

    def __init__(
        self, in_channels: int, channels: int, stride: int, activation: str, batch_norm: bool
    ) -> None:
        super().__init__()
        bias = not batch_norm
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride, padding=1, bias=bias)
        self.norm1 = make_norm(channels, batch_norm)
        self.act1 = get_activation(activation)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, padding=1, bias=bias)
        self.norm2 = make_norm(channels, batch_norm)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, channels, 1, stride, bias=bias),
                make_norm(channels, batch_norm),
            )
        self.act2 = get_activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act1(self.norm1(self.conv1(x)))
        out = self.norm2(self.conv2(out))
        return self.act2(out + self.shortcut(x))


@register_model("resnet", reference=OURS)
def resnet(
    num_classes: int,
    in_channels: int = 1,
    image_size: int = 28,
    *,
    width: float = 1.0,
    depth: int = 2,
    activation: str = "relu",
    init: str = "kaiming",
    batch_norm: bool = True,
    dropout: float = 0.2,
) -> nn.Module:
    """Small ResNet: stem Conv3×3-32, 3 stages of `depth` basic blocks at 32, 64, 128 filters.

    On 28×28 the stages run at 28, 14 and 7 pixels (the first block of stages 2 and 3
    has stride 2), then global average pooling → Dropout(dropout) → Dense(K). depth=2 is
    a ResNet-14. Downsampling is by strided convs, so there is no pooling option; width
    scales every layer. Any image_size ≥ 8 works.
    """
    widths = [scaled(w, width) for w in STAGE_WIDTHS]
    layers: list[nn.Module] = conv_norm_act(in_channels, widths[0], 3, activation, batch_norm, 1, 1)
    channels = widths[0]
    for stage, stage_width in enumerate(widths):
        for block in range(depth):
            stride = 2 if stage > 0 and block == 0 else 1
            layers.append(BasicBlock(channels, stage_width, stride, activation, batch_norm))
            channels = stage_width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), make_dropout(dropout)]
    model = Classifier(nn.Sequential(*layers), nn.Linear(channels, num_classes))
    return init_weights(model, init, activation)
