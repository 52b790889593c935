"""`charrec bench realistic`: a model's accuracy on pictures that look like users' own."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from charrec.commands.options import RecognizerTtaOption
from charrec.errors import ConfigError

EPILOG = """\
[bold]Examples[/]

  A shipped model; another with fewer pictures and a report; a run folder on
  another draw of the pictures:

    charrec bench realistic --model letters
    charrec bench realistic --model alphanumeric --per-class 16 --out real-an
    charrec bench realistic --model runs/vgg-letters --seed 1
    charrec bench realistic --model letters --tta affine
"""


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def bench_realistic(
    model: Annotated[
        str,
        typer.Option("--model", "-m", help="A shipped model's name or a run folder."),
    ] = "letters",
    per_class: Annotated[
        int, typer.Option("--per-class", "-n", help="Pictures drawn per class.")
    ] = 32,
    seed: Annotated[int, typer.Option(help="Seed of the drawing: same seed, same pictures.")] = 0,
    out: Annotated[
        Path | None,
        typer.Option(help="Write report.json, report.md/.html, mistakes.png, items.jsonl here."),
    ] = None,
    save_images: Annotated[
        bool,
        typer.Option(
            "--save-images",
            help="With --out, also save every picture drawn, with a labels.csv (--data reads it).",
        ),
    ] = False,
    condition: Annotated[
        list[str] | None,
        typer.Option("--condition", "-c", help="Only this condition (repeatable)."),
    ] = None,
    tta: RecognizerTtaOption = None,
) -> None:
    """Accuracy on handwriting-font characters drawn the way users' pictures look.

    Conditions: paper, ruled lines, noise, shadow, blur, rotation, thin and thick pens,
    chalk, light on dark, tiny and big canvases, cropped tight to the ink, JPEG, colour,
    phone photo.
    """
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from charrec.infer.realistic.evaluation import evaluate_realistic
    from charrec.infer.realistic.report import summary, write_realistic_report
    from charrec.infer.recognizer import load

    if per_class < 1:
        raise ConfigError(f"--per-class must be at least 1, got {per_class}")
    if save_images and out is None:
        raise ConfigError("--save-images needs --out, the folder to save the pictures in")
    if out is not None and out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: is a file, not a folder")
    recognizer = load(model, tta=tta)
    console = Console()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("drawing and predicting", total=None)
        result = evaluate_realistic(
            recognizer,
            per_class=per_class,
            seed=seed,
            conditions=condition or None,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    data = summary(result)
    case = "accuracy_case_insensitive" in data
    line = (
        f"[bold]{data['model']}[/]: accuracy {_percent(data['accuracy'])} on "
        f"{data['images']} pictures"
    )
    if case:
        line += f", {_percent(data['accuracy_case_insensitive'])} with case ignored"
    line += (
        f"; {data['blank']} blank; seed {seed}, {len(data['fonts'])} fonts; "
        f"drawing {data['seconds']['render']:.1f} s, recognising {data['seconds']['predict']:.1f} s"
    )
    console.print(line)
    for key, title, rows in (
        ("condition", "Per condition", data["by_condition"]),
        ("font", "Per font", data["by_font"]),
        ("label", "Worst classes", data["worst_classes"]),
    ):
        table = Table(title=title, title_justify="left")
        table.add_column(key)
        table.add_column("images", justify="right")
        table.add_column("accuracy", justify="right")
        if case:
            table.add_column("case ignored", justify="right")
        table.add_column("blank", justify="right")
        table.add_column("mistaken for")
        for row in rows:
            cells = [str(row[key]), str(row["images"]), _percent(row["accuracy"])]
            if case:
                cells.append(_percent(row["case_insensitive"]))
            cells += [str(row["blank"]), row["mistaken_for"]]
            table.add_row(*cells)
        console.print(table)
    if out is not None:
        paths = write_realistic_report(result, out, save_images=save_images)
        others = ", ".join(p.name for key, p in paths.items() if key != "markdown")
        console.print(f"report: {paths['markdown']} (also {others})")
