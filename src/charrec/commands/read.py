"""`charrec read`: read the line of handprinted characters in each image (a word, a code,
a form field), thin over `Recognizer.read`.

Files, folders (searched recursively) and `-` (stdin) as `charrec predict` takes them. An
image that cannot be read, holds no character or too many is reported on stderr (and as
a row with an `error` in --json) while the rest are still read; the exit code is 2 if any
failed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from charrec.commands.options import (
    ImageSourcesArgument,
    RecognizerModelOption,
    RecognizerTtaOption,
)
from charrec.errors import ConfigError

EPILOG = """\
[bold]Examples[/]

  A handprinted word or name, with the shipped letters model:

    charrec read name.jpg

  A postcode in boxes, with the digits model and what it must look like;
  a field with a few allowed answers (a list, or a file of one per line):

    charrec read zip.png --model digits --pattern '\\d{5}'
    charrec read city.png --words PARIS,LONDON,ROME
    charrec read city.png --words cities.txt

  A model that keeps upper and lower case apart (alphanumeric) gives each
  letter's case with its probability (JSON "merged", as predict's):

    charrec read code.png --model alphanumeric --json

  Machine-readable, and a picture of what was found (boxes, order, each
  28×28 input) saved next to each input as <name>.read.png:

    charrec read scans/ --json > lines.json
    charrec read code.png --model alphanumeric --explain

[bold]Exit codes[/]

  0  every image was read.
  2  a bad option or model, or an image that could not be read, held no
     character or more than --max-chars: each is reported on stderr, and
     the others are still read and printed.
"""

# The pictures --explain writes next to the inputs; never inputs themselves.
EXPLAIN_SUFFIX = ".read.png"


def _constraint(pattern: str | None, words: str | None) -> Any:
    """The constraint the options ask for, or None."""
    from charrec.infer.constrain import Pattern, WordList

    if pattern is not None and words is not None:
        raise ConfigError("choose one of --pattern and --words")
    if pattern is not None:
        return Pattern(pattern)
    if words is None:
        return None
    path = Path(words)
    if path.is_file():
        try:
            return WordList(path.read_text(encoding="utf-8").splitlines())
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"--words {words}: cannot read the word list ({exc})") from None
    return WordList(words.split(","))


def _print_table(readings: list[Any], model: str, constrained: bool) -> None:
    table = Table(title=f"model: {escape(model)}", title_justify="left")
    table.add_column("image", overflow="fold")
    table.add_column("read", style="bold")
    if constrained:
        table.add_column("constrained", style="bold")
    table.add_column("confidence", justify="right")
    cased = any(c.merged is not None for r in readings for c in r.characters)
    what = "answer, confidence, case" if cased else "answer, confidence"
    table.add_column(f"characters ({what})", overflow="fold")
    for reading in readings:
        row = [escape(reading.source), escape(reading.text)]
        if constrained:
            row.append(escape(reading.constrained) if reading.constrained else "(nothing fits)")
        row.append(f"{100 * reading.confidence:.1f}%")
        row.append(" ".join(_character(c) for c in reading.characters))
        table.add_row(*row)
    Console().print(table)


def _character(character: Any) -> str:
    """ "a 91%", and for a case-aware model the case of its letter: "a 91% lower 97%"."""
    text = f"{escape(character.label)} {100 * character.confidence:.0f}%"
    merged = character.merged
    if merged is not None and merged.case is not None:
        text += f" {merged.case} {100 * merged.case_probability:.0f}%"
    return text


def read(
    sources: ImageSourcesArgument,
    model: RecognizerModelOption = "letters",
    top: Annotated[int, typer.Option("--top", "-k", help="Guesses kept per character.")] = 3,
    pattern: Annotated[
        str | None,
        typer.Option("--pattern", help="A regular expression the line must match, e.g. \\d{5}."),
    ] = None,
    words: Annotated[
        str | None,
        typer.Option("--words", help="Allowed answers: A,B,C or a file with one per line."),
    ] = None,
    max_chars: Annotated[
        int, typer.Option("--max-chars", help="Refuse a line with more characters than this.")
    ] = 64,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON list, a row per image.")
    ] = False,
    explain: Annotated[
        bool,
        typer.Option("--explain", help="Save boxes, order and 28×28 inputs as <name>.read.png."),
    ] = False,
    backend: Annotated[
        str, typer.Option("--backend", help="onnx (ONNX Runtime, the fast start) or torch.")
    ] = "onnx",
    tta: RecognizerTtaOption = None,
) -> None:
    """Read the line of handprinted characters in each image: a word, a code, a field."""
    from charrec.commands.predict import SEEN_SUFFIX, STDIN, collect_sources

    if sources.count(STDIN) > 1:
        raise ConfigError("stdin (-) holds one image; name it once")
    if explain and STDIN in sources:
        raise ConfigError("--explain saves next to each input file, and stdin (-) is not a file")
    if max_chars < 1:
        raise ConfigError(f"--max-chars must be at least 1, got {max_chars}")
    constraint = _constraint(pattern, words)
    # Imported here: preprocessing needs SciPy and the model a runtime; --help needs neither.
    from charrec.infer.imageio import ImageError
    from charrec.infer.recognizer import load, model_classes

    classes = model_classes(model)
    if classes is not None and not 1 <= top <= len(classes):
        raise ConfigError(f"--top must lie in 1..{len(classes)}, got {top}")
    recognizer = load(model, backend=backend, tta=tta)
    errors = Console(stderr=True)
    rows: list[dict[str, Any]] = []
    readings = []
    failed = 0
    for name, source in collect_sources(sources):
        # What --explain of `read` or `predict` wrote earlier is never read as a line.
        if str(name).lower().endswith((EXPLAIN_SUFFIX, SEEN_SUFFIX)):
            continue
        try:
            if isinstance(source, Exception):
                raise source
            reading = recognizer.read(source, top, constraint=constraint, max_chars=max_chars)
            if explain:
                from charrec.infer.read_explain import explain_reading

                path = Path(name)
                saved = explain_reading(reading, path.with_name(path.stem + EXPLAIN_SUFFIX))
        except ImageError as exc:
            failed += 1
            errors.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
            rows.append({"source": name, "error": str(exc)})
            continue
        except OSError as exc:
            failed += 1
            message = f"{name}: cannot save the explanation next to it ({exc.strerror or exc})"
            errors.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
            rows.append({"source": name, "error": message})
            continue
        readings.append(reading)
        row = {**reading.to_dict(), "error": None}
        if explain:
            row["explained"] = str(saved)
        rows.append(row)
    if as_json:
        print(json.dumps(rows, indent=2))
    elif readings:
        _print_table(readings, recognizer.name, constraint is not None)
    if explain and readings:
        errors.print(f"saved what was found next to each image as <name>{EXPLAIN_SUFFIX}")
    if failed:
        errors.print(f"{failed} of {len(rows)} images failed", soft_wrap=True)
        raise typer.Exit(2)
