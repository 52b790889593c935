"""The `charrec` command: sub-commands assembled from `charrec.commands`, one error policy.

User errors (`CharrecError`) print one line and exit with code 2; bugs keep their traceback.
The command modules import only typer and rich at the top; torch, NumPy, matplotlib, ONNX
Runtime and the web stack are imported inside the commands that use them, so that
`charrec --help` and every `--help` answer at once (`charrec bench startup` measures it).
"""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from charrec import __version__
from charrec.commands import bench as bench_commands
from charrec.commands import coursework as coursework_commands
from charrec.commands import data as data_commands
from charrec.commands import evaluate as evaluate_commands
from charrec.commands import export as export_commands
from charrec.commands import predict as predict_commands
from charrec.commands import serve as serve_commands
from charrec.commands import study as study_commands
from charrec.commands import tensorboard as tensorboard_commands
from charrec.commands import train as train_commands
from charrec.commands.helptext import use_tidy_help
from charrec.errors import CharrecError

app = typer.Typer(
    name="charrec",
    help="Handwritten character recognition with neural networks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        print(f"charrec {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        Optional[bool],  # noqa: UP045 - typer needs Optional on Python 3.10
        typer.Option(
            "--version",
            help="Print charrec's version and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = None,
) -> None:
    """Handwritten character recognition with neural networks."""


app.add_typer(data_commands.app, name="data")
app.add_typer(bench_commands.app, name="bench")
app.add_typer(study_commands.app, name="study")
app.command("coursework", epilog=coursework_commands.EPILOG)(coursework_commands.coursework)
app.command("train", epilog=train_commands.EPILOG)(train_commands.train)
app.command("evaluate", epilog=evaluate_commands.EVALUATE_EPILOG)(evaluate_commands.evaluate)
app.command("compare", epilog=evaluate_commands.COMPARE_EPILOG)(evaluate_commands.compare)
app.command("export", epilog=export_commands.EPILOG)(export_commands.export)
app.command("tensorboard", epilog=tensorboard_commands.EPILOG)(tensorboard_commands.tensorboard)
app.command("predict", epilog=predict_commands.EPILOG)(predict_commands.predict)
app.command("serve", epilog=serve_commands.EPILOG)(serve_commands.serve)
use_tidy_help(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script and of `python -m charrec`."""
    try:
        app(args=argv, prog_name="charrec")
    except CharrecError as exc:
        from rich.console import Console
        from rich.markup import escape

        Console(stderr=True).print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
