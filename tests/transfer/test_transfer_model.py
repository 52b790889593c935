"""The pieces of a transfer model: blocks, freezing, matched heads, LR scales, statistics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from charrec.evaluate.paired import paired_difference
from charrec.models import create_model
from charrec.train.config import OptimConfig, ScheduleConfig, TransferConfig
from charrec.train.optim import LRSchedule, create_optimizer
from charrec.transfer.model import feature_blocks, freeze, matched_head, prepare


def _vgg() -> nn.Module:
    torch.manual_seed(0)
    return create_model("vgg", 26, depth=1)


def _meta(classes: str | list[str]) -> dict:
    return {"classes": list(classes), "preprocessing": {"mean": 0.2, "std": 0.3}, "model": {}}


def test_vgg_blocks_are_its_layers_with_weights() -> None:
    blocks = feature_blocks(_vgg())
    # Three conv stages and the Dense(256) under the head, bottom first.
    kinds = [type(block[0]).__name__ for block in blocks]
    assert kinds == ["Conv2d", "Conv2d", "Conv2d", "Linear"]
    # Each conv's batch norm belongs to its block.
    assert any(isinstance(m, nn.BatchNorm2d) for m in blocks[0])


def test_frozen_blocks_keep_weights_and_batch_norm_statistics() -> None:
    model = _vgg()
    blocks = feature_blocks(model)
    freeze([m for block in blocks[:2] for m in block])
    norm = next(m for m in blocks[0] if isinstance(m, nn.BatchNorm2d))
    before = norm.running_mean.clone()
    model.train()
    assert not norm.training and model.head.training
    model(torch.randn(8, 1, 28, 28)).sum().backward()
    assert torch.equal(norm.running_mean, before)
    assert blocks[0][0].weight.grad is None
    assert blocks[3][0].weight.grad is not None


def test_matched_head_copies_rows_by_name_and_merges_case() -> None:
    source = nn.Linear(4, 4)
    head, new = matched_head(source, ["A", "a", "B", "7"], ["A", "B", "Z"], seed=0)
    assert new == ["Z"]
    assert torch.allclose(head.weight[0], source.weight[:2].mean(dim=0))
    assert torch.allclose(head.weight[1], source.weight[2])
    assert head.bias[1] == source.bias[2]


def test_finetune_scales_learning_rates_by_depth() -> None:
    prepared = prepare(
        _vgg(),
        _meta("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
        ("A", "B"),
        TransferConfig(source="letters", strategy="finetune", lr_decay=0.5),
        seed=0,
    )
    blocks = feature_blocks(prepared.model)
    assert prepared.lr_scales[blocks[-1][0].weight] == 0.5
    assert prepared.lr_scales[blocks[0][0].weight] == 0.5**4
    assert prepared.model.head.weight not in prepared.lr_scales
    optimizer = create_optimizer(
        prepared.model, OptimConfig(name="sgd", lr=0.1), prepared.lr_scales
    )
    schedule = LRSchedule(optimizer, ScheduleConfig(), 0.1, 10, 1)
    rates = sorted({round(g["lr"], 8) for g in optimizer.param_groups})
    assert rates == [round(0.1 * 0.5**k, 8) for k in (4, 3, 2, 1, 0)]
    assert schedule.lr == pytest.approx(0.1)


def test_linear_probe_trains_only_the_head() -> None:
    prepared = prepare(
        _vgg(),
        _meta("AB"),
        ("A", "B", "C"),
        TransferConfig(source="letters", strategy="linear-probe"),
        seed=0,
    )
    trainable = [n for n, p in prepared.model.named_parameters() if p.requires_grad]
    assert trainable == ["head.weight", "head.bias"]
    assert prepared.new_classes == ["C"]
    assert (prepared.mean, prepared.std) == (0.2, 0.3)


def test_paired_difference_against_a_hand_computation() -> None:
    a, b = [0.95, 0.97, 0.96, 0.98, 0.94], [0.93, 0.94, 0.95, 0.95, 0.92]
    result = paired_difference(a, b, test_fraction=0.2)
    d = np.subtract(a, b)
    assert result.mean == pytest.approx(d.mean())
    half = 2.7764451051977987 * d.std(ddof=1) / math.sqrt(5)  # t(0.975, 4)
    assert (result.low, result.high) == pytest.approx((d.mean() - half, d.mean() + half))
    corrected = 2.7764451051977987 * d.std(ddof=1) * math.sqrt(1 / 5 + 0.25)
    assert result.corrected_high - result.mean == pytest.approx(corrected)
    assert 0 < result.p_value < result.corrected_p_value < 1


def test_added_layers_start_as_the_source_model() -> None:
    source = _vgg().eval()
    x = torch.randn(4, 1, 28, 28)
    with torch.no_grad():
        expected = source(x)
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    prepared = prepare(
        _vgg(),
        _meta(letters),
        tuple(letters),
        TransferConfig(source="letters", strategy="added-layers"),
        seed=0,
    )
    assert prepared.spec == {"added": 256}
    with torch.no_grad():
        assert torch.allclose(prepared.model.eval()(x), expected, atol=1e-5)
    trainable = {n.split(".")[0] for n, p in prepared.model.named_parameters() if p.requires_grad}
    assert trainable == {"features", "head"}
    assert all(
        not p.requires_grad
        for n, p in prepared.model.named_parameters()
        if n.startswith("features.0.")
    )
