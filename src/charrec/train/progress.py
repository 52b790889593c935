"""Training progress in the terminal: a live bar per epoch and one summary line per epoch.

On a terminal each epoch shows a Rich progress bar with the running loss, accuracy,
images/s and ETA, replaced at the end of the epoch by its summary line. When the output
is not a terminal (CI, a log file) only the summary lines are printed.
"""

from __future__ import annotations

from typing import Any

import torch
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from torch import nn

from charrec.train.callbacks import Callback


def format_duration(seconds: float) -> str:
    """1.2 s, 3m 04s, 1h 02m."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def epoch_summary(metrics: dict[str, Any], epochs: int) -> str:
    """One line: epoch, train and val loss/accuracy, lr, time, throughput."""
    width = len(str(epochs))
    parts = [
        f"epoch {metrics['epoch']:>{width}}/{epochs}",
        f"loss {metrics['train_loss']:.4f}",
        f"acc {100 * metrics['train_accuracy']:6.2f}%",
    ]
    if metrics.get("val_loss") is not None:
        parts += [
            f"val_loss {metrics['val_loss']:.4f}",
            f"val_acc {100 * metrics['val_accuracy']:6.2f}%",
        ]
    parts += [
        f"lr {metrics['lr']:.2e}",
        f"{format_duration(metrics['epoch_time'])}",
        f"{metrics['images_per_second']:,.0f} img/s",
    ]
    return "  ".join(parts)


class ProgressCallback(Callback):
    """Prints progress to `console`; the live bar only when it is a terminal."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console()
        self.live = self.console.is_terminal
        self.epochs = 0
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        self.epoch = 0

    def on_train_start(self, model: nn.Module, config: Any, sample_batch: torch.Tensor) -> None:
        self.epochs = config.training.epochs

    def _start_bar(self, epoch: int, batches: int) -> None:
        self.progress = Progress(
            TextColumn(f"epoch {epoch}/{self.epochs}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[stats]}"),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        self.progress.start()
        self.task = self.progress.add_task("train", total=batches, stats="")
        self.epoch = epoch

    def on_step(self, step: int, metrics: dict[str, float]) -> None:
        if not self.live:
            return
        if self.progress is None or self.epoch != metrics["epoch"]:
            self._stop_bar()
            self._start_bar(int(metrics["epoch"]), int(metrics["batches"]))
        stats = (
            f"loss {metrics['loss']:.4f}  acc {100 * metrics['accuracy']:.2f}%  "
            f"{metrics['images_per_second']:,.0f} img/s"
        )
        assert self.progress is not None and self.task is not None
        self.progress.update(self.task, completed=int(metrics["batch"]), stats=stats)

    def _stop_bar(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None

    def on_epoch_end(self, epoch: int, metrics: dict[str, float], model: nn.Module) -> None:
        self._stop_bar()
        self.console.print(
            epoch_summary(metrics, self.epochs),
            highlight=False,
            soft_wrap=True,
        )

    def on_train_end(self, final_metrics: dict[str, Any]) -> None:
        self._stop_bar()
