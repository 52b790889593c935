"""Every command's help reads cleanly at 80 columns and describes every argument."""

from __future__ import annotations

import pytest
import typer.main
from typer.testing import CliRunner

from charrec.cli import app
from charrec.commands.helptext import WIDTH, reflow


def _walk(command, path=()):
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _walk(sub, (*path, name))


COMMANDS = list(_walk(typer.main.get_command(app)))
NAMES = [" ".join(path) or "charrec" for path, _ in COMMANDS]


def test_reflow_joins_prose_and_keeps_examples() -> None:
    text = "One long\nparagraph here.\n\n  charrec train \\\n    --data mnist\n"
    assert reflow(text) == "One long paragraph here.\n\n  charrec train \\\n    --data mnist"
    # Prose indented by 2 above examples indented by 4 (as cleandoc leaves them: 0 and 2);
    # a list with hanging lines stays as written.
    text = (
        "[b]Ex[/]\n\n  Two\n  lines:\n\n    charrec a\n    charrec b\n\n  0  ok\n  2  no,\n     see"
    )
    assert (
        reflow(text)
        == "[b]Ex[/]\n\nTwo lines:\n\n  charrec a\n  charrec b\n\n0  ok\n2  no,\n   see"
    )


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=NAMES)
def test_help_fits_80_columns_and_describes_every_parameter(path, command) -> None:
    for kind in ("help", "epilog"):
        for line in (getattr(command, kind) or "").splitlines():
            # Prose is one line per paragraph (the terminal wraps it); examples and lists
            # keep their lines, which must fit.
            if line.startswith(" ") or "\\" in line:
                assert len(line) <= WIDTH, f"{kind} line of {len(line)} characters: {line!r}"
        # An example joined into a prose paragraph reads as one long line of commands.
        for line in (getattr(command, kind) or "").splitlines():
            assert line.startswith(" ") or line.count("charrec ") < 2, line
    for param in command.params:
        assert getattr(param, "help", None), f"{param.name} of {' '.join(path)} has no help"


@pytest.mark.parametrize("path", [path for path, _ in COMMANDS], ids=NAMES)
def test_help_at_80_columns_shows_no_type_tag_on_flags(path) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80"}, terminal_width=80)
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80
