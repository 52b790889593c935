"""Optimizer and learning-rate schedule factories: `create_optimizer`, `LRSchedule`.

The schedule is one small class rather than a chain of torch schedulers, so warm-up, the
shape (step, exponential, cosine, one-cycle) and plateau reductions compose in one formula,
and its whole state is three numbers that a checkpoint restores exactly:

    lr(step) = base_lr · warmup(step) · shape(step) · plateau_scale

`step` counts optimizer steps; `shape` is a function of the (fractional) epoch. The
schedule is stepped once per batch and told the monitored metric once per epoch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import nn

from charrec.errors import ConfigError, unknown_choice
from charrec.train.config import OPTIMIZERS, SCHEDULES, OptimConfig, ScheduleConfig

# Parameters each schedule takes, with defaults. Epoch counts may be fractions.
SCHEDULE_PARAMS: dict[str, dict[str, Any]] = {
    "constant": {},
    # lr · gamma^floor(epoch / step_size)
    "step": {"step_size": 10, "gamma": 0.1},
    # lr · gamma^epoch, per epoch (staircase) like torch's ExponentialLR
    "exponential": {"gamma": 0.95},
    # cosine from lr to min_lr over the run (after warm-up)
    "cosine": {"min_lr": 0.0},
    # Smith's one-cycle: cosine up from max_lr/div_factor to max_lr over pct_start of the
    # run, then cosine down to max_lr/(div_factor·final_div_factor); max_lr None = lr.
    "onecycle": {"max_lr": None, "pct_start": 0.3, "div_factor": 25.0, "final_div_factor": 1e4},
    # multiply lr by factor after more than `patience` epochs without improvement of the
    # monitored metric (torch's ReduceLROnPlateau rule)
    "plateau": {"monitor": "val_loss", "factor": 0.1, "patience": 5, "min_lr": 0.0},
}


def split_weight_decay(model: nn.Module) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
    """(weights, others): matrices and conv kernels decay; biases and norm scales do not."""
    weights, others = [], []
    for param in model.parameters():
        if param.requires_grad:
            (weights if param.ndim > 1 else others).append(param)
    return weights, others


def create_optimizer(
    model: nn.Module,
    config: OptimConfig,
    lr_scales: Mapping[nn.Parameter, float] | None = None,
) -> torch.optim.Optimizer:
    """The optimizer named in `config`, with weight decay on weights only.

    `lr_scales` gives parameters a fraction of the learning rate (layer-wise decay in
    transfer learning); each group keeps its `lr_scale`, which LRSchedule applies.
    """
    weights, others = split_weight_decay(model)
    scales = lr_scales or {}
    # Weights first, then biases and norms; within each, one group per scale (unscaled
    # runs keep the two groups they always had, so their saved states still load).
    by_key: dict[tuple[int, float], list[nn.Parameter]] = {(0, 1.0): []}
    for kind, params in enumerate((weights, others)):
        for param in params:
            by_key.setdefault((kind, float(scales.get(param, 1.0))), []).append(param)
    groups: list[dict[str, Any]] = [
        {
            "params": params,
            "weight_decay": config.weight_decay if kind == 0 else 0.0,
            "lr_scale": scale,
        }
        for (kind, scale), params in by_key.items()
        if params or (kind, scale) == (0, 1.0)
    ]
    name, lr = config.name, config.lr
    kwargs: dict[str, Any]
    if name == "sgd":
        momentum = 0.9 if config.momentum is None else config.momentum
        if config.nesterov and momentum == 0:
            raise ConfigError("nesterov momentum needs optim.momentum > 0")
        kwargs = {"momentum": momentum, "nesterov": config.nesterov}
        cls: type[torch.optim.Optimizer] = torch.optim.SGD
    elif name in ("adam", "adamw"):
        kwargs = {"betas": tuple(config.betas), "eps": config.eps}
        cls = torch.optim.Adam if name == "adam" else torch.optim.AdamW
    elif name == "rmsprop":
        kwargs = {"momentum": config.momentum or 0.0, "eps": config.eps}
        cls = torch.optim.RMSprop
    elif name == "adagrad":
        kwargs = {"eps": config.eps}
        cls = torch.optim.Adagrad
    elif name == "asgd":
        kwargs = {}
        cls = torch.optim.ASGD
    else:
        raise unknown_choice("optimizer", name, OPTIMIZERS)
    kwargs.update(config.options)
    try:
        return cls(groups, lr=lr, **kwargs)
    except TypeError as exc:
        raise ConfigError(f"optimizer {name!r}: bad option in optim.options: {exc}") from None
    except ValueError as exc:
        raise ConfigError(f"optimizer {name!r}: {exc}") from None


def schedule_params(config: ScheduleConfig) -> dict[str, Any]:
    """The schedule's parameters with defaults filled in; unknown names are errors."""
    if config.name not in SCHEDULE_PARAMS:
        raise unknown_choice("schedule", config.name, SCHEDULES)
    defaults = SCHEDULE_PARAMS[config.name]
    for key in config.params:
        if key not in defaults:
            valid = ", ".join(defaults) or "none"
            raise ConfigError(
                f"schedule {config.name!r} has no parameter {key!r}; its parameters are: {valid}"
            )
    params = {**defaults, **config.params}
    for key, value in params.items():
        if key == "monitor":
            if value not in ("val_loss", "val_accuracy", "train_loss", "train_accuracy"):
                raise ConfigError(f"schedule.params.monitor must name a metric, got {value!r}")
        elif value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ConfigError(f"schedule.params.{key} must be a number, got {value!r}")
    return params


