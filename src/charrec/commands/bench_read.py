"""`charrec bench read`: how well and how fast lines of handprinted characters are read."""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

import typer

from charrec.commands.options import RecognizerTtaOption
from charrec.errors import ConfigError

EPILOG = """\
[bold]Examples[/]

  180 lines read by the letters model; another model and seed; two
  conditions only, as JSON:

    charrec bench read --model letters
    charrec bench read --model digits --lines 360 --seed 1
    charrec bench read -c boxes -c photo --json
"""


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def bench_read(
    model: Annotated[
        str, typer.Option("--model", "-m", help="A shipped model's name or a run folder.")
    ] = "letters",
    lines: Annotated[int, typer.Option("--lines", "-n", help="Lines drawn and read.")] = 180,
    seed: Annotated[int, typer.Option(help="Seed of the drawing: same seed, same lines.")] = 0,
    condition: Annotated[
        list[str] | None,
        typer.Option("--condition", "-c", help="Only this condition (repeatable)."),
    ] = None,
    repeat: Annotated[
        int, typer.Option("--repeat", help="Timed reads of the 10-character line.")
    ] = 100,
    backend: Annotated[str, typer.Option("--backend", help="onnx or torch.")] = "onnx",
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    tta: RecognizerTtaOption = None,
) -> None:
    """Character and whole-line accuracy on drawn lines, and the time to read one.

    Lines of 4-10 characters in handwriting fonts and real handwriting (UNIPEN,
    Semeion, optdigits), under: clean, tight and wide spacing, a wandering
    baseline, printed boxes, a comb field, ruled paper, light on dark, a phone
    photo. Case is ignored; spaces count as characters.
    """
    from rich.console import Console
    from rich.table import Table

    from charrec.infer.realistic.lines import (
        evaluate_lines,
        line_latency,
        plan_lines,
        render_line,
    )
    from charrec.infer.recognizer import load

    if lines < 1:
        raise ConfigError(f"--lines must be at least 1, got {lines}")
    if repeat < 1:
        raise ConfigError(f"--repeat must be at least 1, got {repeat}")
    recognizer = load(model, backend=backend, tta=tta)
    alphabet = "".join(c for c in recognizer.classes if len(c) == 1)
    specs = plan_lines(alphabet, lines, seed=seed, conditions=condition or None)
    samples = [render_line(spec) for spec in specs]
    result = evaluate_lines(recognizer, samples)
    load_before = os.getloadavg()[0]
    latency = line_latency(recognizer, alphabet, repeat, seed=seed)
    data: dict[str, Any] = {
        "model": recognizer.name,
        "backend": backend,
        "tta": tta,
        "lines": len(samples),
        "seed": seed,
        "character_accuracy": result.character_accuracy(),
        "line_accuracy": result.line_accuracy(),
        "by_condition": result.table("condition"),
        "by_source": result.table("source"),
        "latency": {**latency, "load_average": [load_before, os.getloadavg()[0]]},
    }
    if as_json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return
    console = Console()
    how = f"{backend}, --tta {tta}" if tta else backend
    console.print(
        f"[bold]{data['model']}[/] ({how}): character accuracy "
        f"{_percent(data['character_accuracy'])}, whole lines {_percent(data['line_accuracy'])} "
        f"on {len(samples)} lines, seed {seed}"
    )
    for key, title in (("condition", "Per condition"), ("source", "Per hand")):
        table = Table(title=title, title_justify="left")
        for column in (key, "lines", "characters", "whole lines"):
            table.add_column(column, justify="left" if column == key else "right")
        for row in data[f"by_{key}"]:
            table.add_row(
                str(row[key]),
                str(row["lines"]),
                _percent(row["character_accuracy"]),
                _percent(row["line_accuracy"]),
            )
        console.print(table)
    console.print(
        f"reading a {latency['picture']} line of {len(latency['line'])} characters "
        f"({latency['line']}, font {latency['font']}), {latency['repeat']} times: "
        f"p50 {latency['p50_ms']:.2f} ms, p90 {latency['p90_ms']:.2f} ms, fastest "
        f"{latency['fastest_ms']:.2f} ms (load average {load_before:.2f} before, "
        f"{os.getloadavg()[0]:.2f} after)"
    )
