"""Scores over cross-validation folds: mean ± std, and paired differences with a t interval.

Candidates scored on the same folds are paired: fold k of one and fold k of another saw
the same training and validation images, so the fold-by-fold differences cancel the
folds' own difficulty and give a much tighter interval than comparing the two means.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Score:
    mean: float
    std: float  # sample standard deviation over folds (ddof=1); 0 for one fold
    n: int

    def __str__(self) -> str:
        return f"{100 * self.mean:.2f} ± {100 * self.std:.2f}%"


@dataclass(frozen=True)
class PairedDifference:
    mean: float
    low: float
    high: float
    n: int
    confidence: float

    def __str__(self) -> str:
        return f"{100 * self.mean:+.2f} [{100 * self.low:+.2f}, {100 * self.high:+.2f}]"

    @property
    def significant(self) -> bool:
        """The interval excludes zero."""
        return self.low > 0 or self.high < 0


def score(values: Sequence[float]) -> Score:
    array = np.asarray(values, dtype=np.float64)
    std = float(array.std(ddof=1)) if len(array) > 1 else 0.0
    return Score(float(array.mean()), std, len(array))


def paired_difference(
    candidate: Sequence[float], reference: Sequence[float], confidence: float = 0.95
) -> PairedDifference:
    """Mean of candidate - reference over the same folds, with Student's t interval."""
    from scipy import stats

    diff = np.asarray(candidate, dtype=np.float64) - np.asarray(reference, dtype=np.float64)
    n, mean = len(diff), float(diff.mean())
    if n < 2:
        return PairedDifference(mean, -math.inf, math.inf, n, confidence)
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * diff.std(ddof=1) / math.sqrt(n))
    return PairedDifference(mean, mean - half, mean + half, n, confidence)
