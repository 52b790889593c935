"""Metrics against a tiny case computed by hand, and the rules for absent and outside classes."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import precision_recall_fscore_support

from charrec.errors import DataError
from charrec.evaluate.metrics import compute_metrics

# Three classes, six images. Predictions (argmax): 0, 1, 1, 0, 2, 1.
LABELS = np.array([0, 0, 1, 1, 2, 2])
PROBS = np.array(
    [
        [0.70, 0.20, 0.10],  # true 0, right, confidence .70
        [0.30, 0.62, 0.08],  # true 0, wrong, .62
        [0.10, 0.85, 0.05],  # true 1, right, .85
        [0.55, 0.10, 0.35],  # true 1, wrong, .55; not even in the top 2
        [0.20, 0.10, 0.70],  # true 2, right, .70
        [0.10, 0.58, 0.32],  # true 2, wrong, .58; second guess right
    ]
)


def test_hand_computed_three_class_case() -> None:
    m = compute_metrics(PROBS, LABELS, ["a", "b", "c"], top_k=(2, 3))
    assert m["accuracy"] == pytest.approx(3 / 6)
    assert m["errors"] == 3
    # Top-2 misses only image 3; top-3 of 3 classes is trivially 1, so not reported.
    assert m["top_2_accuracy"] == pytest.approx(5 / 6)
    assert m["top_3_accuracy"] is None
    # a: predicted twice, right once, 2 images -> P 1/2, R 1/2, F1 1/2.
    # b: predicted three times, right once -> P 1/3, R 1/2, F1 2·(1/6)/(5/6) = 2/5.
    # c: predicted once, right -> P 1, R 1/2, F1 2·(1/2)/(3/2) = 2/3.
    expected = {"a": (1 / 2, 1 / 2, 1 / 2), "b": (1 / 3, 1 / 2, 2 / 5), "c": (1.0, 1 / 2, 2 / 3)}
    for name, (p, r, f) in expected.items():
        got = m["per_class"][name]
        assert (got["precision"], got["recall"], got["f1"]) == pytest.approx((p, r, f))
        assert got["support"] == 2
    assert m["macro"]["precision"] == pytest.approx((1 / 2 + 1 / 3 + 1) / 3)
    assert m["macro"]["recall"] == pytest.approx(1 / 2)
    assert m["macro"]["f1"] == pytest.approx((1 / 2 + 2 / 5 + 2 / 3) / 3)
    assert m["confusion_matrix"] == [[1, 1, 0], [1, 1, 0], [0, 1, 1]]
    # ECE, 15 bins of width 1/15: bin 8 holds .55 and .58 (both wrong), bin 9 .62 (wrong),
    # bin 10 the two .70 (right), bin 12 .85 (right):
    # (2·|0 − .565| + 1·|0 − .62| + 2·|1 − .70| + 1·|1 − .85|) / 6 = 2.5 / 6.
    assert m["ece"] == pytest.approx(2.5 / 6)
    assert m["calibration"]["counts"][8:13] == [2, 1, 2, 0, 1]


def test_absent_class_left_out_of_macro_average() -> None:
    # Class d has no images but is predicted once (image 5): its precision is 0, its
    # recall and F1 are undefined, and the macro average is over a, b, c.
    probs = np.zeros((6, 4))
    probs[:, :3] = PROBS
    probs[5] = [0.1, 0.1, 0.1, 0.7]
    m = compute_metrics(probs, LABELS, ["a", "b", "c", "d"])
    d = m["per_class"]["d"]
    assert d == {"precision": 0.0, "recall": None, "f1": None, "support": 0}
    preds = probs.argmax(axis=1)
    p, r, f, _ = precision_recall_fscore_support(LABELS, preds, labels=[0, 1, 2], average="macro")
    assert m["macro"] == pytest.approx({"precision": p, "recall": r, "f1": f})
    assert m["classes_evaluated"] == 3


def test_predictions_outside_the_data_classes_are_errors() -> None:
    # A fourth column: a model class the data does not have. Image 0 goes there.
    probs = np.hstack([PROBS, np.zeros((6, 1))])
    probs[0] = [0.1, 0.1, 0.1, 0.7]
    m = compute_metrics(probs, LABELS, ["a", "b", "c"])
    assert m["outside_predictions"] == 1
    assert m["accuracy"] == pytest.approx(2 / 6)
    assert m["confusion_columns"] == ["a", "b", "c", "other"]
    assert m["confusion_matrix"][0] == [0, 1, 0, 1]
    assert m["per_class"]["a"]["recall"] == pytest.approx(0.0)


def test_mismatched_inputs_are_data_errors() -> None:
    with pytest.raises(DataError, match="do not match"):
        compute_metrics(PROBS, LABELS[:4], ["a", "b", "c"])
    with pytest.raises(DataError, match="outside the classes"):
        compute_metrics(PROBS, LABELS + 1, ["a", "b", "c"])
