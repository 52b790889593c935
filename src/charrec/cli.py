"""The `charrec` command: sub-commands assembled from `charrec.commands`, one error policy.

User errors (`CharrecError`) print one line and exit with code 2; bugs keep their traceback.
The command modules import only typer and rich at the top; torch, NumPy, matplotlib, ONNX
Runtime and the web stack are imported inside the commands that use them, so that
`charrec --help` and every `--help` answer at once (`charrec bench startup` measures it).
A run of one sub-command imports and builds only that sub-command.
"""

from __future__ import annotations

import importlib
import sys
from typing import Annotated, Optional

import typer

from charrec import __version__
from charrec.commands.helptext import use_tidy_help
from charrec.errors import CharrecError

HELP = "Handwritten character recognition with neural networks."

# name: (module, attribute, epilog attribute). A group's attribute is its typer app; a
# command's is its function. In the order `charrec --help` lists them.
COMMANDS: dict[str, tuple[str, str, str | None]] = {
    "data": ("charrec.commands.data", "app", None),
    "bench": ("charrec.commands.bench", "app", None),
    "study": ("charrec.commands.study", "app", None),
    "coursework": ("charrec.commands.coursework", "coursework", "EPILOG"),
    "train": ("charrec.commands.train", "train", "EPILOG"),
    "evaluate": ("charrec.commands.evaluate", "evaluate", "EVALUATE_EPILOG"),
    "compare": ("charrec.commands.evaluate", "compare", "COMPARE_EPILOG"),
    "ensemble": ("charrec.commands.ensemble", "ensemble", "EPILOG"),
    "calibrate": ("charrec.commands.calibrate", "calibrate", "EPILOG"),
    "export": ("charrec.commands.export", "export", "EPILOG"),
    "tensorboard": ("charrec.commands.tensorboard", "tensorboard", "EPILOG"),
    "predict": ("charrec.commands.predict", "predict", "EPILOG"),
    "read": ("charrec.commands.read", "read", "EPILOG"),
    "serve": ("charrec.commands.serve", "serve", "EPILOG"),
    "transfer": ("charrec.commands.transfer", "transfer", "EPILOG"),
}


def _print_version(value: bool) -> None:
    if value:
        print(f"charrec {__version__}")
        raise typer.Exit()


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


def build_app(names: list[str] | None = None) -> typer.Typer:
    """The `charrec` app with the sub-commands `names` (None: every one)."""
    app = typer.Typer(
        name="charrec",
        help=HELP,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    app.callback()(_options)
    for name, (module_name, attribute, epilog) in COMMANDS.items():
        if names is not None and name not in names:
            continue
        module = importlib.import_module(module_name)
        if epilog is None:
            app.add_typer(getattr(module, attribute), name=name)
        else:
            app.command(name, epilog=getattr(module, epilog))(getattr(module, attribute))
    use_tidy_help(app)
    return app


def _needed(args: list[str]) -> list[str] | None:
    """The sub-commands a command line needs built: the one it names, none for --version
    alone, every one otherwise (the overview, or a misspelt name to suggest against)."""
    words = [a for a in args if not a.startswith("-")]
    if words:
        return [words[0]] if words[0] in COMMANDS else None
    if "--version" in args and "--help" not in args:
        return []
    return None


def __getattr__(name: str) -> typer.Typer:
    # `charrec.cli.app`: the whole command line, for tests and tools that inspect it.
    if name == "app":
        return build_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script and of `python -m charrec`."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        build_app(_needed(args))(args=args, prog_name="charrec")
    except CharrecError as exc:
        from rich.console import Console
        from rich.markup import escape

        Console(stderr=True).print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
