"""Calibration: does a model's confidence match how often it is right?

The confidence of a prediction is its top probability. Predictions are put into
`n_bins` equal-width bins of confidence, bin m holding confidences in ((m-1)/M, m/M]
(Guo et al., "On Calibration of Modern Neural Networks", 2017). The expected calibration
error is the gap between accuracy and mean confidence per bin, weighted by the share of
predictions in the bin:

    ECE = sum_m (n_m / N) · |accuracy_m − confidence_m|
"""

from __future__ import annotations

from typing import Any

import numpy as np

N_BINS = 15


def bin_index(confidences: np.ndarray, n_bins: int = N_BINS) -> np.ndarray:
    """Bin of each confidence: ceil(c·M) − 1, so 1/M falls in bin 0 and 1.0 in bin M−1."""
    index = np.ceil(np.asarray(confidences, dtype=np.float64) * n_bins).astype(np.int64) - 1
    return np.clip(index, 0, n_bins - 1)


def reliability(
    confidences: np.ndarray, correct: np.ndarray, n_bins: int = N_BINS
) -> dict[str, Any]:
    """Per-bin counts, accuracy and mean confidence (None for empty bins), and the ECE."""
    confidences = np.asarray(confidences, dtype=np.float64)
    correct = np.asarray(correct, dtype=bool)
    index = bin_index(confidences, n_bins)
    counts = np.bincount(index, minlength=n_bins)
    hits = np.bincount(index, weights=correct, minlength=n_bins)
    conf_sum = np.bincount(index, weights=confidences, minlength=n_bins)
    filled = counts > 0
    accuracy = np.divide(hits, counts, out=np.zeros(n_bins), where=filled)
    confidence = np.divide(conf_sum, counts, out=np.zeros(n_bins), where=filled)
    total = max(int(counts.sum()), 1)
    ece = float(np.sum(counts / total * np.abs(accuracy - confidence)))
    return {
        "n_bins": n_bins,
        "edges": np.linspace(0.0, 1.0, n_bins + 1).tolist(),
        "counts": counts.tolist(),
        "accuracy": [float(a) if f else None for a, f in zip(accuracy, filled, strict=True)],
        "confidence": [float(c) if f else None for c, f in zip(confidence, filled, strict=True)],
        "ece": ece,
        # Overconfident models have mean confidence above accuracy.
        "mean_confidence": float(confidences.mean()) if len(confidences) else 0.0,
    }


def expected_calibration_error(
    probs: np.ndarray,
    labels: np.ndarray,
    n_bins: int = N_BINS,
    weights: np.ndarray | None = None,
) -> float:
    """ECE of class probabilities N×K against integer labels.

    `weights` counts each image that many times (e.g. a validation split scored as if its
    classes were equally common): sum over bins of |Σ w·(correct − confidence)| / Σ w.
    """
    probs = np.asarray(probs)
    correct = probs.argmax(axis=1) == np.asarray(labels)
    if weights is None:
        return reliability(probs.max(axis=1), correct, n_bins)["ece"]
    weights = np.asarray(weights, dtype=np.float64)
    confidence = probs.max(axis=1).astype(np.float64)
    index = bin_index(confidence, n_bins)
    gap = np.bincount(index, weights=weights * (correct - confidence), minlength=n_bins)
    return float(np.abs(gap).sum() / weights.sum())
