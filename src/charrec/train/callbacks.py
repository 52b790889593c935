"""Callbacks: how loggers (progress bar, TensorBoard, ...) watch a run without changing it.

The loop calls every callback in order, on the main process only (rank 0 under DDP):

    on_train_start(model, config, sample_batch)   once, before the first epoch trained here
    on_step(step, metrics)                         every few optimizer steps
    on_validation_end(epoch, images, labels,       after validating an epoch, with the
                      predictions, classes)        validation set and the model's answers
    on_epoch_end(epoch, metrics, model)            after validation and checkpointing
    on_train_end(final_metrics)                    once, after the final evaluation

`model` is the plain nn.Module (never the DDP wrapper); `sample_batch` is a small
normalised float batch N×1×H×W on the model's device, e.g. for a graph trace. Step
metrics hold the running means of the epoch so far: epoch, batch, batches, images, loss,
accuracy, lr, images_per_second. Epoch metrics are the history row (see loop.py). A
callback must not change the model or the metrics.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn


class Callback:
    """Base class with no-op hooks; override the ones you need."""

    def on_train_start(self, model: nn.Module, config: Any, sample_batch: torch.Tensor) -> None:
        pass

    def on_step(self, step: int, metrics: dict[str, float]) -> None:
        pass

    def on_validation_end(
        self,
        epoch: int,
        images: torch.Tensor,
        labels: torch.Tensor,
        predictions: torch.Tensor,
        classes: tuple[str, ...],
    ) -> None:
        """images: uint8 N×1×H×W (or N×H×W) validation images; labels, predictions: int64."""
        pass

    def on_epoch_end(self, epoch: int, metrics: dict[str, float], model: nn.Module) -> None:
        pass

    def on_train_end(self, final_metrics: dict[str, Any]) -> None:
        pass


class CallbackList(Callback):
    """Calls each callback in turn."""

    def __init__(self, callbacks: Iterable[Callback] = ()) -> None:
        self.callbacks = list(callbacks)

    def on_train_start(self, model: nn.Module, config: Any, sample_batch: torch.Tensor) -> None:
        for callback in self.callbacks:
            callback.on_train_start(model, config, sample_batch)

    def on_step(self, step: int, metrics: dict[str, float]) -> None:
        for callback in self.callbacks:
            callback.on_step(step, metrics)

    def on_validation_end(
        self,
        epoch: int,
        images: torch.Tensor,
        labels: torch.Tensor,
        predictions: torch.Tensor,
        classes: tuple[str, ...],
    ) -> None:
        for callback in self.callbacks:
            callback.on_validation_end(epoch, images, labels, predictions, classes)

    def on_epoch_end(self, epoch: int, metrics: dict[str, float], model: nn.Module) -> None:
        for callback in self.callbacks:
            callback.on_epoch_end(epoch, metrics, model)

    def on_train_end(self, final_metrics: dict[str, Any]) -> None:
        for callback in self.callbacks:
            callback.on_train_end(final_metrics)
