"""`charrec predict`: recognise the character in each of your images, thin over the Recognizer.

Files, folders (searched recursively for images) and `-` (one image on stdin) are
collected in order and predicted in batches. A file that cannot be read, or holds no
character, is reported on stderr (and as a row with an `error` in --json/--csv) while the
rest are still predicted; the exit code is 2 if any failed.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
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

  One photo, with the shipped letters model (the default):

    charrec predict photo.jpg

  Every image in a folder and its sub-folders, five guesses each, with the
  shipped digits model; or with a model you trained (a run folder):

    charrec predict scans/ --model digits --top 5
    charrec predict scans/ --model runs/vgg-letters

  Machine-readable: one JSON document (a list, a row per image), or CSV:

    charrec predict scans/ --json > answers.json
    charrec predict a.png b.png --csv

  A model that keeps upper and lower case apart (the shipped alphanumeric, or
  one trained with recipes/letters-case.yaml) also answers the letter, its two
  cases' probabilities summed, and the case with its share of that probability
  (JSON "merged"; CSV columns letter and case):

    charrec predict note.png --model alphanumeric
    charrec predict note.png --model runs/letters-case

  A little more accurate on people's writing, at nine times the model's work:
  each picture's probabilities averaged over it and eight altered copies
  (moved a pixel, turned 6°, scaled 92% and 108%):

    charrec predict note.png --tta affine

  An image piped in; what the model saw, saved next to each input as
  <name>.seen.png (its 28×28 input enlarged 10 times), to see why:

    curl -s https://example.org/letter.png | charrec predict -
    charrec predict letter.png --explain

  Folders are searched for .png .jpg .jpeg .bmp .tif .tiff .webp .gif .pbm
  .pgm .ppm files (not hidden ones, nor the .seen.png files of --explain);
  files named on the command line are read whatever their extension.

[bold]Exit codes[/]

  0  every image was recognised.
  2  a bad option or model, or at least one image could not be read or held
     no character: each is reported on stderr, and the others are still
     predicted and printed (in --json/--csv as rows with an "error").
"""

# What a folder is searched for (lower-case suffixes).
IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".bmp", ".tif", ".tiff", ".webp", ".gif"}
    | {".pbm", ".pgm", ".ppm", ".pnm"}
)
# The images --explain writes next to the inputs; never inputs themselves.
SEEN_SUFFIX = ".seen.png"
# Images preprocessed and sent through the model together.
BATCH = 256
# ONNX Runtime gives the same answers as PyTorch (within 1e-4, checked at export) and,
# with its export cached, needs no torch import: an answer in well under a second.
DEFAULT_BACKEND = "onnx"
STDIN = "-"


def _is_image_file(path: Path) -> bool:
    return (
        path.suffix.lower() in IMAGE_SUFFIXES
        and not path.name.lower().endswith(SEEN_SUFFIX)
        and not path.name.startswith(".")
    )


def _images_in(folder: Path) -> list[Path]:
    """Image files under a folder, recursively, in sorted order, hidden folders skipped."""
    found = []
    for path in sorted(folder.rglob("*")):
        hidden = any(part.startswith(".") for part in path.relative_to(folder).parts[:-1])
        if not hidden and path.is_file() and _is_image_file(path):
            found.append(path)
    return found


def collect_sources(arguments: list[str]) -> Iterator[tuple[str, Any]]:
    """(name, source) for each image named on the command line, folders expanded.

    A problem found before reading (an empty folder, nothing on stdin) comes as
    (name, ImageError), to be reported like an unreadable file.
    """
    from charrec.infer.imageio import ImageError

    for argument in arguments:
        if argument == STDIN:
            stream = getattr(sys.stdin, "buffer", None)
            if stream is None or stream.isatty():
                message = "nothing piped in; pipe an image, e.g. charrec predict - < a.png"
                yield "<stdin>", ImageError(f"<stdin>: {message}")
                continue
            data = io.BytesIO(stream.read())
            data.name = "<stdin>"  # how messages and rows name it
            yield "<stdin>", data
            continue
        path = Path(argument)
        if path.is_dir():
            images = _images_in(path)
            if not images:
                yield argument, ImageError(f"{argument}: no image files in this folder")
            yield from ((str(image), image) for image in images)
        else:
            yield argument, path


