"""Running one `charrec` command in the test process: its exit code, stdout and stderr."""

from __future__ import annotations

import contextlib
import io

import pytest

from charrec.cli import main


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Exit code (0 when the command returns without SystemExit), stdout and stderr."""
    code = 0
    try:
        main(args)
    except SystemExit as exc:
        code = exc.code or 0
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def cli(args: list[str]) -> tuple[int, str, str]:
    """The same without pytest's capture: stdout and stderr redirected while it runs."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(args)
            code = 0
        except SystemExit as exc:
            code = exc.code or 0
    return code, out.getvalue(), err.getvalue()
