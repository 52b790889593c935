"""`charrec coursework`: the whole classic coursework in one run, with its report."""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from charrec.commands.options import DataDirOption

EPILOG = """\
[bold]Examples[/]

  Every section on the quick budget (about 20 minutes on 2 cores), then the report:

    charrec coursework --out report/

  The experiments at their real lengths (hours; see the README for how long here):

    charrec coursework --out report-full/ --budget full

  Run it again to continue after an interruption: finished sections and trainings are
  reused. report.html is one self-contained page; report.md and figures/ sit beside it.
"""

# Data sets each section needs (by registered name; "letters" is whichever letters set
# is used: the official EMNIST Letters, else letters-dev).
NEEDS = {
    "mnist": ("mnist-dense", "letters-dense", "convnet", "classic-cnns"),
    "letters": ("letters-grid", "letters-dense", "convnet", "study", "case"),
    "letters-case-dev": ("case",),
    "binary-alphadigits": ("transfer",),
}


def _missing_data(data_dir: str | None) -> list[tuple[str, str, tuple[str, ...]]]:
    from charrec.coursework.context import letters_data
    from charrec.data import get_spec
    from charrec.data.location import resolve_data_dir

    folder = resolve_data_dir(data_dir)
    letters, _ = letters_data(data_dir)
    missing = []
    for name, sections in NEEDS.items():
        spec = get_spec(letters if name == "letters" else name)
        if not spec.is_present(folder):
            missing.append((spec.name, spec.fetch_hint, sections))
    return missing


def coursework(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the runs and the report.")],
    budget: Annotated[
        str, typer.Option("--budget", "-b", help="quick (default, ~20 min) or full.")
    ] = "quick",
    data_dir: DataDirOption = None,
) -> None:
    """Run the classic coursework end to end and write its report."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from charrec.coursework import SECTIONS
    from charrec.coursework.budget import get_budget
    from charrec.coursework.report import write_coursework_report
    from charrec.coursework.runner import prepare_folder, run_sections
    from charrec.errors import CharrecError

    chosen = get_budget(budget)
    folder = str(data_dir) if data_dir else None
    missing = _missing_data(folder)
    if missing:
        blocked = {s for _, _, sections in missing for s in sections}
        runnable = [s.key for s in SECTIONS if s.key not in blocked]
        lines = [f"{name} is missing ({hint})" for name, hint, _ in missing]
        raise CharrecError(
            "; ".join(lines) + f". Without it these sections cannot run: "
            f"{', '.join(sorted(blocked))}; these could: {', '.join(runnable)}"
        )
    prepare_folder(out, chosen)
    console = Console()
    expected = [chosen.expected_seconds.get(s.key, 1.0) for s in SECTIONS]
    start = time.perf_counter()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[left]}"),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("coursework", total=sum(expected), left="")

        def show(index: int, section, elapsed: float) -> None:
            done = sum(expected[:index])
            rate = elapsed / done if done and elapsed > 0 else 1.0
            left = (sum(expected) - done) * rate
            what = section.question if index < len(SECTIONS) else "report"
            progress.update(
                task,
                completed=done,
                description=f"[{min(index + 1, len(SECTIONS))}/{len(SECTIONS)}] {what}",
                left=f"about {left / 60:.0f} min left" if index < len(SECTIONS) else "",
            )

        ctx, records = run_sections(SECTIONS, out, chosen, folder, show)
    command = shlex.join(["charrec", *sys.argv[1:]]) if sys.argv[1:] else "charrec coursework"
    files = write_coursework_report(ctx, records, time.perf_counter() - start, command)
    console.print(f"report: {files['html']} (and {files['markdown'].name})", soft_wrap=True)
