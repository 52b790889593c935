"""The case-aware design measured: a model that keeps the cases apart against one that
merges them, on the same held-out images.

    result = compare_case("runs/letters-case", against="runs/letters")
    result.accuracy, result.against_accuracy, result.case.groups

1. Letter accuracy with case merged, on `data` (letters-dev's test by default): the
   case-aware model's two cases of each letter are summed (`charrec.evaluate` matches the
   classes by name), so both models answer the same 26-way question on the same images.
2. Case accuracy on `case_data` (letters-case-dev's test, held out from both models'
   training): among the images whose letter the case-aware model reads right, how often
   it reads the case right, for letters whose cases look alike and those whose cases
   differ (`charrec.evaluate.case`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from charrec.errors import DataError
from charrec.evaluate.case import CaseAccuracy, case_accuracy

DEFAULT_DATA = "letters-dev"
DEFAULT_CASE_DATA = "letters-case-dev"


@dataclass(frozen=True)
class CaseComparison:
    model: str
    against: str | None
    # Where the letters were scored ("letters-dev:test"), how many images, and the
    # letter accuracy (case merged) of each model.
    data: str
    images: int
    accuracy: float
    against_accuracy: float | None
    # Images only one of the two models reads right (None without `against`).
    only_model_right: int | None
    only_against_right: int | None
    # Where the case was scored ("letters-case-dev:test") and the scores.
    case_data: str
    case: CaseAccuracy

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "against": self.against,
            "data": self.data,
            "images": self.images,
            "accuracy": self.accuracy,
            "against_accuracy": self.against_accuracy,
            "only_model_right": self.only_model_right,
            "only_against_right": self.only_against_right,
            "case_data": self.case_data,
            "case": self.case.to_dict(),
        }


def compare_case(
    model: str | os.PathLike[str],
    against: str | os.PathLike[str] | None = None,
    *,
    data: str = DEFAULT_DATA,
    case_data: str = DEFAULT_CASE_DATA,
    data_dir: str | os.PathLike[str] | None = None,
    device: str = "auto",
) -> CaseComparison:
    """Measure the case-aware `model` (a run folder or shipped model name), and the
    case-merged `against` beside it, as the module docstring says. Writes nothing."""
    from charrec.evaluate.evaluation import evaluate_run
    from charrec.infer.case import CaseReading
    from charrec.infer.recognizer import model_classes, model_folder

    folder = model_folder(model)
    classes = model_classes(model)
    if classes is not None and CaseReading.of(classes) is None:
        raise DataError(
            f"model {model} keeps no letter's two cases apart (classes {''.join(classes)!r}): "
            "measure a case-aware model, e.g. one trained with recipes/letters-case.yaml"
        )
    letters = evaluate_run(folder, data, "test", data_dir, device=device, write=False)
    right = letters.predictions == letters.labels
    against_accuracy = only_model = only_against = None
    if against is not None:
        other = evaluate_run(
            model_folder(against), data, "test", data_dir, device=device, write=False
        )
        if not np.array_equal(other.labels, letters.labels):
            raise DataError(f"{data}: the two evaluations saw different images")
        other_right = other.predictions == other.labels
        against_accuracy = other.accuracy
        only_model = int((right & ~other_right).sum())
        only_against = int((other_right & ~right).sum())
    cased = evaluate_run(folder, case_data, "test", data_dir, device=device, write=False)
    scores = case_accuracy(cased.probs, cased.labels, cased.space.columns)
    return CaseComparison(
        model=str(model),
        against=None if against is None else str(against),
        data=letters.key,
        images=len(letters.labels),
        accuracy=letters.accuracy,
        against_accuracy=against_accuracy,
        only_model_right=only_model,
        only_against_right=only_against,
        case_data=cased.key,
        case=scores,
    )
