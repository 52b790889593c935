"""`charrec calibrate`: temperature scaling of a trained run folder, thin over
charrec.train.calibrate_run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

EPILOG = """\
[bold]Examples[/]

  A run trained without --calibrate; its answers stay the same, its probabilities
  come to match how often they are right:

    charrec calibrate runs/vgg-letters
    charrec evaluate runs/vgg-letters

  The temperature is fitted on the run's validation split, made again from its
  config.yaml, and folded into model.safetensors; model.json records it with the
  split's cross-entropy and calibration error before and after, and config.yaml
  says training.calibrate: true. An ensemble is calibrated through its members:
  calibrate each, then run charrec ensemble again.
"""


def calibrate(
    run: Annotated[Path, typer.Argument(help="A run folder trained without --calibrate.")],
) -> None:
    """Make a trained model's confidence match its accuracy (temperature scaling)."""
    from charrec.train.calibrate_run import calibrate_run

    calibration = calibrate_run(run)
    Console().print(f"{escape(str(run))}: {calibration.summary()}", soft_wrap=True)
