"""Optimizer and schedule factories, early stopping: unit tests on a tiny module."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch import nn

from charrec.errors import ConfigError
from charrec.train.config import (
    OPTIMIZERS,
    EarlyStoppingConfig,
    OptimConfig,
    ScheduleConfig,
)
from charrec.train.early_stopping import EarlyStopping
from charrec.train.optim import LRSchedule, create_optimizer, l1_penalty


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 2))


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_builds_and_steps(name: str) -> None:
    model = _model()
    optimizer = create_optimizer(model, OptimConfig(name=name, lr=0.1, weight_decay=0.01))
    before = [p.detach().clone() for p in model.parameters()]
    model(torch.randn(8, 4)).square().mean().backward()
    optimizer.step()
    assert any(not torch.equal(b, p) for b, p in zip(before, model.parameters(), strict=True))


def test_weight_decay_only_on_weights() -> None:
    model = _model()
    optimizer = create_optimizer(model, OptimConfig(name="sgd", weight_decay=0.1))
    decay, no_decay = optimizer.param_groups
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert all(p.ndim == 2 for p in decay["params"])
    assert all(p.ndim == 1 for p in no_decay["params"])  # biases and batch norm


def test_sgd_momentum_defaults_and_nesterov() -> None:
    sgd = create_optimizer(_model(), OptimConfig(name="sgd", nesterov=True))
    assert sgd.param_groups[0]["momentum"] == 0.9 and sgd.param_groups[0]["nesterov"]
    rms = create_optimizer(_model(), OptimConfig(name="rmsprop", options={"alpha": 0.9}))
    assert rms.param_groups[0]["momentum"] == 0.0 and rms.param_groups[0]["alpha"] == 0.9
    with pytest.raises(ConfigError, match="nesterov"):
        create_optimizer(_model(), OptimConfig(name="sgd", momentum=0.0, nesterov=True))
    with pytest.raises(ConfigError, match="bad option"):
        create_optimizer(_model(), OptimConfig(name="adam", options={"rho": 0.9}))


def _lrs(name: str, epochs: int = 4, steps: int = 10, **kwargs) -> list[float]:
    model = _model()
    optimizer = create_optimizer(model, OptimConfig(name="sgd", lr=1.0))
    schedule = LRSchedule(optimizer, ScheduleConfig(name=name, **kwargs), 1.0, steps, epochs)
    rates = []
    for _ in range(epochs * steps):
        rates.append(schedule.lr)
        schedule.step()
    return rates


def test_constant_and_warmup() -> None:
    assert set(_lrs("constant")) == {1.0}
    rates = _lrs("constant", warmup_epochs=1)
    assert rates[:10] == pytest.approx([(i + 1) / 10 for i in range(10)])
    assert set(rates[10:]) == {1.0}


def test_step_and_exponential() -> None:
    step = _lrs("step", params={"step_size": 2, "gamma": 0.5})
    assert step[0] == 1.0 and step[19] == 1.0 and step[20] == 0.5 and step[39] == 0.5
    exp = _lrs("exponential", params={"gamma": 0.5})
    assert [exp[i * 10] for i in range(4)] == [1.0, 0.5, 0.25, 0.125]


def test_cosine_goes_from_lr_to_min_lr() -> None:
    rates = _lrs("cosine", params={"min_lr": 0.1})
    assert rates[0] == 1.0
    assert rates[20] == pytest.approx(0.55, abs=0.01)
    assert rates[-1] == pytest.approx(0.1, abs=0.01)
    assert all(a >= b for a, b in itertools.pairwise(rates))


def test_onecycle_peaks_at_pct_start() -> None:
    rates = _lrs("onecycle", params={"max_lr": 2.0, "pct_start": 0.25})
    assert rates[0] == pytest.approx(2.0 / 25)
    assert max(rates) == pytest.approx(2.0) and rates.index(max(rates)) == 10
    assert rates[-1] < 0.01


def test_plateau_reduces_after_patience_and_state_round_trips() -> None:
    model = _model()
    optimizer = create_optimizer(model, OptimConfig(name="sgd", lr=1.0))
    config = ScheduleConfig(name="plateau", params={"patience": 1, "factor": 0.5})
    schedule = LRSchedule(optimizer, config, 1.0, 10, 10)
    for loss in (1.0, 0.9, 0.95):
        schedule.epoch_end({"val_loss": loss})
    assert schedule.lr == 1.0  # one bad epoch is within patience
    schedule.epoch_end({"val_loss": 0.92})
    assert schedule.lr == 0.5
    other = LRSchedule(
        create_optimizer(_model(), OptimConfig(name="sgd", lr=1.0)), config, 1, 10, 10
    )
    other.load_state_dict(schedule.state_dict())
    assert other.lr == 0.5 and other.state_dict() == schedule.state_dict()


def test_schedule_params_are_checked() -> None:
    with pytest.raises(ConfigError, match="has no parameter 'gama'; its parameters are"):
        _lrs("step", params={"gama": 0.1})
    with pytest.raises(ConfigError, match="must be a number"):
        _lrs("step", params={"gamma": "half"})


def test_l1_penalty_is_sum_of_abs() -> None:
    weights = [torch.tensor([[1.0, -2.0]]), torch.tensor([[-3.0]])]
    assert l1_penalty(weights).item() == 6.0
    assert l1_penalty([]).item() == 0.0


def test_early_stopping_min_and_max() -> None:
    stop = EarlyStopping(EarlyStoppingConfig(patience=2, metric="val_loss", min_delta=0.01))
    assert stop.update(1, {"val_loss": 1.0})
    assert not stop.update(2, {"val_loss": 0.995})  # not better by more than min_delta
    assert stop.update(3, {"val_loss": 0.9})
    assert not stop.update(4, {"val_loss": 0.95}) and not stop.should_stop
    assert not stop.update(5, {"val_loss": math.nan}) and stop.should_stop
    assert stop.best_epoch == 3 and stop.best == 0.9
    acc = EarlyStopping(EarlyStoppingConfig(patience=1, metric="val_accuracy"))
    acc.update(1, {"val_accuracy": 0.5})
    assert acc.update(2, {"val_accuracy": 0.6}) and not acc.should_stop
    acc.update(3, {"val_accuracy": 0.55})
    assert acc.should_stop
    again = EarlyStopping(EarlyStoppingConfig(patience=1, metric="val_accuracy"))
    again.load_state_dict(acc.state_dict())
    assert again.should_stop and again.best_epoch == 2


def test_patience_zero_tracks_but_never_stops() -> None:
    stop = EarlyStopping(EarlyStoppingConfig(patience=0))
    for epoch, loss in enumerate([1.0, 2.0, 3.0, 4.0], start=1):
        stop.update(epoch, {"val_loss": loss})
    assert stop.best_epoch == 1 and not stop.should_stop
