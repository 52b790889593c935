"""A recognizer on the realistic set: every picture through the same path users take.

The pictures are rendered as files (PNG or JPEG bytes) and given to
`Recognizer.predict_many`, so decoding, preprocessing and the model are all measured
together. A picture in which the preprocessing finds no character counts as a mistake
("blank"). Accuracy is tallied overall, per condition, per font and per class.

Which characters count as a class comes from the model's class names: a class named by
one case of a letter whose other case is not a class of its own (a case-merged "A")
counts both; a model that keeps both cases (EMNIST ByClass) is also scored with case
ignored, since a lone o and O, s and S, x and X look the same.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from charrec.errors import ConfigError
from charrec.infer.imageio import BlankImageError, ImageError
from charrec.infer.realistic.fonts import Font, handwriting_fonts
from charrec.infer.realistic.scene import CONDITIONS, Sample, plan, render

# Pictures rendered and predicted together: one forward pass each, memory bounded.
CHUNK = 64
BLANK = "(blank)"


def class_characters(classes: Sequence[str]) -> dict[str, list[str]]:
    """The characters that count as each class (both cases of a case-merged letter)."""
    names = set(classes)
    found: dict[str, list[str]] = {}
    for name in classes:
        if len(name) != 1 or not name.isalnum() or not name.isascii():
            raise ConfigError(
                f"the model's class {name!r} is not a single letter or digit; "
                "the realistic set draws characters 0-9, A-Z and a-z"
            )
        other = name.swapcase()
        found[name] = [name] if other == name or other in names else [name, other]
    return found


def keeps_case(classes: Sequence[str]) -> bool:
    """Whether some letter has a class for each of its cases (o and O apart)."""
    names = set(classes)
    return any(c.isalpha() and c.swapcase() != c and c.swapcase() in names for c in classes)


@dataclass
class Outcome:
    """What the recognizer made of one picture."""

    sample: Sample
    predicted: str  # a class name, or BLANK
    probability: float
    seen: np.ndarray | None  # the 28×28 image the model saw (None when blank)
    error: str | None = None

    @property
    def correct(self) -> bool:
        return self.predicted == self.sample.label

    @property
    def correct_ignoring_case(self) -> bool:
        return self.predicted.lower() == self.sample.label.lower()

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.sample.to_dict(),
            "predicted": self.predicted,
            "probability": round(self.probability, 4),
            "correct": self.correct,
            "error": self.error,
        }


@dataclass
class RealisticResult:
    """The outcomes of one run of the realistic set, with how it was made."""

    model: str
    classes: list[str]
    seed: int
    per_class: int
    fonts: list[Font]
    conditions: list[str]
    outcomes: list[Outcome] = field(default_factory=list)
    render_seconds: float = 0.0
    predict_seconds: float = 0.0
    # The recognizer's test-time augmentation policy, if any.
    tta: str | None = None

    @property
    def case_insensitive(self) -> bool:
        return keeps_case(self.classes)

    def accuracy(self, outcomes: Sequence[Outcome] | None = None) -> float:
        chosen = self.outcomes if outcomes is None else outcomes
        return float(np.mean([o.correct for o in chosen])) if chosen else float("nan")

    def accuracy_ignoring_case(self, outcomes: Sequence[Outcome] | None = None) -> float:
        chosen = self.outcomes if outcomes is None else outcomes
        return float(np.mean([o.correct_ignoring_case for o in chosen])) if chosen else float("nan")

    def groups(self, key: str) -> dict[str, list[Outcome]]:
        """Outcomes grouped by "condition", "font", "label" or "char", in first-seen order."""
        grouped: dict[str, list[Outcome]] = {}
        for outcome in self.outcomes:
            grouped.setdefault(str(getattr(outcome.sample, key)), []).append(outcome)
        return grouped

    def table(self, key: str) -> list[dict[str, Any]]:
        """One row per group: images, accuracy (and with case ignored), blanks."""
        rows = []
        for name, chosen in self.groups(key).items():
            row: dict[str, Any] = {
                key: name,
                "images": len(chosen),
                "accuracy": self.accuracy(chosen),
            }
            if self.case_insensitive:
                row["case_insensitive"] = self.accuracy_ignoring_case(chosen)
            row["blank"] = sum(o.predicted == BLANK for o in chosen)
            wrong = Counter(o.predicted for o in chosen if not o.correct)
            row["mistaken_for"] = ", ".join(f"{p} ({n})" for p, n in wrong.most_common(3))
            rows.append(row)
        return rows

    def worst_classes(self, count: int = 8) -> list[dict[str, Any]]:
        rows = self.table("label")
        return sorted(rows, key=lambda r: (r["accuracy"], r["label"]))[:count]

    def confusions(self, count: int = 10) -> list[dict[str, Any]]:
        """The most frequent (drawn, predicted) mistakes."""
        pairs = Counter((o.sample.char, o.predicted) for o in self.outcomes if not o.correct)
        return [
            {"drawn": drawn, "predicted": predicted, "count": n}
            for (drawn, predicted), n in pairs.most_common(count)
        ]

    def mistakes(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.correct]


def evaluate_realistic(
    recognizer: Any,
    *,
    per_class: int = 32,
    seed: int = 0,
    conditions: Sequence[str] | None = None,
    fonts: Sequence[Font] | None = None,
    progress: Any = None,
) -> RealisticResult:
    """Render the set for the recognizer's classes and predict every picture.

    `recognizer` is a `charrec.infer.recognizer.Recognizer`; `progress(done, total)` is
    called after each chunk when given.
    """
    fonts = handwriting_fonts() if fonts is None else list(fonts)
    conditions = list(CONDITIONS) if conditions is None else list(conditions)
    classes = list(recognizer.classes)
    specs = plan(class_characters(classes), per_class, seed, conditions, fonts)
    result = RealisticResult(recognizer.name, classes, seed, per_class, list(fonts), conditions)
    result.tta = getattr(recognizer, "tta", None)
    for first in range(0, len(specs), CHUNK):
        start = time.perf_counter()
        samples = [render(spec) for spec in specs[first : first + CHUNK]]
        middle = time.perf_counter()
        predictions = recognizer.predict_many([s.data for s in samples], 1, errors="collect")
        result.render_seconds += middle - start
        result.predict_seconds += time.perf_counter() - middle
        for sample, prediction in zip(samples, predictions, strict=True):
            result.outcomes.append(_outcome(sample, prediction))
        if progress is not None:
            progress(len(result.outcomes), len(specs))
    return result


def _outcome(sample: Sample, prediction: Any) -> Outcome:
    if isinstance(prediction, BlankImageError):
        return Outcome(sample, BLANK, 0.0, None, error=str(prediction))
    if isinstance(prediction, ImageError):
        # A picture we drew ourselves must decode: this is a bug, not a user error.
        raise RuntimeError(f"rendered picture {sample.name} could not be read: {prediction}")
    return Outcome(sample, prediction.label, prediction.probability, prediction.seen)
