"""Case-aware answers on constructed probabilities: cases summed, the case's share, groups."""

from __future__ import annotations

import numpy as np
import pytest

from charrec.data.classes import CASE_LOOK_ALIKE, DIGITS, EMNIST_CLASSES, UPPER
from charrec.errors import ConfigError
from charrec.evaluate.case import case_accuracy
from charrec.infer.case import CaseReading, merge_case_probabilities


def test_merging_sums_each_letters_two_cases_and_keeps_the_other_classes():
    # 'c' has no capital among the classes: it stays a class of its own, named as it is.
    classes = ("0", "A", "B", "a", "b", "c")
    probs = np.array([0.05, 0.2, 0.1, 0.3, 0.05, 0.3])
    merged, names = merge_case_probabilities(probs, classes)
    assert names == ("0", "A", "B", "c")
    np.testing.assert_allclose(merged, [0.05, 0.5, 0.15, 0.3])
    # Rows of a batch are merged one by one; the total stays 1.
    batch, _ = merge_case_probabilities(np.stack([probs, probs[::-1]]), classes)
    np.testing.assert_allclose(batch[1], [0.3, 0.05 + 0.1, 0.3 + 0.2, 0.05])
    np.testing.assert_allclose(batch.sum(axis=1), 1.0)
    with pytest.raises(ConfigError, match="5 columns for 6 classes"):
        merge_case_probabilities(probs[:5], classes)


def test_the_answer_is_the_letter_of_both_cases_even_when_another_class_is_on_top():
    classes = ("A", "B", "a", "b")
    probs = np.array([0.30, 0.40, 0.25, 0.05])
    answer = CaseReading.of(classes).answer(probs)
    # 'B' is the single most probable class, but A or a (0.55) beats B or b (0.45).
    assert answer.label == "A"
    assert answer.probability == pytest.approx(0.55)
    assert answer.case == "upper"
    assert answer.case_probability == pytest.approx(0.30 / 0.55)
    lower = CaseReading.of(classes).answer(np.array([0.1, 0.05, 0.8, 0.05]))
    assert (lower.label, lower.case) == ("A", "lower")
    assert lower.case_probability == pytest.approx(0.8 / 0.9)


def test_a_model_without_both_cases_has_no_case_to_tell():
    for classes in (UPPER, DIGITS, EMNIST_CLASSES["balanced"][:36], ("a", "b")):
        assert CaseReading.of(classes) is None
    # Balanced keeps 11 letters' cases apart: those, and only those, get a case.
    balanced = CaseReading.of(EMNIST_CLASSES["balanced"])
    assert balanced is not None
    assert "".join(n for i, n in enumerate(balanced.names) if balanced.upper[i] >= 0) == (
        "ABDEFGHNQRT"
    )


def test_a_digit_answer_of_a_62_class_model_has_no_case():
    classes = EMNIST_CLASSES["byclass"]
    probs = np.zeros(len(classes))
    probs[classes.index("0")] = 0.6
    probs[classes.index("O")] = 0.3
    probs[classes.index("o")] = 0.1
    answer = CaseReading.of(classes).answer(probs)
    assert (answer.label, answer.case, answer.case_probability) == ("0", None, None)
    assert answer.to_dict() == {
        "label": "0",
        "probability": pytest.approx(0.6),
        "case": None,
        "case_probability": None,
    }


def test_case_accuracy_counts_the_case_among_letters_read_right():
    assert {"C", "O", "S", "U", "V", "W", "X", "Z"} <= CASE_LOOK_ALIKE
    assert not {"A", "B", "D", "E", "G", "R"} & CASE_LOOK_ALIKE
    classes = ("A", "O", "a", "o")
    probs = np.array(
        [
            [0.6, 0.1, 0.3, 0.0],  # an A: letter right, case right
            [0.3, 0.1, 0.6, 0.0],  # an A: letter right, case wrong (a)
            [0.1, 0.5, 0.1, 0.3],  # an a: letter wrong (O)
            [0.0, 0.3, 0.0, 0.7],  # an o: letter right, case right
            [0.0, 0.6, 0.0, 0.4],  # an o: letter right, case wrong (O)
            [0.0, 0.2, 0.0, 0.8],  # an O: letter right, case wrong (o)
        ]
    )
    labels = np.array([0, 0, 2, 3, 3, 1])
    scores = case_accuracy(probs, labels, classes)
    alike, differ = scores.groups
    assert (alike.letters, alike.images, alike.letter_right, alike.case_right) == ("O", 3, 3, 1)
    assert (differ.letters, differ.images, differ.letter_right, differ.case_right) == ("A", 3, 2, 1)
    assert differ.case_accuracy == pytest.approx(0.5)
    assert differ.letter_accuracy == pytest.approx(2 / 3)
    assert [s.name for s in scores.letters] == ["A", "O"]
