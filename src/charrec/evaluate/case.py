"""Case accuracy of a case-aware model: when it reads the letter right, is the case right?

The model answers as `charrec.infer.case` makes it answer: the letter whose two cases'
probabilities sum highest, and the more probable of its two cases. Among the images whose
letter it reads right, the case accuracy is the share whose case it reads right too,
counted for the letters whose cases look alike (c o s u v w x z ...: `CASE_LOOK_ALIKE`,
which a lone character often cannot tell apart) and for the letters whose cases differ in
shape (a/A, b/B ...), and for each letter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from charrec.data.classes import CASE_LOOK_ALIKE
from charrec.errors import DataError
from charrec.infer.case import CaseReading

LOOK_ALIKE_GROUP = "cases look alike"
DIFFERENT_GROUP = "cases differ"


@dataclass(frozen=True)
class CaseScore:
    """One group of letters (or one letter): images of it, letters read right, cases right."""

    name: str
    letters: str
    images: int
    letter_right: int
    case_right: int

    @property
    def case_accuracy(self) -> float | None:
        return self.case_right / self.letter_right if self.letter_right else None

    @property
    def letter_accuracy(self) -> float | None:
        return self.letter_right / self.images if self.images else None

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "letter_accuracy": self.letter_accuracy,
            "case_accuracy": self.case_accuracy,
        }


@dataclass(frozen=True)
class CaseAccuracy:
    """Case accuracy by group (look-alike cases, different cases) and by letter."""

    groups: list[CaseScore]
    letters: list[CaseScore]

    def to_dict(self) -> dict[str, Any]:
        return {
            "groups": [g.to_dict() for g in self.groups],
            "letters": [s.to_dict() for s in self.letters],
        }


def case_accuracy(probs: np.ndarray, labels: np.ndarray, classes: Sequence[str]) -> CaseAccuracy:
    """Case accuracy of probabilities N×K over `classes` (which must hold both cases of
    the letters), for true labels indexing `classes`. Images of a class without two
    cases (a digit) are left out."""
    reading = CaseReading.of(classes)
    if reading is None:
        raise DataError(
            f"no letter has both cases among the classes {''.join(classes)!r}: "
            "case accuracy needs a model and data that keep upper and lower case apart"
        )
    probs, labels = np.asarray(probs), np.asarray(labels)
    truth = reading.column[labels]
    cased = reading.upper[truth] >= 0
    probs, labels, truth = probs[cased], labels[cased], truth[cased]
    letter = reading.merge(probs).argmax(axis=1)
    rows = np.arange(len(labels))
    # The case answered: that of the read letter's more probable case (upper on a tie).
    # A read class without two cases (a digit) indexes -1 here, but its letter is wrong.
    upper_said = probs[rows, reading.upper[letter]] >= probs[rows, reading.lower[letter]]
    is_upper = np.array([c.isupper() for c in classes])[labels]
    letter_right = letter == truth
    case_right = letter_right & (upper_said == is_upper)
    names = np.array(reading.names)[truth]

    def score(name: str, members: Sequence[str]) -> CaseScore:
        chosen = np.isin(names, list(members))
        return CaseScore(
            name,
            "".join(members),
            int(chosen.sum()),
            int(letter_right[chosen].sum()),
            int(case_right[chosen].sum()),
        )

    present = [n for i, n in enumerate(reading.names) if reading.upper[i] >= 0]
    alike = [n for n in present if n in CASE_LOOK_ALIKE]
    differ = [n for n in present if n not in CASE_LOOK_ALIKE]
    return CaseAccuracy(
        [score(LOOK_ALIKE_GROUP, alike), score(DIFFERENT_GROUP, differ)],
        [score(letter, [letter]) for letter in present],
    )
