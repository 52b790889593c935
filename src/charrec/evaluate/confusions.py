"""Which classes get mixed up: the most confused pairs, look-alikes and case-only errors.

A pair's count is symmetric: images of a shown as b plus images of b shown as a. A pair
is a known look-alike when its letters, case ignored, are in `LOOK_ALIKES` (shapes that
handwriting makes ambiguous even for people); in a task that keeps cases apart (EMNIST
ByClass's 62 classes), an error between the two cases of one letter (c vs C) is
"case-only", and many of them are unavoidable from the image alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

# Handwritten shapes that are easy to mistake, case ignored.
LOOK_ALIKES: frozenset[frozenset[str]] = frozenset(
    frozenset(pair.split("/"))
    for pair in (
        *("g/q", "g/9", "q/9", "a/q", "a/d", "a/o", "i/l", "i/j", "i/1", "l/1", "j/1", "t/1"),
        *("t/f", "u/v", "v/y", "u/n", "h/n", "n/r", "o/0", "d/o", "o/q", "o/c", "c/e", "e/f"),
        *("s/5", "z/2", "b/6", "b/8", "b/h", "k/x", "y/4", "4/9", "1/7", "3/5", "5/6", "7/9"),
        *("y/9", "h/k", "p/d"),
    )
)


def is_case_pair(a: str, b: str) -> bool:
    """The two cases of one letter: 'c' and 'C'."""
    return a != b and a.isalpha() and a.lower() == b.lower()


def is_look_alike(a: str, b: str) -> bool:
    return frozenset((a.lower(), b.lower())) in LOOK_ALIKES


def confused_pairs(
    matrix: np.ndarray,
    classes: Sequence[str],
    top: int | None = 10,
    columns: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Pairs of classes by symmetric confusion count, largest first (ties: class order).

    `matrix` is K×C, rows the K data classes, columns the data classes and then any model
    classes outside them (`columns` names all C); an outside class has no row, so its
    pair counts only the images shown as it (a ByClass model's 'O' shown as '0').
    """
    matrix = np.asarray(matrix)
    k = len(classes)
    # Unnamed extra columns are the collapsed "other" column of compute_metrics.
    names = list(columns) if columns is not None else list(classes)
    names += ["other"] * (matrix.shape[1] - len(names))
    square = matrix[:, :k]
    symmetric = np.triu(square + square.T, k=1)
    # (count, row, column, a shown as b, b shown as a)
    entries = [
        (int(symmetric[i, j]), int(i), int(j), int(square[i, j]), int(square[j, i]))
        for i, j in zip(*np.nonzero(symmetric), strict=True)
    ]
    outside = matrix[:, k:]
    entries += [
        (int(outside[i, j]), int(i), int(k + j), int(outside[i, j]), 0)
        for i, j in zip(*np.nonzero(outside), strict=True)
    ]
    entries.sort(key=lambda e: (-e[0], e[1], e[2]))
    return [
        {
            "pair": [names[i], names[j]],
            "count": count,
            "a_as_b": a_as_b,
            "b_as_a": b_as_a,
            "look_alike": is_look_alike(names[i], names[j]),
            "case_only": is_case_pair(names[i], names[j]),
        }
        for count, i, j, a_as_b, b_as_a in entries[slice(top)]
    ]


def has_both_cases(classes: Sequence[str]) -> bool:
    names = set(classes)
    return any(c.isalpha() and c.swapcase() in names and c != c.swapcase() for c in names)


def confusion_analysis(
    matrix: np.ndarray,
    classes: Sequence[str],
    top: int = 10,
    columns: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Top confused pairs; for letter tasks also look-alike and case-only error counts.

    `matrix` is the confusion matrix, rows the true classes, columns the predicted ones:
    the same classes, then any model classes outside them, named by `columns` (each such
    prediction is an error, paired with its true class).
    """
    classes = list(classes)
    matrix = np.asarray(matrix)
    k = len(classes)
    errors = int(matrix.sum() - np.trace(matrix[:, :k]))
    every = confused_pairs(matrix, classes, top=None, columns=columns)
    result: dict[str, Any] = {"errors": errors, "top_confused_pairs": every[:top]}
    if not any(c.isalpha() for c in classes):
        return result
    look_alike = sum(p["count"] for p in every if p["look_alike"])
    result["look_alike_errors"] = look_alike
    result["look_alike_share"] = look_alike / errors if errors else 0.0
    result["look_alike_pairs"] = [p for p in every if p["look_alike"]][:top]
    if has_both_cases(classes):
        case_pairs = [p for p in every if p["case_only"]]
        case_only = sum(p["count"] for p in case_pairs)
        result["case_only_errors"] = case_only
        result["case_only_share"] = case_only / errors if errors else 0.0
        result["case_only_pairs"] = case_pairs[:top]
        total = int(matrix.sum())
        result["accuracy_ignoring_case"] = (total - errors + case_only) / total if total else 0.0
    return result
