"""The command line answers at once: its import and every --help load no heavy library.

Times are measured by `charrec bench startup` (README, speed), never asserted here; these
tests check the cause instead: which modules a fresh process has imported.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from charrec.cli import app, main

HEAVY = ("torch", "onnxruntime", "matplotlib", "sklearn", "scipy", "fastapi", "numpy")

# Imports the CLI, renders the help of the commands given in argv, prints sys.modules.
_PROBE = """
import json, sys
from charrec.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def imported_by(*argv: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv], check=True, capture_output=True, text=True
    ).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def heavy(modules: set[str]) -> list[str]:
    return sorted(name for name in modules if name.split(".")[0] in HEAVY)


def _commands(group, prefix=()):
    for name, command in getattr(group, "commands", {}).items():
        yield (*prefix, name)
        yield from _commands(command, (*prefix, name))


def test_the_top_help_and_version_import_no_heavy_library() -> None:
    for argv in ((), ("--help",), ("--version",)):
        modules = imported_by(*argv)
        assert "charrec.cli" in modules
        assert heavy(modules) == [], argv


def test_every_sub_command_help_imports_no_heavy_library() -> None:
    import typer.main

    group = typer.main.get_command(app)
    words = list(_commands(group))
    assert ("train",) in words and ("data", "show") in words and ("bench", "startup") in words
    # One process renders every help page in turn (each a fresh process would be slow).
    probe = "\n".join(
        [
            "import json, sys",
            "from charrec.cli import main",
            f"for words in {words!r}:",
            "    try:",
            "        main([*words, '--help'])",
            "    except SystemExit:",
            "        pass",
            "print(json.dumps(sorted(sys.modules)))",
        ]
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    ).stdout
    assert heavy(set(json.loads(out.strip().splitlines()[-1]))) == []


def test_the_probe_sees_a_heavy_import() -> None:
    # The check can fail: a command that runs imports what it needs.
    modules = imported_by("data", "list")
    assert "numpy" in modules


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from charrec import __version__

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"charrec {__version__}"


def test_command_defaults_agree_with_the_libraries_they_repeat() -> None:
    import inspect

    from charrec.commands import bench_infer, data_fetch
    from charrec.data import download
    from charrec.infer import benchmark

    assert bench_infer.DEFAULT_BATCHES == benchmark.DEFAULT_BATCHES
    assert bench_infer.BACKENDS == benchmark.BACKENDS
    assert tuple(download.FETCHABLE) == data_fetch.FETCHABLE
    timeout = inspect.signature(data_fetch.fetch).parameters["timeout"].default
    assert timeout == download.DEFAULT_TIMEOUT


def _imports(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


def test_nothing_below_the_commands_imports_the_cli() -> None:
    source = Path(__file__).resolve().parents[1] / "src" / "charrec"
    offenders = {
        str(path.relative_to(source)): sorted(
            m for m in _imports(path) if m.startswith(("charrec.cli", "charrec.commands"))
        )
        for path in source.rglob("*.py")
        if path.parent.name != "commands" and path.name not in ("cli.py", "__main__.py")
    }
    assert {path: found for path, found in offenders.items() if found} == {}
    # The check can fail: the command layer itself imports them.
    assert any(m.startswith("charrec.commands") for m in _imports(source / "cli.py"))


def test_one_sub_command_imports_only_its_own_module() -> None:
    from charrec.cli import COMMANDS, _needed

    assert _needed(["train", "--epochs", "3"]) == ["train"]
    assert _needed(["--version"]) == [] and _needed([]) is None and _needed(["--help"]) is None
    assert _needed(["trian"]) is None  # every command, so that typer can suggest "train"
    modules = imported_by("train", "--help")
    assert "charrec.commands.train" in modules
    others = {module for module, _, _ in COMMANDS.values()} - {"charrec.commands.train"}
    assert sorted(others & modules) == []
    everything = imported_by("--help")
    assert others <= everything


def test_bench_startup_times_every_command() -> None:
    import typer.main

    from charrec.cli import COMMANDS, build_app
    from charrec.commands.bench_startup import _help_commands

    words = _help_commands(typer.main.get_command(build_app()))
    assert {w[0] for w in words} == set(COMMANDS)
    assert ("bench", "startup") in words and ("data", "show") in words
