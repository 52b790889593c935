"""Evaluating a model on a data set with other classes: match the classes by name.

Each model class goes to the data class of the same name. A letter the data does not
keep apart by case goes to its other case: data sets name a case-merged class by its
capital (EMNIST Letters' 'A' covers 'A' and 'a'), so a ByClass model's 'a' and 'A' both
count for the data's 'A', their probabilities summed. This is
`charrec.data.labelmaps.merge_case` applied to the predictions. The same rule reads a
data set of capitals only (Binary AlphaDigits) leniently: 'c' for a C is right.

Model classes with no data class (a ByClass model's digits on letters) keep their own
columns after the data's classes: predicting one is an error. A data class with images
but no model class is a mismatch: such a model cannot be evaluated on that data, except
the other case of a letter the model merges: data that keeps 'a' and 'A' apart is scored
with the two merged for a model of case-merged letters (`merge_data_case`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from charrec.data.imageset import ImageSet
from charrec.data.labelmaps import by_names
from charrec.errors import DataError


def _names(classes: Sequence[str]) -> str:
    """'ABC' for one-character names, 'cat, dog' otherwise."""
    return "".join(classes) if all(len(c) == 1 for c in classes) else ", ".join(classes)


@dataclass(frozen=True)
class LabelSpace:
    """How model classes map onto data classes; `column[m]` is model class m's column."""

    model_classes: tuple[str, ...]
    data_classes: tuple[str, ...]
    column: np.ndarray
    # Model classes outside the data's classes, in the order of their columns.
    outside: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return self.data_classes + self.outside

    @property
    def identity(self) -> bool:
        return self.model_classes == self.data_classes

    def merged(self) -> dict[str, list[str]]:
        """Data classes that take more than one model class, or one of another name."""
        sources: dict[str, list[str]] = {}
        for m, c in zip(self.model_classes, self.column, strict=True):
            if c < len(self.data_classes):
                sources.setdefault(self.data_classes[c], []).append(m)
        return {d: ms for d, ms in sources.items() if ms != [d]}

    def apply(self, probs: np.ndarray) -> np.ndarray:
        """Model probabilities N×M → N×(K + outside), summing the classes that merge."""
        if self.identity:
            return probs
        # A 0/1 matrix M×C: one matrix product sums each group.
        onehot = np.zeros((len(self.model_classes), len(self.columns)), dtype=probs.dtype)
        onehot[np.arange(len(self.model_classes)), self.column] = 1
        return probs @ onehot

    def describe(self) -> str:
        """One line for people: how the model's classes were matched."""
        if self.identity:
            return "model and data have the same classes"
        parts = []
        merged = self.merged()
        if merged:
            shown = ", ".join(f"{d}={'+'.join(ms)}" for d, ms in list(merged.items())[:6])
            more = f" and {len(merged) - 6} more" if len(merged) > 6 else ""
            parts.append(f"probabilities summed for {shown}{more}")
        if self.outside:
            parts.append(
                f"predictions of the model's classes {_names(self.outside)!r} "
                "(not in the data) count as errors"
            )
        return "; ".join(parts) or "classes matched by name"


def match_classes(
    model_classes: Sequence[str],
    data_classes: Sequence[str],
    support: np.ndarray | None = None,
    data_name: str = "the data",
) -> LabelSpace:
    """Match model classes to data classes by name (see the module docstring).

    `support` (images per data class) limits the check to classes the data holds images
    of; a data class with images that no model class predicts is a DataError.
    """
    model_classes, data_classes = tuple(model_classes), tuple(data_classes)
    names = set(data_classes)
    mapping = {}
    for m in model_classes:
        if m in names:
            mapping[m] = m
        elif m.isalpha() and m.swapcase() in names:
            # The data keeps one case of this letter: it stands for both.
            mapping[m] = m.swapcase()
    table = by_names(model_classes, mapping, data_classes).table
    if not (table >= 0).any():
        raise DataError(
            f"the model's classes {_names(model_classes)!r} share no class with "
            f"{data_name}'s {_names(data_classes)!r}"
        )
    reached = np.zeros(len(data_classes), dtype=bool)
    reached[table[table >= 0]] = True
    needed = np.ones(len(data_classes), dtype=bool) if support is None else np.asarray(support) > 0
    missing = [d for d, r, n in zip(data_classes, reached, needed, strict=True) if n and not r]
    if missing:
        raise DataError(
            f"{data_name} has images of classes the model cannot predict: {_names(missing)!r} "
            f"(model classes {_names(model_classes)!r}); evaluate on a data set within the "
            "model's classes"
        )
    outside = tuple(m for m, t in zip(model_classes, table, strict=True) if t < 0)
    column = table.copy()
    column[table < 0] = len(data_classes) + np.arange(len(outside))
    return LabelSpace(model_classes, data_classes, column, outside)


def merge_data_case(dataset: ImageSet, model_classes: Sequence[str]) -> ImageSet:
    """`dataset` with each letter's two cases merged into its capital where the data keeps
    them apart and the model does not (people's letters, case kept, scored by a model of
    case-merged letters: case ignored, as EMNIST Letters counts it); else as it is."""
    model, data = set(model_classes), dataset.classes
    merged = {
        name: name.upper()
        for name in data
        if name.isalpha()
        and name.islower()
        and name.upper() in data
        and name.upper() in model
        and name not in model
    }
    if not merged:
        return dataset
    kept = tuple(name for name in data if name not in merged)
    return by_names(data, {name: merged.get(name, name) for name in data}, kept).apply(dataset)
