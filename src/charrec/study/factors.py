"""The techniques a study explores, by name, each with default options per kind of model.

A factor's option is a label and the config keys it sets, e.g. the option "elu" of the
factor "activation" sets {"model.options.activation": "elu"}. Options depend on the model
being studied: pooling is a CNN's factor only, and "size" means hidden layers and neurons
for an MLP but conv layers and filters for a CNN. Any config key is also a factor:
`key_factor("optim.lr", [1e-3, 3e-3])`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from charrec.errors import ConfigError, unknown_choice

Overrides = dict[str, Any]
Options = dict[str, Overrides]

MLP_MODELS = ("mlp", "chollet-mlp")


def model_kind(model_name: str) -> str:
    """ "mlp" for the dense nets, "cnn" for every convolutional model of the zoo."""
    return "mlp" if model_name in MLP_MODELS else "cnn"


@dataclass(frozen=True)
class Factor:
    name: str
    description: str
    # (model name) -> options; an empty dict: the factor does not apply to that model.
    options_for: Callable[[str], Options]


def _same_for_all(options: Options) -> Callable[[str], Options]:
    return lambda _model: options


def _cnn_only(options: Options) -> Callable[[str], Options]:
    return lambda model: options if model_kind(model) == "cnn" else {}


def _sizes(model: str) -> Options:
    if model_kind(model) == "mlp":
        # chollet-mlp has one fixed layer; its sizes are those of the configurable mlp.
        hidden = {
            "1×256": [256],
            "1×512": [512],
            "2×512-256": [512, 256],
            "3×512-256-128": [512, 256, 128],
            "4×1024-512-256-128": [1024, 512, 256, 128],
        }
        return {
            label: {"model.name": "mlp", "model.options.hidden": sizes}
            for label, sizes in hidden.items()
        }
    if model == "vgg":
        return {
            "3 convs, 16-32-64": {"model.options.depth": 1, "model.options.width": 0.5},
            "3 convs, 32-64-128": {"model.options.depth": 1, "model.options.width": 1.0},
            "6 convs, 32-64-128": {"model.options.depth": 2, "model.options.width": 1.0},
            "6 convs, 48-96-192": {"model.options.depth": 2, "model.options.width": 1.5},
        }
    if model == "resnet":
        return {
            f"{blocks} blocks per stage": {"model.options.depth": blocks} for blocks in (1, 2, 3)
        }
    # The classic nets keep their layers; their filters scale with width.
    return {f"filters ×{w:g}": {"model.options.width": w} for w in (0.5, 1.0, 2.0)}


FACTORS: dict[str, Factor] = {
    factor.name: factor
    for factor in (
        Factor(
            "schedule",
            "learning-rate schedule",
            _same_for_all(
                {
                    # Each sets its parameters whole: another schedule's would be refused.
                    "constant": {"schedule.name": "constant", "schedule.params": {}},
                    "exponential 0.8": {
                        "schedule.name": "exponential",
                        "schedule.params": {"gamma": 0.8},
                    },
                    "cosine": {"schedule.name": "cosine", "schedule.params": {}},
                    "onecycle": {"schedule.name": "onecycle", "schedule.params": {}},
                }
            ),
        ),
        Factor(
            "activation",
            "activation function",
            _same_for_all(
                {
                    name: {"model.options.activation": name}
                    for name in ("relu", "leaky_relu", "elu", "tanh")
                }
            ),
        ),
        Factor(
            "optimizer",
            "optimizer, each at its usual learning rate",
            _same_for_all(
                {
                    "sgd momentum": {
                        "optim.name": "sgd",
                        "optim.lr": 0.05,
                        "optim.momentum": 0.9,
                        "optim.nesterov": True,
                    },
                    "rmsprop": {"optim.name": "rmsprop", "optim.lr": 1e-3},
                    "adam": {"optim.name": "adam", "optim.lr": 1e-3},
                    "adamw": {"optim.name": "adamw", "optim.lr": 1e-3},
                }
            ),
        ),
        Factor(
            "init",
            "weight initialisation",
            _same_for_all(
                {
                    name: {"model.options.init": name}
                    for name in ("default", "xavier", "kaiming", "orthogonal")
                }
            ),
        ),
        Factor(
            "batch-norm",
            "batch normalisation",
            _same_for_all(
                {
                    "off": {"model.options.batch_norm": False},
                    "on": {"model.options.batch_norm": True},
                }
            ),
        ),
        Factor(
            "regularisation",
            "weight penalty (L2 is decoupled weight decay under adamw)",
            _same_for_all(
                {
                    "none": {"optim.weight_decay": 0.0, "regularisation.l1": 0.0},
                    "L2 5e-4": {"optim.weight_decay": 5e-4, "regularisation.l1": 0.0},
                    "L1 1e-5": {"optim.weight_decay": 0.0, "regularisation.l1": 1e-5},
                }
            ),
        ),
        Factor(
            "dropout",
            "dropout rate",
            _same_for_all(
                {f"{rate:g}": {"model.options.dropout": rate} for rate in (0.0, 0.25, 0.5)}
            ),
        ),
        Factor(
            "augmentation",
            "data augmentation (affine, on whole batches)",
            _same_for_all({name: {"augment": name} for name in ("none", "light", "standard")}),
        ),
        Factor(
            "pooling",
            "down-sampling between conv stages",
            _cnn_only(
                {
                    "max": {"model.options.pooling": "max"},
                    "average": {"model.options.pooling": "avg"},
                    "strided conv": {"model.options.pooling": "conv"},
                }
            ),
        ),
        Factor(
            "early-stopping",
            "early stopping on validation accuracy, restoring the best epoch",
            _same_for_all(
                {
                    "off": {"training.early_stopping.patience": 0},
                    "patience 2": {
                        "training.early_stopping.patience": 2,
                        "training.early_stopping.metric": "val_accuracy",
                        "training.early_stopping.restore_best": True,
                    },
                }
            ),
        ),
        Factor("size", "architecture size", _sizes),
    )
}

DEFAULT_FACTORS = tuple(FACTORS)


def factor_options(name: str, model: str, chosen: Sequence[str] | None = None) -> Options:
    """The options of factor `name` for `model`, all or only the labels in `chosen`."""
    if name not in FACTORS:
        raise unknown_choice("factor", name, list(FACTORS))
    options = FACTORS[name].options_for(model)
    if chosen is None:
        return dict(options)
    missing = [label for label in chosen if label not in options]
    if missing:
        raise unknown_choice(f"option of factor {name!r} for {model}", missing[0], list(options))
    return {label: options[label] for label in chosen}


def key_factor(key: str, values: Sequence[Any]) -> Options:
    """A factor over any config key: one option per value, labelled by the value."""
    if not values:
        raise ConfigError(f"factor {key!r} has no values")
    return {_label(value): {key: value} for value in values}


def _label(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "-".join(_label(v) for v in value)
    return str(value)
