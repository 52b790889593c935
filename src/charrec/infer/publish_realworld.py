"""A model card's real-handwriting rows: the model on each real set from outside NIST
whose classes it holds (charrec.data.realworld_sets), scored on that set's test split.

EMNIST's test split says how a model does on NIST's writers and scanning; these rows say
how it does on people's own writing: tablets (UNIPEN's test writers, whom no shipped
model learnt from) and paper scans (Semeion, optdigits), each framed as `charrec predict`
frames a user's picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from charrec.data.classes import DIGITS, EMNIST_CLASSES, UPPER
from charrec.errors import DataError

# Set: the classes a model must hold (by name, either case) to be scored on it.
NEEDS = {
    "unipen": EMNIST_CLASSES["byclass"],
    "unipen-letters": UPPER,
    "unipen-digits": DIGITS,
    "semeion": DIGITS,
    "optdigits": DIGITS,
}


def sets_for(classes: Sequence[str]) -> list[str]:
    """The real sets a model with these classes is scored on."""
    held = {name.upper() for name in classes} | set(classes)
    return [name for name, needs in NEEDS.items() if set(needs) <= held]


def real_handwriting(
    folder: Path, classes: Sequence[str], data_dir: str | Path | None
) -> list[dict[str, Any]]:
    """One row per real set: its test images, accuracy (and ignoring case where it counts).

    A set missing from the data folder is left out (its row would have no number)."""
    from charrec.evaluate import evaluate_run
    from charrec.infer.publish import card_metrics

    rows = []
    for name in sets_for(classes):
        try:
            result = evaluate_run(folder, data=name, split="test", data_dir=data_dir, write=False)
        except DataError:
            continue
        metrics = card_metrics(result.metrics)
        row = {
            "data": f"{name}:test",
            "images": int(result.metrics["images"]),
            "accuracy": float(metrics["accuracy"]),
            "top_confused_pairs": metrics["top_confused_pairs"][:3],
        }
        if "accuracy_ignoring_case" in metrics:
            row["accuracy_ignoring_case"] = float(metrics["accuracy_ignoring_case"])
        rows.append(row)
    return rows


def real_handwriting_markdown(rows: Sequence[dict[str, Any]]) -> list[str]:
    from charrec.infer.publish import percent

    if not rows:
        return []
    lines = [
        "## Real handwriting from outside NIST",
        "",
        "Each picture framed by `charrec predict`'s preprocessing in EMNIST's frame; "
        "UNIPEN's test writers are writers this model never saw "
        "(`charrec evaluate MODEL --data SET`).",
        "",
        "| data | images | accuracy | ignoring case | most confused |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        pairs = ", ".join(f"{a}/{b} ({n})" for (a, b), n in _pairs(row))
        ignoring = percent(row.get("accuracy_ignoring_case"))
        lines.append(
            f"| {row['data']} | {row['images']:,} | {percent(row['accuracy'])} | {ignoring} | "
            f"{pairs} |"
        )
    return [*lines, ""]


def _pairs(row: dict[str, Any]) -> list[tuple[tuple[str, str], int]]:
    return [(tuple(p["pair"]), int(p["count"])) for p in row["top_confused_pairs"]]