def _rows(results: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    """One JSON-ready dict per image: the prediction, or the source and its error."""
    rows = []
    for name, result in results:
        if isinstance(result, Exception):
            rows.append({"source": name, "error": str(result)})
        else:
            rows.append({**result.to_dict(), "error": None})
    return rows


# The CSV columns of a case-aware model's answer (Prediction.merged), after the guesses.
CASE_COLUMNS = ["letter", "letter_probability", "case", "case_probability"]


def _case_cells(merged: Any) -> list[str]:
    """The CASE_COLUMNS cells: the letter with its cases summed, and its case."""
    if merged is None:
        return [""] * len(CASE_COLUMNS)
    share = "" if merged.case_probability is None else f"{merged.case_probability:.6g}"
    return [merged.label, f"{merged.probability:.6g}", merged.case or "", share]


def _write_csv(results: list[tuple[str, Any]], top_k: int, case: bool) -> None:
    header = ["source", "label", "probability"]
    for rank in range(2, top_k + 1):
        header += [f"label_{rank}", f"probability_{rank}"]
    if case:
        header += CASE_COLUMNS
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow([*header, "error"])
    for name, result in results:
        if isinstance(result, Exception):
            writer.writerow([name, *[""] * (len(header) - 1), str(result)])
            continue
        cells = [name]
        for label, probability in result.top:
            cells += [label, f"{probability:.6g}"]
        if case:
            cells += _case_cells(result.merged)
        writer.writerow([*cells, ""])


def _print_table(results: list[tuple[str, Any]], model: str, top_k: int, case: bool) -> None:
    table = Table(title=f"model: {escape(model)}", title_justify="left")
    table.add_column("image", overflow="fold")
    table.add_column("answer", justify="center", style="bold")
    table.add_column("probability", justify="right")
    if case:
        # The letter with both cases' probabilities summed, and the case it reads.
        table.add_column("letter", justify="right")
        table.add_column("case", justify="right")
    if top_k > 1:
        table.add_column("next guesses")
    for name, result in results:
        if isinstance(result, Exception):
            continue
        row = [escape(name), escape(result.label), f"{100 * result.probability:.1f}%"]
        if case:
            merged = result.merged
            row.append(f"{escape(merged.label)} {100 * merged.probability:.1f}%")
            share = merged.case_probability
            row.append("—" if merged.case is None else f"{merged.case} {100 * share:.1f}%")
        if top_k > 1:
            row.append(", ".join(f"{escape(label)} {100 * p:.1f}%" for label, p in result.top[1:]))
        table.add_row(*row)
    Console().print(table)


def predict(
    sources: ImageSourcesArgument,
    model: RecognizerModelOption = "letters",
    top: Annotated[int, typer.Option("--top", "-k", help="How many guesses per image.")] = 3,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON list, a row per image.")
    ] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV, a row per image.")] = False,
    explain: Annotated[
        bool,
        typer.Option("--explain", help="Save the 28×28 image the model saw next to each input."),
    ] = False,
    backend: Annotated[
        str,
        typer.Option(
            "--backend", help="onnx (ONNX Runtime, the fast start) or torch.", show_default=True
        ),
    ] = DEFAULT_BACKEND,
    tta: RecognizerTtaOption = None,
) -> None:
    """Recognise the handwritten character in each image: the answer and its probability."""
    if as_json and as_csv:
        raise ConfigError("choose one of --json and --csv")
    if sources.count(STDIN) > 1:
        raise ConfigError("stdin (-) holds one image; name it once")
    if explain and STDIN in sources:
        raise ConfigError("--explain saves next to each input file, and stdin (-) is not a file")
    # Imported here: preprocessing needs SciPy and the model a runtime; --help needs neither.
    from charrec.infer.recognizer import load, model_classes

    # Checked before loading, which may export the model to ONNX first.
    classes = model_classes(model)
    if classes is not None and not 1 <= top <= len(classes):
        raise ConfigError(f"--top must lie in 1..{len(classes)}, got {top}")
    recognizer = load(model, backend=backend, tta=tta)
    if not 1 <= top <= len(recognizer.classes):
        raise ConfigError(f"--top must lie in 1..{len(recognizer.classes)}, got {top}")
    top_k = top
    errors = Console(stderr=True)
    results: list[tuple[str, Any]] = []
    batch: list[tuple[str, Any]] = []

    def flush() -> None:
        outcomes = recognizer.predict_many(
            [source for _, source in batch], top_k, errors="collect", explain=explain
        )
        results.extend((name, o) for (name, _), o in zip(batch, outcomes, strict=True))
        batch.clear()

    for name, source in collect_sources(sources):
        if isinstance(source, Exception):
            results.append((name, source))
            continue
        batch.append((name, source))
        if len(batch) == BATCH:
            flush()
    if batch:
        flush()

    case = recognizer.case_reading is not None
    failed = [result for _, result in results if isinstance(result, Exception)]
    for error in failed:
        errors.print(f"[bold red]error:[/] {escape(str(error))}", soft_wrap=True)
    if as_json:
        print(json.dumps(_rows(results), indent=2))
    elif as_csv:
        _write_csv(results, top_k, case)
    elif len(failed) < len(results):
        _print_table(results, recognizer.name, top_k, case)
    if explain and len(failed) < len(results):
        errors.print("saved what the model saw next to each image as <name>.seen.png")
    if failed:
        errors.print(f"{len(failed)} of {len(results)} images failed", soft_wrap=True)
        raise typer.Exit(2)
