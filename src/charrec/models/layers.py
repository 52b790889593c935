"""Small layer factories shared by every model: activations, weight init, norm and pooling.

A technique (which activation, which init, batch norm or not, how to downsample) is a
string or a bool in a model's options; these functions turn it into modules, so a model
is written once and a study is a loop over option values.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Callable, Iterator

import torch
from torch import nn

from charrec.errors import ConfigError, unknown_choice

# torch's default slope; the Kaiming gain below is matched to it.
LEAKY_SLOPE = 0.01

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
}

INIT_SCHEMES = ("default", "xavier", "kaiming", "orthogonal")

POOLS = ("max", "avg", "conv")

# Activations that never decrease: act(max(a, b)) == max(act(a), act(b)), so a max pool
# may run before them. gelu and silu dip below zero and do not commute with max.
MONOTONIC_ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.Tanh)

# Kaiming gain per activation: torch's values where it defines one; otherwise
# 1/sqrt(E[f(z)^2]) for z ~ N(0, 1), the rule that gives sqrt(2) for relu, so the
# second moment of the pre-activations stays 1 from layer to layer.
_GAINS: dict[str, float] = {
    "relu": math.sqrt(2.0),
    "leaky_relu": math.sqrt(2.0 / (1.0 + LEAKY_SLOPE**2)),
    "tanh": 5.0 / 3.0,
    "elu": 1.245,
    "gelu": 1.533,
    "silu": 1.675,
}


def get_activation(name: str) -> nn.Module:
    """A new activation module by name: relu, leaky_relu, elu, gelu, silu or tanh."""
    if name not in ACTIVATIONS:
        raise unknown_choice("activation", name, list(ACTIVATIONS))
    if name == "leaky_relu":
        return nn.LeakyReLU(LEAKY_SLOPE)
    return ACTIVATIONS[name]()


def activation_gain(name: str) -> float:
    """The Kaiming gain that keeps activations' scale through `name`."""
    if name not in _GAINS:
        raise unknown_choice("activation", name, list(_GAINS))
    return _GAINS[name]


def init_weights(module: nn.Module, scheme: str, activation: str = "relu") -> nn.Module:
    """Initialise every Linear and Conv2d weight in `module` in place; returns `module`.

    default: leave torch's own initialisation. xavier: Glorot uniform (Keras' default),
    std sqrt(2/(fan_in+fan_out)). kaiming: He normal, fan_in, std gain/sqrt(fan_in) with
    the gain of `activation`. orthogonal: (flattened) weights with orthonormal rows or
    columns, gain 1. Every scheme but default sets biases to zero, as Keras and He et al. do.
    Norm layers keep weight 1, bias 0.
    """
    if scheme not in INIT_SCHEMES:
        raise unknown_choice("init scheme", scheme, INIT_SCHEMES)
    if scheme == "default":
        return module
    gain = activation_gain(activation)
    for layer in module.modules():
        if not isinstance(layer, (nn.Linear, nn.Conv2d)):
            continue
        weight = layer.weight
        if scheme == "xavier":
            nn.init.xavier_uniform_(weight)
        elif scheme == "kaiming":
            fan_in = weight[0].numel()
            nn.init.normal_(weight, 0.0, gain / math.sqrt(fan_in))
        else:
            nn.init.orthogonal_(weight)
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)
    return module


def make_norm(channels: int, enabled: bool, dims: int = 2) -> nn.Module:
    """Batch norm over `channels` (2: feature maps, 1: vectors), or Identity when off."""
    if not enabled:
        return nn.Identity()
    return nn.BatchNorm2d(channels) if dims == 2 else nn.BatchNorm1d(channels)


_dropout_source = threading.local()


@contextlib.contextmanager
def dropout_generator(generator: torch.Generator) -> Iterator[None]:
    """Within the block, on this thread, Dropout draws its masks from `generator`.

    Threads that train shards of a batch in parallel each hold their own generator, so
    their masks do not depend on which thread reaches the global generator first.
    """
    before = getattr(_dropout_source, "generator", None)
    _dropout_source.generator = generator
    try:
        yield
    finally:
        _dropout_source.generator = before


