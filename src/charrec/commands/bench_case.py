"""`charrec bench case`: a case-aware letters model against a case-merged one."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from charrec.commands.options import DataDirOption

EPILOG = """\
[bold]Examples[/]

  A model trained with recipes/letters-case.yaml against the letters model, on
  the same held-out letters-dev test images:

    charrec bench case --model runs/letters-case --against runs/letters

  The shipped 62-class alphanumeric model (its digits count as errors on
  letters) against the shipped letters model, with each letter's case score:

    charrec bench case --model alphanumeric --against letters --per-letter

  Letter accuracy is scored with case merged (a case-aware model's two cases
  summed); case accuracy on letters-case-dev's test split, among the images
  whose letter the model reads right.
"""


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.2f}%"


def _count(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


# Optional[...] below: typer needs it on Python 3.10.
# ruff: noqa: UP045
def bench_case(
    model: Annotated[
        str,
        typer.Option("--model", "-m", help="The case-aware model: a run folder or shipped name."),
    ],
    against: Annotated[
        Optional[str],
        typer.Option("--against", "-a", help="A case-merged model to compare with."),
    ] = None,
    data: Annotated[
        str, typer.Option(help="Where letters are scored, case merged (its test split).")
    ] = "letters-dev",
    case_data: Annotated[
        str, typer.Option("--case-data", help="Where the case is scored (its test split).")
    ] = "letters-case-dev",
    data_dir: DataDirOption = None,
    per_letter: Annotated[
        bool, typer.Option("--per-letter", help="Also show each letter's case accuracy.")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Case-aware letters: letter accuracy (case merged) against a case-merged model on the
    same images, and case accuracy for letters whose cases look alike or differ."""
    import json

    from rich.console import Console
    from rich.table import Table

    from charrec.evaluate.case_compare import compare_case

    result = compare_case(model, against, data=data, case_data=case_data, data_dir=data_dir)
    console = Console()
    if json_out:
        console.print_json(json.dumps(result.to_dict()))
        return
    letters = Table(
        title=f"Letter accuracy, case merged: {result.data}, {result.images:,} images",
        title_justify="left",
    )
    letters.add_column("model", overflow="fold")
    for column in ("classes", "accuracy", "only this one right"):
        letters.add_column(column, justify="right")
    letters.add_row(
        result.model, "case kept", _pct(result.accuracy), _count(result.only_model_right)
    )
    if result.against is not None:
        letters.add_row(
            result.against,
            "case merged",
            _pct(result.against_accuracy),
            _count(result.only_against_right),
        )
    console.print(letters)
    groups = Table(
        title=f"Case accuracy of {result.model}: {result.case_data}, among letters read right",
        title_justify="left",
    )
    for column in ("letters", "images", "letter right", "case right"):
        groups.add_column(column, justify="left" if column == "letters" else "right")
    shown = result.case.groups + (result.case.letters if per_letter else [])
    for score in shown:
        name = f"{score.name} ({score.letters})" if score.name != score.letters else score.name
        groups.add_row(
            name, f"{score.images:,}", _pct(score.letter_accuracy), _pct(score.case_accuracy)
        )
    console.print(groups)
