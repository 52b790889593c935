"""The model of a transfer run: the source's network with a new head, some of it frozen.

Every zoo model is a `Classifier` (features → head), so the parts are clean:

- the **head** is replaced by one for the target's classes; its rows start from the
  source's rows of the classes matched by name (case merged where the target merges
  it, as `charrec.evaluate.labelspace` matches them), so training starts from what the
  source already knows, and classes the source never saw start at random;
- the **feature blocks** are the features' layers with parameters, each with the norm,
  activation, pooling and dropout that follow it; the top blocks are those nearest the
  head. A frozen block keeps its weights and its batch norm statistics (it stays in eval
  mode while the rest trains);
- **added layers** (a Dense layer, relu and dropout on top of a frozen base) are kept in
  `features`, so the model stays a Classifier; model.json records them as `added`, and
  `charrec.train.checkpoint.build_model` builds them again. As wide as the features and
  with a matched head, the Dense layer starts as the identity (the features end in a
  relu or a pool of one, so relu(I·x) = x): training starts from the zero-shot model
  there too, rather than from a random layer that forgets what the source knew.
"""

from __future__ import annotations

import types
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from charrec.errors import ConfigError, DataError
from charrec.models.layers import Classifier
from charrec.train.config import TransferConfig

ADDED_DROPOUT = 0.3
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, nn.GroupNorm)


def add_layers(model: nn.Module, width: int) -> Classifier:
    """`model` with Dense(width) → relu → dropout between its features and a new head."""
    classifier = _classifier(model)
    size = classifier.head.in_features
    added = nn.Sequential(nn.Linear(size, width), nn.ReLU(), nn.Dropout(ADDED_DROPOUT))
    classifier.features = nn.Sequential(classifier.features, added)
    classifier.head = nn.Linear(width, classifier.head.out_features)
    return classifier


def _classifier(model: nn.Module) -> Classifier:
    if not isinstance(model, Classifier):
        raise ConfigError(f"{type(model).__name__} is not a Classifier (features, head)")
    return model


def feature_blocks(model: nn.Module) -> list[list[nn.Module]]:
    """The features' layers grouped into blocks, bottom first (see the module docstring)."""
    blocks: list[list[nn.Module]] = []
    for module in _layers(_classifier(model).features):
        has_params = any(True for _ in module.parameters(recurse=True))
        if (has_params and not isinstance(module, _NORMS)) or not blocks:
            blocks.append([module])
        else:
            blocks[-1].append(module)
    return [b for b in blocks if any(True for m in b for _ in m.parameters())]


def _layers(module: nn.Module) -> list[nn.Module]:
    """Sequential containers opened up; other modules (a ResNet block) as they are."""
    if isinstance(module, nn.Sequential):
        return [layer for child in module for layer in _layers(child)]
    return [module]


def _stay_in_eval(self: nn.Module, mode: bool = True) -> nn.Module:
    return nn.Module.train(self, False)


def freeze(modules: Sequence[nn.Module]) -> None:
    """No gradients, and eval mode kept through `model.train()` (batch norm stays put)."""
    for module in modules:
        for param in module.parameters():
            param.requires_grad_(False)
        module.train = types.MethodType(_stay_in_eval, module)  # type: ignore[method-assign]
        module.eval()


def matched_head(
    source_head: nn.Linear,
    source_classes: Sequence[str],
    target_classes: Sequence[str],
    seed: int,
) -> tuple[nn.Linear, list[str]]:
    """A head for the target's classes; rows of classes matched by name copy the source's.

    A target class matched by several source classes (ByClass 'a' and 'A' for a merged
    'A') takes their mean row. Returns the head and the target classes that start at
    random (none matched).
    """
    from charrec.evaluate.labelspace import match_classes

    generator = torch.Generator().manual_seed(seed)
    head = nn.Linear(source_head.in_features, len(target_classes))
    bound = 1 / np.sqrt(source_head.in_features)
    with torch.no_grad():
        head.weight.uniform_(-bound, bound, generator=generator)
        head.bias.zero_()
    try:
        space = match_classes(source_classes, target_classes, np.zeros(len(target_classes)))
    except DataError:  # no class in common
        return head, list(target_classes)
    rows: dict[int, list[int]] = {}
    for m, column in enumerate(space.column):
        if column < len(target_classes):
            rows.setdefault(int(column), []).append(m)
    with torch.no_grad():
        for target, sources in rows.items():
            head.weight[target] = source_head.weight[sources].mean(dim=0)
            head.bias[target] = source_head.bias[sources].mean()
    return head, [c for i, c in enumerate(target_classes) if i not in rows]


@dataclass
class TransferModel:
    """What the trainer needs: the model, its input normalisation, per-parameter LR scales."""

    model: Classifier
    mean: float
    std: float
    lr_scales: dict[nn.Parameter, float] = field(default_factory=dict)
    # Extra keys of model.json's "model" entry that rebuild the architecture.
    spec: dict[str, Any] = field(default_factory=dict)
    new_classes: list[str] = field(default_factory=list)


def prepare(
    source_model: nn.Module,
    source_meta: dict[str, Any],
    target_classes: Sequence[str],
    transfer: TransferConfig,
    seed: int,
) -> TransferModel:
    """The source model readied for `transfer.strategy` on the target classes.

    Zero-shot (nothing to adapt) and scratch (no source weights) do not come here.
    """
    strategy = transfer.strategy
    model = _classifier(source_model)
    if (source_meta.get("model") or {}).get("added"):
        raise ConfigError(
            "the source already has added layers; transfer from the run it was made from"
        )
    if transfer.head_init == "matched":
        head, new = matched_head(model.head, source_meta["classes"], target_classes, seed)
    else:
        head, new = matched_head(model.head, (), target_classes, seed)
    model.head = head
    spec: dict[str, Any] = {}
    blocks = feature_blocks(model)
    scales: dict[nn.Parameter, float] = {}
    if strategy in ("linear-probe", "added-layers"):
        freeze([m for block in blocks for m in block])
        if strategy == "added-layers":
            matched = model.head
            width = transfer.added_width or matched.in_features
            torch.manual_seed(seed)
            model = add_layers(model, width)
            spec["added"] = width
            if width == matched.in_features and transfer.head_init == "matched":
                dense = model.features[1][0]
                with torch.no_grad():
                    dense.weight.copy_(torch.eye(width))
                    dense.bias.zero_()
                model.head = matched
    elif strategy == "top-blocks":
        keep = min(transfer.train_blocks, len(blocks))
        freeze([m for block in blocks[: len(blocks) - keep] for m in block])
    elif strategy == "finetune":
        # The head at the full rate; each block below at lr_decay times the one above.
        for depth, block in enumerate(reversed(blocks), start=1):
            for module in block:
                for param in module.parameters():
                    scales[param] = transfer.lr_decay**depth
    else:
        raise ConfigError(f"transfer strategy {strategy!r} does not adapt a source model")
    pre = source_meta["preprocessing"]
    return TransferModel(model, float(pre["mean"]), float(pre["std"]), scales, spec, new)
