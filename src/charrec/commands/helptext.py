"""How every command's help reads: paragraphs that wrap at the terminal's width, flags
without a type tag.

Help paragraphs are written wrapped in the source; typer keeps those line breaks, so at
80 columns each long source line would wrap again and leave a fragment behind it. Here
each prose paragraph becomes one line that the terminal wraps once; examples and lists
stay as written and are kept short enough for 80 columns (tests/test_cli_help.py
checks). A flag takes no value, so its `<bool>` type tag is left out.
"""

from __future__ import annotations

import inspect
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

# The help text column at 80 columns: rich pads each side by one.
WIDTH = 78


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def reflow(text: str | None) -> str | None:
    """Join the lines of each prose paragraph; keep examples and lists line by line.

    Prose is a paragraph whose lines share one indentation that is shallower than the
    deepest one in the text (examples sit deepest: prose at 0 with examples at 2, or
    prose at 2 with examples at 4); a paragraph of mixed indentation (a list with hanging
    lines, a command continued over lines) is kept as written.
    """
    if not text:
        return text
    paragraphs = [p.splitlines() for p in inspect.cleandoc(text).split("\n\n")]
    uniform = [{_indent(line) for line in lines} for lines in paragraphs]
    levels = {next(iter(indents)) for indents in uniform if len(indents) == 1}
    deepest = max(levels) if len(levels) > 1 else None
    out = []
    for lines, indents in zip(paragraphs, uniform, strict=True):
        level = next(iter(indents)) if len(indents) == 1 else None
        if level is None or level == deepest:
            out.append("\n".join(lines))
        else:
            out.append(" ".join(line.strip() for line in lines))
    return "\n\n".join(out)


class _Tidy:
    """Reflowed help and epilog; no type tag on flags (the --help flag included)."""

    help: str | None
    epilog: str | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = reflow(self.help)
        self.epilog = reflow(self.epilog)

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            if getattr(param, "is_bool_flag", False):
                param.metavar = ""
        return params


class Command(_Tidy, TyperCommand):
    """A sub-command with tidy help."""


class Group(_Tidy, TyperGroup):
    """A group of sub-commands with tidy help."""


def use_tidy_help(app: typer.Typer) -> None:
    """Give every command and group under `app` the tidy help classes."""
    app.info.cls = Group
    for command in app.registered_commands:
        if command.cls in (None, TyperCommand):
            command.cls = Command
    for group in app.registered_groups:
        if group.cls in (None, TyperGroup) or not isinstance(group.cls, type):
            group.cls = Group
        if group.typer_instance is not None:
            use_tidy_help(group.typer_instance)
