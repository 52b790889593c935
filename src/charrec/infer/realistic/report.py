"""The realistic set's results for people: a summary dict, report.json, report.md, and a
figure of mistakes (each picture as drawn next to the 28×28 image the model saw)."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from charrec.evaluate.report import Figure, Report, Table, Text, write_report
from charrec.fileio import atomic_open, atomic_path, write_json
from charrec.infer.realistic.evaluation import RealisticResult
from charrec.infer.realistic.scene import CONDITIONS

# Mistakes shown in the figure, at most.
MISTAKES_SHOWN = 48
# Side of each half of a cell of the mistakes figure, in pixels.
CELL = 56


def _rounded(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 4)


def command_line(result: RealisticResult) -> str:
    """The command that draws and scores the same set again."""
    tta = f" --tta {result.tta}" if result.tta else ""
    return (
        f"charrec bench realistic --model {result.model} --per-class {result.per_class} "
        f"--seed {result.seed}{tta}"
    )


def summary(result: RealisticResult) -> dict[str, Any]:
    """Everything report.json holds: the set, the accuracies, the tables."""
    from charrec import __version__

    def rows(key: str) -> list[dict[str, Any]]:
        return [
            {k: _rounded(v) if isinstance(v, float) else v for k, v in row.items()}
            for row in result.table(key)
        ]

    data: dict[str, Any] = {
        "model": result.model,
        "classes": result.classes,
        "date": dt.date.today().isoformat(),
        "charrec_version": __version__,
        "command": command_line(result),
        "seed": result.seed,
        "per_class": result.per_class,
        "tta": result.tta,
        "images": len(result.outcomes),
        "fonts": [font.name for font in result.fonts],
        "conditions": {name: CONDITIONS[name] for name in result.conditions},
        "accuracy": _rounded(result.accuracy()),
    }
    if result.case_insensitive:
        data["accuracy_case_insensitive"] = _rounded(result.accuracy_ignoring_case())
    data["blank"] = sum(o.predicted == "(blank)" for o in result.outcomes)
    data["by_condition"] = rows("condition")
    data["by_font"] = rows("font")
    data["worst_classes"] = [
        {k: _rounded(v) if isinstance(v, float) else v for k, v in row.items()}
        for row in result.worst_classes()
    ]
    data["confusions"] = result.confusions()
    data["seconds"] = {
        "render": round(result.render_seconds, 2),
        "predict": round(result.predict_seconds, 2),
    }
    return data


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def _table(rows: list[dict[str, Any]], key: str, case: bool) -> Table:
    header = [key, "images", "accuracy", *(["case ignored"] if case else []), "blank"]
    header.append("mistaken for")
    body = []
    for row in rows:
        line: list[object] = [row[key], row["images"], _percent(row["accuracy"])]
        if case:
            line.append(_percent(row["case_insensitive"]))
        line += [row["blank"], row["mistaken_for"]]
        body.append(line)
    numeric = (1, 2, 3, 4) if case else (1, 2, 3)
    return Table(header, body, numeric=numeric)


def build_report(data: dict[str, Any], figure: Path | None) -> Report:
    case = "accuracy_case_insensitive" in data
    report = Report(f"Realistic pictures: {data['model']}")
    overall = f"Accuracy {_percent(data['accuracy'])} on {data['images']} pictures"
    if case:
        overall += f" ({_percent(data['accuracy_case_insensitive'])} with case ignored)"
    overall += (
        f"; {data['blank']} pictures in which no character was found. "
        f"Drawn with seed {data['seed']}, {data['per_class']} per class, in "
        f"{len(data['fonts'])} handwriting fonts, on {data['date']} by charrec "
        f"{data['charrec_version']}. Rerun: `{data['command']}`."
    )
    report.section("Summary", Text(overall))
    conditions = Table(
        ["condition", "what it adds"], [[k, v] for k, v in data["conditions"].items()]
    )
    report.section("Per condition", _table(data["by_condition"], "condition", case), conditions)
    report.section("Per font", _table(data["by_font"], "font", case))
    report.section("Worst classes", _table(data["worst_classes"], "label", case))
    report.section(
        "Most frequent mistakes",
        Table(
            ["drawn", "predicted", "count"],
            [[c["drawn"], c["predicted"], c["count"]] for c in data["confusions"]],
            numeric=(2,),
        ),
    )
    if figure is not None:
        report.section(
            "Mistakes",
            Figure(figure, "Each mistake: the picture as drawn (left) and what the model saw"),
        )
    return report


def _fit(gray: np.ndarray, side: int) -> np.ndarray:
    """A gray picture fitted into side×side, inverted (figures show ink dark on white)."""
    image = Image.fromarray(gray)
    image.thumbnail((side, side), Image.Resampling.BOX)
    cell = np.zeros((side, side), dtype=np.uint8)
    h, w = image.height, image.width
    top, left = (side - h) // 2, (side - w) // 2
    cell[top : top + h, left : left + w] = 255 - np.asarray(image)
    return cell


def mistakes_figure(result: RealisticResult, path: Path) -> Path | None:
    """A grid of mistakes: the drawn picture beside the 28×28 seen image; None if none."""
    from charrec.evaluate.figures import image_grid

    mistakes = result.mistakes()
    if not mistakes:
        return None
    # Spread over the whole set, not only the first conditions.
    step = max(1, len(mistakes) // MISTAKES_SHOWN)
    chosen = mistakes[::step][:MISTAKES_SHOWN]
    cells, titles = [], []
    for outcome in chosen:
        picture = outcome.sample.image()
        gray = picture if picture.ndim == 2 else np.asarray(Image.fromarray(picture).convert("L"))
        seen = outcome.seen if outcome.seen is not None else np.zeros((28, 28), np.uint8)
        seen = np.kron(seen, np.ones((CELL // 28, CELL // 28), dtype=np.uint8))
        gap = np.zeros((CELL, 4), dtype=np.uint8)
        cells.append(np.concatenate([_fit(gray, CELL), gap, seen], axis=1))
        shown = outcome.predicted
        titles.append(
            f"{outcome.sample.char} → {shown}\n{outcome.sample.condition}\n{outcome.sample.font}"
        )
    image_grid(
        np.stack(cells),
        titles,
        path,
        columns=8,
        title_colors=["#c62828"] * len(cells),
        suptitle=f"{result.model}: {len(mistakes)} mistakes of {len(result.outcomes)}",
    )
    return path


def write_realistic_report(
    result: RealisticResult, folder: str | Path, *, save_images: bool = False
) -> dict[str, Path]:
    """Write report.json, report.md (+ .html), mistakes.png and items.jsonl into `folder`.

    With `save_images`, every picture is also written to `folder/images/` under its name,
    with a labels.csv listing each one's class: a folder `charrec evaluate --data` reads.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = summary(result)
    paths: dict[str, Path] = {"json": folder / "report.json"}
    write_json(paths["json"], data)
    figure = mistakes_figure(result, folder / "mistakes.png")
    if figure is not None:
        paths["figure"] = figure
    paths.update(write_report(build_report(data, figure), folder))
    paths["items"] = folder / "items.jsonl"
    with atomic_open(paths["items"]) as handle:
        for outcome in result.outcomes:
            handle.write(json.dumps(outcome.to_dict()) + "\n")
    if save_images:
        images = folder / "images"
        for outcome in result.outcomes:
            with atomic_path(images / outcome.sample.name) as tmp:
                tmp.write_bytes(outcome.sample.data)
        with atomic_open(images / "labels.csv") as handle:
            handle.write("path,label\n")
            for outcome in result.outcomes:
                handle.write(f"{outcome.sample.name},{outcome.sample.label}\n")
        paths["images"] = images
    return paths
