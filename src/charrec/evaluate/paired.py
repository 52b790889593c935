"""Cross-validated scores: mean ± std, and paired differences with t-intervals.

Two candidates scored on the same folds give paired differences d_i. The plain interval
is mean(d) ± t · sd(d)/√n. Folds share most of their training images, so the d_i are
not independent and that interval is too narrow; the corrected one (Nadeau & Bengio,
"Inference for the Generalization Error", 2003) widens the variance to
(1/n + n_test/n_train) · sd(d)², the usual correction for (repeated) k-fold CV.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class PairedDifference:
    mean: float
    std: float
    n: int
    low: float
    high: float
    p_value: float
    # The interval and p-value with the Nadeau–Bengio variance correction.
    corrected_low: float
    corrected_high: float
    corrected_p_value: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        """Points, with the corrected interval: "+1.20 [-0.35, +2.75]"."""
        return (
            f"{100 * self.mean:+.2f} [{100 * self.corrected_low:+.2f}, "
            f"{100 * self.corrected_high:+.2f}]"
        )

    @property
    def significant(self) -> bool:
        """The corrected interval excludes zero."""
        return self.corrected_low > 0 or self.corrected_high < 0


@dataclass(frozen=True)
class Score:
    mean: float
    std: float  # sample standard deviation over folds (ddof=1); 0 for one fold
    n: int

    def __str__(self) -> str:
        return f"{100 * self.mean:.2f} ± {100 * self.std:.2f}%"


def score(values: Sequence[float]) -> Score:
    array = np.asarray(values, dtype=np.float64)
    std = float(array.std(ddof=1)) if len(array) > 1 else 0.0
    return Score(float(array.mean()), std, len(array))


def _interval(mean: float, se: float, n: int, confidence: float) -> tuple[float, float, float]:
    from scipy import stats

    if n < 2 or se == 0:
        same = 1.0 if mean == 0 else 0.0
        return mean, mean, same
    t = float(stats.t.ppf(0.5 + confidence / 2, n - 1))
    p = float(2 * stats.t.sf(abs(mean / se), n - 1))
    return mean - t * se, mean + t * se, p


def paired_difference(
    a: Sequence[float],
    b: Sequence[float],
    test_fraction: float,
    confidence: float = 0.95,
) -> PairedDifference:
    """Mean of a − b over paired folds, with plain and corrected t-intervals.

    `test_fraction` is n_test / n (1/k for k-fold): the correction uses n_test/n_train.
    """
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if d.shape != (len(a),) or len(a) != len(b):
        raise ValueError("paired scores must have the same length")
    n = len(d)
    mean = float(d.mean()) if n else math.nan
    std = float(d.std(ddof=1)) if n > 1 else 0.0
    low, high, p = _interval(mean, std / math.sqrt(max(n, 1)), n, confidence)
    ratio = test_fraction / (1 - test_fraction)
    corrected_se = std * math.sqrt(1 / max(n, 1) + ratio)
    c_low, c_high, c_p = _interval(mean, corrected_se, n, confidence)
    return PairedDifference(mean, std, n, low, high, p, c_low, c_high, c_p)
