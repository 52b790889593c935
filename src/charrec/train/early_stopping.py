"""Early stopping: watch one metric, remember the best epoch, say when to stop."""

from __future__ import annotations

import math
from typing import Any

from charrec.train.config import EarlyStoppingConfig


class EarlyStopping:
    """Tracks the best value of `config.metric`; lower is better for losses, higher otherwise.

    With patience 0 it still tracks the best epoch (for the report) but never stops.
    """

    def __init__(self, config: EarlyStoppingConfig) -> None:
        self.metric = config.metric
        self.patience = config.patience
        self.min_delta = config.min_delta
        self.lower_is_better = config.metric.endswith("loss")
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.bad_epochs = 0

    @property
    def enabled(self) -> bool:
        return self.patience > 0

    def update(self, epoch: int, metrics: dict[str, float]) -> bool:
        """Record an epoch's metrics; True when it is the new best."""
        value = metrics.get(self.metric)
        if value is None or not math.isfinite(value):
            self.bad_epochs += 1
            return False
        if self.best is None:
            improved = True
        elif self.lower_is_better:
            improved = value < self.best - self.min_delta
        else:
            improved = value > self.best + self.min_delta
        if improved:
            self.best, self.best_epoch, self.bad_epochs = value, epoch, 0
        else:
            self.bad_epochs += 1
        return improved

    @property
    def should_stop(self) -> bool:
        return self.enabled and self.bad_epochs >= self.patience

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best = None if state["best"] is None else float(state["best"])
        self.best_epoch = None if state["best_epoch"] is None else int(state["best_epoch"])
        self.bad_epochs = int(state["bad_epochs"])
