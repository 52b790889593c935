"""Evaluation: metrics, figures, reports, comparisons.

    from charrec.evaluate import evaluate_run, compare_runs
    result = evaluate_run("runs/convnet", data="letters-dev")   # writes the report too
    result.metrics["accuracy"], result.metrics["macro"]["f1"], result.files["html"]
    compute_metrics(probs, labels, classes)                      # on plain arrays
    compare_runs(["runs/mlp", "runs/cnn"]).rows()

Modules, one job each: metrics (scikit-learn scores), calibration (ECE, reliability),
confusions (confused pairs, look-alikes, case-only errors), labelspace (matching a
model's classes to a data set's), inference (batched, timed prediction), figures,
report (Markdown and self-contained HTML), evaluation (a run on a data set, written
out), compare (runs side by side).

Names are imported on first use, so `charrec.evaluate.figures` alone stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from charrec.evaluate.calibration import expected_calibration_error, reliability
    from charrec.evaluate.compare import Comparison, compare_runs, write_comparison
    from charrec.evaluate.confusions import confused_pairs, confusion_analysis
    from charrec.evaluate.evaluation import (
        EvaluationResult,
        evaluate_model,
        evaluate_run,
        write_evaluation,
    )
    from charrec.evaluate.labelspace import LabelSpace, match_classes
    from charrec.evaluate.metrics import compute_metrics

_EXPORTS = {
    "expected_calibration_error": "calibration",
    "reliability": "calibration",
    "Comparison": "compare",
    "compare_runs": "compare",
    "write_comparison": "compare",
    "confusion_analysis": "confusions",
    "confused_pairs": "confusions",
    "EvaluationResult": "evaluation",
    "evaluate_model": "evaluation",
    "evaluate_run": "evaluation",
    "write_evaluation": "evaluation",
    "LabelSpace": "labelspace",
    "match_classes": "labelspace",
    "compute_metrics": "metrics",
}

__all__ = [
    "Comparison",
    "EvaluationResult",
    "LabelSpace",
    "compare_runs",
    "compute_metrics",
    "confused_pairs",
    "confusion_analysis",
    "evaluate_model",
    "evaluate_run",
    "expected_calibration_error",
    "match_classes",
    "reliability",
    "write_comparison",
    "write_evaluation",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
