"""Case-aware answers: a model that keeps 'a' and 'A' apart, read as the letter and its case.

    merged, names = merge_case_probabilities(probs, classes)   # N×K → N×M, cases summed
    reading = CaseReading.of(classes)                            # None: the model has no case
    answer = reading.answer(probs[0])                            # letter, its probability,
                                                                 # case and the case's share

A letter's probability is the sum of its two cases' probabilities, so a 52-class model
answers the same question as a case-merged 26-class one (EMNIST Letters' 'A' covers 'A'
and 'a'); the case's probability is the share of the letter's probability its case holds.
Merged letters are named by their capital, as the case-merged data sets name them; other
classes (a 62-class model's digits) keep their own names. NumPy only: no torch here, so
the ONNX path of `charrec predict` stays light.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from charrec.errors import ConfigError

Case = Literal["upper", "lower"]


def _has_both_cases(name: str, present: set[str]) -> bool:
    return len(name) == 1 and name.isalpha() and name.swapcase() in present


def case_merged_names(classes: Sequence[str]) -> tuple[tuple[str, ...], np.ndarray]:
    """(merged class names, column of each class): letters whose two cases are both classes
    go to one column named by the capital; every other class keeps its own column."""
    present = set(classes)
    names: list[str] = []
    position: dict[str, int] = {}
    column = np.empty(len(classes), dtype=np.int64)
    for i, name in enumerate(classes):
        merged = name.upper() if _has_both_cases(name, present) else name
        if merged not in position:
            position[merged] = len(names)
            names.append(merged)
        column[i] = position[merged]
    return tuple(names), column


def merge_case_probabilities(
    probs: np.ndarray, classes: Sequence[str]
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Probabilities over `classes` (K, or N×K) → over the case-merged classes, each letter's
    two cases summed; returns (merged probabilities, merged class names)."""
    probs = np.asarray(probs)
    if probs.shape[-1] != len(classes):
        raise ConfigError(
            f"probabilities have {probs.shape[-1]} columns for {len(classes)} classes"
        )
    names, column = case_merged_names(classes)
    return _sum_columns(probs, column, len(names)), names


def _sum_columns(probs: np.ndarray, column: np.ndarray, width: int) -> np.ndarray:
    """Each class's probability added into its merged column."""
    merged = np.zeros((*probs.shape[:-1], width), dtype=probs.dtype)
    np.add.at(merged, (..., column), probs)
    return merged


@dataclass(frozen=True)
class CaseAnswer:
    """The letter a case-aware model sees, with both cases counted, and the case it reads."""

    # The case-merged answer ('A' for 'A' or 'a'; a class without two cases as it is) and
    # its probability (the sum of its cases').
    label: str
    probability: float
    # "upper" or "lower", and the share of `probability` that case holds (0.5..1); None
    # when the answer is not a letter with both cases among the model's classes.
    case: Case | None
    case_probability: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "probability": self.probability,
            "case": self.case,
            "case_probability": self.case_probability,
        }


@dataclass(frozen=True)
class CaseReading:
    """How to read a model's probabilities case-merged; build it with `CaseReading.of`."""

    names: tuple[str, ...]
    column: np.ndarray
    # For each merged column: the class index of its capital and of its small letter (-1
    # when the column is not a letter with both cases).
    upper: np.ndarray
    lower: np.ndarray

    @classmethod
    def of(cls, classes: Sequence[str]) -> CaseReading | None:
        """The reading of a model with these classes; None when no letter has both cases
        among them (a case-merged or digits model has no case to tell)."""
        names, column = case_merged_names(classes)
        if len(names) == len(classes):
            return None
        present = set(classes)
        upper = np.full(len(names), -1, dtype=np.int64)
        lower = np.full(len(names), -1, dtype=np.int64)
        for i, name in enumerate(classes):
            if _has_both_cases(name, present):
                (upper if name.isupper() else lower)[column[i]] = i
        return cls(names, column, upper, lower)

    def merge(self, probs: np.ndarray) -> np.ndarray:
        """Probabilities over the model's classes (K or N×K) → over `names`, cases summed."""
        return _sum_columns(np.asarray(probs), self.column, len(self.names))

    def answer(self, probs: np.ndarray) -> CaseAnswer:
        """The case-merged answer to one image's probabilities (K floats)."""
        merged = self.merge(probs)
        best = int(np.argmax(merged))  # ties: the first column, as argsort's stable order
        total = float(merged[best])
        upper, lower = int(self.upper[best]), int(self.lower[best])
        if upper < 0:
            return CaseAnswer(self.names[best], total, None, None)
        p_upper, p_lower = float(probs[upper]), float(probs[lower])
        case: Case = "upper" if p_upper >= p_lower else "lower"
        both = p_upper + p_lower
        share = max(p_upper, p_lower) / both if both > 0 else 0.5
        return CaseAnswer(self.names[best], total, case, share)
