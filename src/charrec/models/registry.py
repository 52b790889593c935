"""The model registry: architectures by name, built from a few checked options.

A model is a function registered with `@register_model(name)`:

    @register_model("keras-convnet", reference="MNIST ~99.2%")
    def keras_convnet(num_classes, in_channels=1, image_size=28, *, activation="relu", ...):
        ...

Its keyword-only parameters are its options, their defaults are the original recipe, and
its docstring is its description. `create_model(name, num_classes, **options)` checks the
options against the model's own list and the values against the rules below, so a wrong
name or value is one clear ConfigError instead of a stack trace from inside torch.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from torch import nn

from charrec.errors import ConfigError, unknown_choice
from charrec.models.layers import ACTIVATIONS, INIT_SCHEMES, POOLS, pool_before_activation

ModelBuilder = Callable[..., nn.Module]


def _one_of(valid: Sequence[str]) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value not in valid:
            raise ValueError
        return value

    return check


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError
    return float(value)


def _rate(value: Any) -> float:
    rate = _number(value)
    if not 0.0 <= rate < 1.0:
        raise ValueError
    return rate


def _width(value: Any) -> float:
    width = _number(value)
    if not 0.0 < width <= 16.0:
        raise ValueError
    return width


def _depth(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 64:
        raise ValueError
    return value


def _sizes(value: Any) -> tuple[int, ...]:
    # "512,256,128" from a command line, a list from YAML, a tuple from Python.
    if isinstance(value, str):
        value = [part for part in value.replace(" ", "").split(",") if part]
        try:
            value = [int(part) for part in value]
        except ValueError:
            raise ValueError from None
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in value):
        raise ValueError
    return tuple(value)


# option -> (what a valid value is, check that returns the normalised value or raises)
OPTION_RULES: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "activation": (f"one of: {', '.join(ACTIVATIONS)}", _one_of(tuple(ACTIVATIONS))),
    "init": (f"one of: {', '.join(INIT_SCHEMES)}", _one_of(INIT_SCHEMES)),
    "pooling": (f"one of: {', '.join(POOLS)}", _one_of(POOLS)),
    "batch_norm": ("true or false", _bool),
    "dropout": ("a rate in [0, 1), or None for the model's own rates", _rate),
    "width": ("a multiplier of the layer widths in (0, 16]", _width),
    "depth": ("a whole number of layers or blocks in 1..64", _depth),
    "hidden": ("hidden layer sizes, e.g. (512, 256, 128) or '512,256,128'", _sizes),
}

# The positional part of every builder's signature; everything after it is an option.
_BUILDER_ARGS = ("num_classes", "in_channels", "image_size")


@dataclass(frozen=True)
class ModelInfo:
    """What a registered model is and which options it takes."""

    name: str
    description: str
    reference: str
    # option -> default (the original recipe)
    options: Mapping[str, Any]
    doc: str
    build: ModelBuilder

    def valid_values(self, option: str) -> str:
        """What `option` accepts, in words."""
        return OPTION_RULES[option][0]

    def resolve(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """Every option with its value: the given ones checked, the rest defaulted."""
        resolved = dict(self.options)
        for key, value in options.items():
            if key not in self.options:
                valid = ", ".join(self.options) or "none"
                raise ConfigError(
                    f"model {self.name!r} has no option {key!r}; its options are: {valid}"
                )
            # dropout=None means "the recipe's rates", i.e. the default.
            if key == "dropout" and value is None:
                continue
            expected, check = OPTION_RULES[key]
            try:
                resolved[key] = check(value)
            except (ValueError, TypeError):
                raise ConfigError(
                    f"model {self.name!r}: option {key}={value!r} is not valid; expected {expected}"
                ) from None
        return resolved


_REGISTRY: dict[str, ModelInfo] = {}

# The reference line of our own models: the number they are measured against.
OURS = "ours, built to win on EMNIST Letters (published state of the art: 95.96%)"


def register_model(name: str, reference: str = "—") -> Callable[[ModelBuilder], ModelBuilder]:
    """Register a builder `f(num_classes, in_channels, image_size, *, **options)` as `name`."""

    def decorator(build: ModelBuilder) -> ModelBuilder:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is registered twice")
        params = list(inspect.signature(build).parameters.values())
        if tuple(p.name for p in params[:3]) != _BUILDER_ARGS:
            raise TypeError(f"model {name!r}: builder must start with {_BUILDER_ARGS}")
        options = {p.name: p.default for p in params[3:]}
        unknown = [o for o in options if o not in OPTION_RULES]
        if unknown:
            raise TypeError(f"model {name!r}: options without a rule: {unknown}")
        doc = inspect.cleandoc(build.__doc__ or "")
        _REGISTRY[name] = ModelInfo(
            name=name,
            description=doc.split("\n\n")[0].replace("\n", " "),
            reference=reference,
            options=options,
            doc=doc,
            build=build,
        )
        return build

    return decorator


def list_models() -> list[str]:
    """Names of the registered models, from the classic references to our own."""
    return list(_REGISTRY)


def model_info(name: str) -> ModelInfo:
    """The description, reference result and options (with defaults) of a model."""
    if name not in _REGISTRY:
        raise unknown_choice("model", name, list(_REGISTRY))
    return _REGISTRY[name]


def _positive_int(what: str, value: Any, least: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ConfigError(f"{what} must be a whole number ≥ {least}, got {value!r}")
    return value


def create_model(
    name: str, num_classes: int, in_channels: int = 1, image_size: int = 28, **options: Any
) -> nn.Module:
    """Build model `name` for `num_classes` classes on in_channels×image_size×image_size input.

    The model takes normalised float images N×C×H×W and returns logits N×num_classes.
    Options not given take the model's defaults (see `model_info(name).options`).
    """
    info = model_info(name)
    num_classes = _positive_int("num_classes", num_classes)
    in_channels = _positive_int("in_channels", in_channels)
    image_size = _positive_int("image_size", image_size, least=8)
    resolved = info.resolve(options)
    return pool_before_activation(info.build(num_classes, in_channels, image_size, **resolved))


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of parameters (only those with requires_grad unless trainable_only=False).

    Buffers such as batch norm's running statistics are not parameters here; Keras counts
    them as "non-trainable params".
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
