"""`charrec tensorboard`: serve the TensorBoard events of training runs until Ctrl-C."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

EPILOG = """\
[bold]Examples[/]

  Every run under runs/ (each run folder's tensorboard/ is one run); runs still training
  update as they go:

    charrec tensorboard

  Another folder, on another port, reachable from other machines:

    charrec tensorboard experiments/letters --port 6007 --host 0.0.0.0

  Curves (loss, accuracy, learning rate per epoch and per step; "Custom Scalars" overlays
  train and validation), weight and gradient histograms, augmented inputs, misclassified
  validation images, the model graph, and the HParams table comparing runs by config
  and final accuracy.
"""


def tensorboard(
    runs_dir: Annotated[
        Path,
        typer.Argument(help="Folder holding the run folders (each with its tensorboard/ events)."),
    ] = Path("runs"),
    port: Annotated[int, typer.Option("--port", "-p", help="Port (0: any free port).")] = 6006,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (0.0.0.0: every interface).")
    ] = "127.0.0.1",
) -> None:
    """Show training runs in TensorBoard: curves, histograms, images, graphs and hparams.

    Serves until Ctrl-C; runs that are still training update as they go.
    """
    from charrec.train.tensorboard import launch_tensorboard

    console = Console()
    url = launch_tensorboard(runs_dir, port, host)
    if not any(runs_dir.rglob("events.out.tfevents.*")):
        console.print(
            f"no TensorBoard events under {runs_dir} yet; runs appear as they start",
            highlight=False,
            soft_wrap=True,
        )
    console.print(f"TensorBoard on {runs_dir} at {url} (Ctrl-C to stop)", soft_wrap=True)
    try:
        while True:  # the server runs in a daemon thread; keep the process alive
            _wait()
    except KeyboardInterrupt:
        console.print("TensorBoard stopped")


def _wait() -> None:
    time.sleep(3600)
