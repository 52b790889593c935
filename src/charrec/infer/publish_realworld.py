"""A model card's real-handwriting rows: the model on each real set from outside NIST
whose classes it holds (charrec.data.realworld_sets), scored on that set's test split.

EMNIST's test split says how a model does on NIST's writers and scanning; these rows say
how it does on people's own writing: tablets (UNIPEN's test writers, whom no shipped
model learnt from) and paper scans (Semeion, optdigits), each framed as `charrec predict`
frames a user's picture.

The rows depend on that framing as much as on the weights: after a change to
`charrec.infer.preprocess`, `python -m charrec.infer.publish_realworld letters digits`
measures the named shipped models' rows again and rewrites their cards (nothing else on
them changes).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from charrec.data.classes import DIGITS, EMNIST_CLASSES, UPPER
from charrec.errors import CharrecError, DataError

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


def remeasure(folder: str | Path, data_dir: str | Path | None = None) -> list[dict[str, Any]]:
    """Measure a published model's real-handwriting rows again and rewrite its card
    (card.json and card.md); returns the rows."""
    from charrec.fileio import atomic_open, read_json, write_json
    from charrec.infer.publish import card_markdown

    folder = Path(folder)
    card_path = folder / "card.json"
    if not card_path.is_file():
        raise CharrecError(f"{folder}: no card.json; publish the model first")
    card = read_json(card_path)
    card["real_handwriting"] = real_handwriting(folder, card["classes"], data_dir)
    markdown = card_markdown(card)
    write_json(card_path, card)
    with atomic_open(folder / "card.md") as handle:
        handle.write(markdown)
    return card["real_handwriting"]


def main(argv: list[str] | None = None) -> int:
    from charrec.infer.pretrained import pretrained_dir
    from charrec.infer.publish import percent

    parser = argparse.ArgumentParser(
        prog="python -m charrec.infer.publish_realworld",
        description="Measure shipped models on real handwriting again and rewrite their cards.",
    )
    parser.add_argument("models", nargs="+", help="shipped models' names or published folders")
    parser.add_argument("--data-dir", default=None, help="data directory (default: $CHARREC_DATA)")
    args = parser.parse_args(argv)
    try:
        for model in args.models:
            folder = Path(model) if Path(model).is_dir() else pretrained_dir(model)
            rows = remeasure(folder, args.data_dir)
            scores = ", ".join(f"{row['data']} {percent(row['accuracy'])}" for row in rows)
            print(f"{model}: {scores or 'no real set holds its classes'}")
    except CharrecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
