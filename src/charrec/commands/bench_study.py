"""`charrec bench study`: a study as N jobs × 1 thread against 1 job × N threads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from charrec.commands.options import DataDirOption

EPILOG = """\
[bold]Examples[/]

  The same small study (chollet-mlp, keras-convnet and nielsen, a two-option factor,
  2 folds, one epoch on 6,000 MNIST images) under each layout, in turns:

    charrec bench study
    charrec bench study --models mlp,keras-convnet --limit 3000 --rounds 3 \\
      --json out.json

  Run it on an idle machine: other processes change the answer.
"""


# Optional[...] below: typer needs it on Python 3.10.
# ruff: noqa: UP045
def bench_study(
    models: Annotated[
        str, typer.Option("--models", help="Models of the study, comma-separated.")
    ] = "chollet-mlp,keras-convnet,nielsen",
    limit: Annotated[int, typer.Option("--limit", help="MNIST images per trial.")] = 6000,
    epochs: Annotated[int, typer.Option("--epochs", help="Epochs per trial.")] = 1,
    rounds: Annotated[int, typer.Option("--rounds", help="Rounds of the layouts in turn.")] = 2,
    json_out: Annotated[
        Optional[Path], typer.Option("--json", help="Also write the result as JSON here.")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Time a small study as N jobs × 1 thread and as 1 job × N threads, in turns."""
    from charrec.fileio import write_json
    from charrec.study.benchmark import run_layouts

    console = Console()
    names = tuple(m.strip() for m in models.split(",") if m.strip())
    result = run_layouts(
        names,
        limit,
        epochs,
        rounds,
        str(data_dir) if data_dir else None,
        say=lambda line: console.print(line, highlight=False),
    )
    fastest = result["fastest"]
    console.print(
        f"fastest: {fastest['jobs']} job(s) × {fastest['threads']} thread(s)", highlight=False
    )
    if json_out is not None:
        write_json(json_out, result)
        console.print(json.dumps({"written": str(json_out)}), highlight=False)
