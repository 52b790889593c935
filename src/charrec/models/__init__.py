"""The model zoo: classic architectures by name and CNNs of our own, built from options.

    from charrec.models import create_model, list_models, model_info
    model = create_model("keras-convnet", num_classes=26, dropout=0.3, activation="gelu")

Models take normalised float images N×C×H×W and return logits N×num_classes. Every
model is a `Classifier`: `model.features` (image → vector) then `model.head` (a Linear).
"""

from charrec.models.layers import (
    ACTIVATIONS,
    INIT_SCHEMES,
    POOLS,
    Classifier,
    get_activation,
    init_weights,
    make_norm,
    make_pool,
)
from charrec.models.registry import (
    ModelInfo,
    count_parameters,
    create_model,
    list_models,
    model_info,
    register_model,
)

# Importing the architectures registers them, in the order list_models() shows.
from charrec.models import mlp, classic, vgg, resnet  # noqa: F401  # isort: skip

__all__ = [
    "ACTIVATIONS",
    "INIT_SCHEMES",
    "POOLS",
    "Classifier",
    "ModelInfo",
    "count_parameters",
    "create_model",
    "get_activation",
    "init_weights",
    "list_models",
    "make_norm",
    "make_pool",
    "model_info",
    "register_model",
]
