"""The classic CNNs people reproduce by name, layer for layer as their authors wrote them.

Defaults rebuild the original recipe (and its parameter count); the options swap one
technique at a time. For each model, dropout=None keeps the recipe's dropout rates and
dropout=p sets every dropout layer of the model to p (0 turns them all off).
"""

from __future__ import annotations

from torch import nn

from charrec.models.layers import (
    Classifier,
    conv_norm_act,
    conv_size,
    feature_size,
    get_activation,
    init_weights,
    make_dropout,
    make_norm,
    make_pool,
    scaled,
)
from charrec.models.registry import register_model


def _rate(dropout: float | None, recipe: float) -> float:
    return recipe if dropout is None else dropout


def _dense(in_features: int, out_features: int, activation: str, batch_norm: bool) -> list:
    """Linear → [BatchNorm1d] → activation."""
    return [
        nn.Linear(in_features, out_features, bias=not batch_norm),
        make_norm(out_features, batch_norm, dims=1),
        get_activation(activation),
    ]


@register_model("keras-convnet", reference="MNIST ~99.2%")
def keras_convnet(
    num_classes: int,
    in_channels: int = 1,
    image_size: int = 28,
    *,
    activation: str = "relu",
    init: str = "xavier",
    batch_norm: bool = False,
    dropout: float | None = None,
    pooling: str = "max",
    width: float = 1.0,
) -> nn.Module:
    """Keras "Simple MNIST convnet": Conv32-3, pool, Conv64-3, pool, Dropout .5, Dense(K).

    Valid padding, 34,826 parameters for 10 classes. dropout=p replaces the .5.
    width scales the 32 and 64 filters. init defaults to Keras' Glorot uniform.
    """
    c1, c2 = scaled(32, width), scaled(64, width)
    side = feature_size("keras-convnet", image_size, lambda s: ((s - 2) // 2 - 2) // 2)
    features = nn.Sequential(
        *conv_norm_act(in_channels, c1, 3, activation, batch_norm),
        make_pool(pooling, c1),
        *conv_norm_act(c1, c2, 3, activation, batch_norm),
        make_pool(pooling, c2),
        nn.Flatten(),
        make_dropout(_rate(dropout, 0.5)),
    )
    model = Classifier(features, nn.Linear(c2 * side * side, num_classes))
    return init_weights(model, init, activation)


@register_model("mnist-cnn", reference="MNIST 99.25%")
def mnist_cnn(
    num_classes: int,
    in_channels: int = 1,
    image_size: int = 28,
    *,
    activation: str = "relu",
    init: str = "xavier",
    batch_norm: bool = False,
    dropout: float | None = None,
    pooling: str = "max",
    width: float = 1.0,
) -> nn.Module:
    """The old Keras mnist_cnn.py: Conv32-3, Conv64-3, pool, Dropout .25, Dense128, Dropout .5.

    1,199,882 parameters for 10 classes. dropout=p sets both rates (.25 and .5) to p.
    width scales the 32 and 64 filters and the 128 units.
    """
    c1, c2, units = scaled(32, width), scaled(64, width), scaled(128, width)
    side = feature_size("mnist-cnn", image_size, lambda s: (s - 4) // 2)
    features = nn.Sequential(
        *conv_norm_act(in_channels, c1, 3, activation, batch_norm),
        *conv_norm_act(c1, c2, 3, activation, batch_norm),
        make_pool(pooling, c2),
        make_dropout(_rate(dropout, 0.25)),
        nn.Flatten(),
        *_dense(c2 * side * side, units, activation, batch_norm),
        make_dropout(_rate(dropout, 0.5)),
    )
    model = Classifier(features, nn.Linear(units, num_classes))
    return init_weights(model, init, activation)


@register_model("nielsen", reference="MNIST 99.60% (with expanded training data)")
def nielsen(
    num_classes: int,
    in_channels: int = 1,
    image_size: int = 28,
    *,
    activation: str = "relu",
    init: str = "xavier",
    batch_norm: bool = False,
    dropout: float | None = None,
    pooling: str = "max",
    width: float = 1.0,
) -> nn.Module:
    """Nielsen's final net ("Neural Networks and Deep Learning", ch. 6).

    ConvPool(20 5×5, pool 2), ConvPool(40 5×5, pool 2), FC 1000 relu, FC 1000 relu,
    softmax layer; 1,672,570 parameters for 10 classes. As in his network3.py, a layer with
    p_dropout=.5 drops its *input*: dropout .5 before each of the three fully connected
    layers. His ConvPoolLayer applies the activation after pooling. dropout=p sets the
    three rates to p. width scales 20, 40 and 1000. His init (Gaussian with variance
    1/n_out, zero softmax weights) is closest to Glorot's, the default here. The expanded
    data set is augmentation in the trainer.
    """
    c1, c2, units = scaled(20, width), scaled(40, width), scaled(1000, width)
    rate = _rate(dropout, 0.5)
    side = feature_size("nielsen", image_size, lambda s: ((s - 4) // 2 - 4) // 2)
    features = nn.Sequential(
        nn.Conv2d(in_channels, c1, 5, bias=not batch_norm),
        make_norm(c1, batch_norm),
        make_pool(pooling, c1),
        get_activation(activation),
        nn.Conv2d(c1, c2, 5, bias=not batch_norm),
        make_norm(c2, batch_norm),
        make_pool(pooling, c2),
        get_activation(activation),
        nn.Flatten(),
        make_dropout(rate),
        *_dense(c2 * side * side, units, activation, batch_norm),
        make_dropout(rate),
        *_dense(units, units, activation, batch_norm),
        make_dropout(rate),
    )
    model = Classifier(features, nn.Linear(units, num_classes))
    return init_weights(model, init, activation)


@register_model("deotte", reference="MNIST 99.75% as an ensemble of 15")
def deotte(
    num_classes: int,
    in_channels: int = 1,
    image_size: int = 28,
    *,
    activation: str = "relu",
    init: str = "xavier",
    batch_norm: bool = True,
    dropout: float | None = None,
    pooling: str = "conv",
    width: float = 1.0,
) -> nn.Module:
    """Chris Deotte's Kaggle CNN ("How to choose CNN architecture MNIST"), final model.

    32C3-32C3-32C5S2-64C3-64C3-64C5S2-128C4, each conv → relu → BN as in Keras, dropout
    .4 after each 5×5 stride-2 conv and before Dense(K). 326,410 trainable parameters for
    10 classes; Keras' summary also counts BN's 832 running means and variances, 327,242.
    pooling="conv" is his 5×5 stride-2 'same' conv (torch pads 2 on both sides where
    Keras pads 1 and 2: same size, sampling shifted by one pixel); max or avg replace each
    one (and its BN) by a 2×2 pool, the variant he compared against. dropout=p sets the
    three rates to p; width scales 32, 64 and 128.
    """
    c1, c2, c3 = scaled(32, width), scaled(64, width), scaled(128, width)
    rate = _rate(dropout, 0.4)

    def conv(cin: int, cout: int, kernel: int, stride: int = 1, padding: int = 0) -> list:
        # Keras order: the activation is part of Conv2D, BatchNormalization comes after.
        return [
            nn.Conv2d(cin, cout, kernel, stride, padding),
            get_activation(activation),
            make_norm(cout, batch_norm),
        ]

    def down(channels: int) -> list:
        if pooling == "conv":
            return conv(channels, channels, 5, stride=2, padding=2)
        return [make_pool(pooling, channels)]

    def halve(s: int) -> int:
        return conv_size(s, 5, 2, 2) if pooling == "conv" else s // 2

    side = feature_size("deotte", image_size, lambda s: halve(halve(s - 4) - 4) - 3)
    features = nn.Sequential(
        *conv(in_channels, c1, 3),
        *conv(c1, c1, 3),
        *down(c1),
        make_dropout(rate),
        *conv(c1, c2, 3),
        *conv(c2, c2, 3),
        *down(c2),
        make_dropout(rate),
        *conv(c2, c3, 4),
        nn.Flatten(),
        make_dropout(rate),
    )
    model = Classifier(features, nn.Linear(c3 * side * side, num_classes))
    return init_weights(model, init, activation)