class Dropout(nn.Dropout):
    """nn.Dropout; inside `dropout_generator`, masks from that generator instead.

    Outside, it is nn.Dropout exactly, so runs repeat bit for bit what earlier ones did.
    Inside, the mask is drawn with torch.rand: the same distribution, and torch.rand is
    vectorised where the CPU bernoulli_ is not.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        generator = getattr(_dropout_source, "generator", None)
        if generator is None or not self.training or self.p == 0:
            return super().forward(x)
        keep = torch.rand(x.shape, generator=generator, device=x.device) >= self.p
        return x * keep.to(x.dtype).mul_(1.0 / (1.0 - self.p))


def make_dropout(rate: float) -> nn.Module:
    """Dropout(rate), or Identity at rate 0."""
    # A placeholder rather than nothing: the weight names stay the same whatever the rate,
    # so weights trained with dropout load into the same model built without.
    return Dropout(rate) if rate > 0 else nn.Identity()


def conv_norm_act(
    in_channels: int,
    out_channels: int,
    kernel: int,
    activation: str,
    batch_norm: bool,
    stride: int = 1,
    padding: int = 0,
) -> list[nn.Module]:
    """Conv2d → [BatchNorm] → activation, as a list to splice into a Sequential."""
    # Batch norm's shift makes the conv's bias redundant.
    conv = nn.Conv2d(in_channels, out_channels, kernel, stride, padding, bias=not batch_norm)
    return [conv, make_norm(out_channels, batch_norm), get_activation(activation)]


class StridedConvPool(nn.Module):
    """A learnable 3×3 stride-2 conv in place of a 2×2 pool, with the pool's output size.

    Padding 1 gives ceil(H/2); the pool gives floor(H/2), so on odd sizes the last row
    and column are dropped.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, kernel_size=3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2] // 2, x.shape[-1] // 2
        y = self.conv(x)
        if y.shape[-2] != h or y.shape[-1] != w:
            y = y[..., :h, :w]
        return y


def make_pool(kind: str, channels: int) -> nn.Module:
    """A 2× downsampling: max or avg 2×2 pooling, or "conv", a learnable strided conv."""
    if kind == "max":
        return nn.MaxPool2d(2)
    if kind == "avg":
        return nn.AvgPool2d(2)
    if kind == "conv":
        return StridedConvPool(channels)
    raise unknown_choice("pooling", kind, POOLS)


def pool_before_activation(model: nn.Module) -> nn.Module:
    """Swap every "monotonic activation, then 2×2 max pool" pair to pool first; in place.

    The same function with the same parameters: a non-decreasing activation commutes with
    max, and the gradient reaches the same element (a window that is all zeros after relu
    gets none either way). The activation then runs on a quarter of the values, which on
    CPU saves a pass over the largest feature maps forwards and backwards. Only modules
    without parameters move, so weight names do not change.
    """
    for block in model.modules():
        if not isinstance(block, nn.Sequential):
            continue
        for i in range(len(block) - 1):
            act, pool = block[i], block[i + 1]
            if isinstance(act, MONOTONIC_ACTIVATIONS) and isinstance(pool, nn.MaxPool2d):
                block[i], block[i + 1] = pool, act
    return model


def conv_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Output side of a conv (or pool) on a square input of side `size`."""
    return (size + 2 * padding - kernel) // stride + 1


def feature_size(model: str, image_size: int, side: Callable[[int], int]) -> int:
    """`side(image_size)`, the feature map side before flattening; ConfigError if < 1."""
    out = side(image_size)
    if out >= 1:
        return out
    least = next(s for s in range(image_size + 1, 4096) if side(s) >= 1)
    raise ConfigError(f"model {model!r} needs image_size ≥ {least}, got {image_size}")


def scaled(channels: int, width: float) -> int:
    """A layer width times the width multiplier, at least 1."""
    return max(1, round(channels * width))


class Classifier(nn.Module):
    """`features` (image → flat vector) then `head` (the last Linear, → logits).

    Every model in the zoo has this shape, so transfer learning swaps `head` and
    feature extraction calls `features`.
    """

    def __init__(self, features: nn.Module, head: nn.Linear) -> None:
        super().__init__()
        self.features = features
        self.head = head

    @property
    def num_classes(self) -> int:
        return self.head.out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