class LRSchedule:
    """Sets the learning rate of every parameter group, once per optimizer step."""

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        config: ScheduleConfig,
        base_lr: float,
        steps_per_epoch: int,
        epochs: int,
    ) -> None:
        self.optimizer = optimizer
        self.name = config.name
        self.params = schedule_params(config)
        self.base_lr = base_lr
        self.steps_per_epoch = max(1, steps_per_epoch)
        self.total_steps = self.steps_per_epoch * epochs
        self.warmup_steps = round(config.warmup_epochs * self.steps_per_epoch)
        # State: optimizer steps taken, plateau multiplier, plateau bookkeeping.
        self.step_count = 0
        self.plateau_scale = 1.0
        self.best: float | None = None
        self.bad_epochs = 0
        self._apply()

    @property
    def monitor(self) -> str | None:
        return self.params.get("monitor") if self.name == "plateau" else None

    def lr_at(self, step: int) -> float:
        """The learning rate used by optimizer step number `step` (0-based)."""
        p, lr = self.params, self.base_lr
        if step < self.warmup_steps:
            lr *= (step + 1) / self.warmup_steps
        epoch = step / self.steps_per_epoch
        if self.name == "step":
            lr *= p["gamma"] ** math.floor(epoch / p["step_size"])
        elif self.name == "exponential":
            lr *= p["gamma"] ** math.floor(epoch)
        elif self.name == "cosine":
            span = max(1, self.total_steps - self.warmup_steps)
            t = min(1.0, max(0, step - self.warmup_steps) / span)
            lr = p["min_lr"] + (lr - p["min_lr"]) * 0.5 * (1 + math.cos(math.pi * t))
        elif self.name == "onecycle":
            lr = self._one_cycle(step)
        elif self.name == "plateau":
            lr = max(p["min_lr"], lr * self.plateau_scale)
        return lr

    def _one_cycle(self, step: int) -> float:
        p = self.params
        peak = p["max_lr"] or self.base_lr
        start, end = peak / p["div_factor"], peak / (p["div_factor"] * p["final_div_factor"])
        up = max(1, round(p["pct_start"] * self.total_steps))
        if step < up:
            t, low, high = step / up, start, peak
        else:
            t, low, high = (step - up) / max(1, self.total_steps - up), peak, end
        return high + (low - high) * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))

    def _apply(self) -> None:
        lr = self.lr_at(self.step_count)
        for group in self.optimizer.param_groups:
            group["lr"] = lr * group.get("lr_scale", 1.0)

    @property
    def lr(self) -> float:
        """The base rate (a group with an lr_scale runs at a fraction of it)."""
        group = self.optimizer.param_groups[0]
        return float(group["lr"] / group.get("lr_scale", 1.0))

    def step(self) -> None:
        """Call after each optimizer step: sets the rate for the next one."""
        self.step_count += 1
        self._apply()

    def epoch_end(self, metrics: dict[str, float]) -> None:
        """Call once per epoch with its metrics (the plateau schedule reads its monitor)."""
        if self.monitor is None or self.monitor not in metrics:
            return
        value = metrics[self.monitor]
        lower_is_better = self.monitor.endswith("loss")
        if self.best is None or (value < self.best if lower_is_better else value > self.best):
            self.best, self.bad_epochs = value, 0
        else:
            self.bad_epochs += 1
            if self.bad_epochs > self.params["patience"]:
                self.plateau_scale *= self.params["factor"]
                self.bad_epochs = 0
        self._apply()

    def state_dict(self) -> dict[str, Any]:
        return {
            "step_count": self.step_count,
            "plateau_scale": self.plateau_scale,
            "best": self.best,
            "bad_epochs": self.bad_epochs,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step_count = int(state["step_count"])
        self.plateau_scale = float(state["plateau_scale"])
        self.best = None if state["best"] is None else float(state["best"])
        self.bad_epochs = int(state["bad_epochs"])
        self._apply()


def l1_penalty(weights: Iterable[torch.Tensor]) -> torch.Tensor:
    """sum(|w|) over the given tensors (weights, not biases), as one scalar."""
    terms = [w.abs().sum() for w in weights]
    return torch.stack(terms).sum() if terms else torch.zeros(())
