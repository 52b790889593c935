"""Classification metrics from class probabilities, computed with scikit-learn.

`probs` is N×C: the first K columns are the data set's classes, in order; any further
columns are model classes outside the data's classes (a ByClass model's digits on a
letters test set). A prediction in such a column is always an error: it lowers the
recall of the true class and appears in the confusion matrix's "other" column.

Macro averages are over the classes that have images in the evaluated split (its
"support"), so a class the split does not contain (letters-dev's test holds only A..S)
neither lowers nor raises the average. Per-class values of a class without images are
None, except the precision of a class that was predicted anyway (then 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support, top_k_accuracy_score

from charrec.errors import DataError
from charrec.evaluate.calibration import N_BINS, reliability

TOP_K = (3, 5)
OTHER = "other"


def _check(probs: np.ndarray, labels: np.ndarray, classes: Sequence[str]) -> None:
    if probs.ndim != 2 or len(probs) != len(labels):
        raise DataError(f"probabilities {probs.shape} do not match {len(labels)} labels")
    if probs.shape[1] < len(classes):
        raise DataError(f"{probs.shape[1]} probability columns for {len(classes)} classes")
    if len(labels) == 0:
        raise DataError("nothing to evaluate: no images")
    if labels.min() < 0 or labels.max() >= len(classes):
        raise DataError(f"labels run {labels.min()}..{labels.max()}, outside the classes")


def _value(x: float, defined: bool) -> float | None:
    return float(x) if defined else None


def compute_metrics(
    probs: np.ndarray,
    labels: np.ndarray,
    classes: Sequence[str],
    top_k: Sequence[int] = TOP_K,
    n_bins: int = N_BINS,
) -> dict[str, Any]:
    """Accuracy, top-k, precision/recall/F1 (macro, weighted, per class), confusion, ECE."""
    probs, labels = np.asarray(probs, dtype=np.float64), np.asarray(labels, dtype=np.int64)
    classes = list(classes)
    _check(probs, labels, classes)
    k, columns = len(classes), probs.shape[1]
    preds = probs.argmax(axis=1)
    correct = preds == labels
    support = np.bincount(labels, minlength=k)
    present = np.flatnonzero(support)
    predicted = np.bincount(preds, minlength=columns)[:k]

    per_p, per_r, per_f, _ = precision_recall_fscore_support(
        labels, preds, labels=np.arange(k), average=None, zero_division=0
    )
    averages = {}
    for average in ("macro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(
            labels, preds, labels=present, average=average, zero_division=0
        )
        averages[average] = {"precision": float(p), "recall": float(r), "f1": float(f)}
    per_class = {
        name: {
            "precision": _value(per_p[i], support[i] > 0 or predicted[i] > 0),
            "recall": _value(per_r[i], support[i] > 0),
            "f1": _value(per_f[i], support[i] > 0),
            "support": int(support[i]),
        }
        for i, name in enumerate(classes)
    }

    # Rows: true data classes; columns: data classes, then all outside columns as one.
    full = confusion_matrix(labels, preds, labels=np.arange(columns))[:k]
    matrix = full[:, :k]
    outside = int(full[:, k:].sum())
    if columns > k:
        matrix = np.concatenate([matrix, full[:, k:].sum(axis=1, keepdims=True)], axis=1)

    topk = {}
    for kk in top_k:
        # Top-k is trivially 1 when k reaches the number of choices.
        score = (
            top_k_accuracy_score(labels, probs, k=kk, labels=np.arange(columns))
            if kk < columns
            else None
        )
        topk[f"top_{kk}_accuracy"] = None if score is None else float(score)

    calibration = reliability(probs.max(axis=1), correct, n_bins)
    return {
        "images": len(labels),
        "accuracy": float(correct.mean()),
        **topk,
        "errors": int((~correct).sum()),
        "macro": averages["macro"],
        "weighted": averages["weighted"],
        "ece": calibration["ece"],
        "classes": classes,
        "classes_evaluated": len(present),
        "outside_predictions": outside,
        "per_class": per_class,
        "confusion_matrix": matrix.tolist(),
        "confusion_columns": classes + ([OTHER] if columns > k else []),
        "calibration": calibration,
    }
