"""The `charrec` command: sub-commands assembled from `charrec.commands`, one error policy.

User errors (`CharrecError`) print one line and exit with code 2; bugs keep their traceback.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.markup import escape

from charrec.commands import bench as bench_commands
from charrec.commands import data as data_commands
from charrec.commands import evaluate as evaluate_commands
from charrec.commands import export as export_commands
from charrec.commands import predict as predict_commands
from charrec.commands import serve as serve_commands
from charrec.commands import tensorboard as tensorboard_commands
from charrec.commands import train as train_commands
from charrec.commands import transfer as transfer_commands
from charrec.errors import CharrecError

app = typer.Typer(
    name="charrec",
    help="Handwritten character recognition with neural networks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(data_commands.app, name="data")
app.add_typer(bench_commands.app, name="bench")
app.command("train", epilog=train_commands.EPILOG)(train_commands.train)
app.command("evaluate", epilog=evaluate_commands.EVALUATE_EPILOG)(evaluate_commands.evaluate)
app.command("compare", epilog=evaluate_commands.COMPARE_EPILOG)(evaluate_commands.compare)
app.command("export", epilog=export_commands.EPILOG)(export_commands.export)
app.command("tensorboard", epilog=tensorboard_commands.EPILOG)(tensorboard_commands.tensorboard)
app.command("predict", epilog=predict_commands.EPILOG)(predict_commands.predict)
app.command("serve", epilog=serve_commands.EPILOG)(serve_commands.serve)
app.command("transfer", epilog=transfer_commands.EPILOG)(transfer_commands.transfer)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script and of `python -m charrec`."""
    try:
        app(args=argv, prog_name="charrec")
    except CharrecError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        Console(stderr=True).print("interrupted")
        sys.exit(130)
