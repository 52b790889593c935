"""Top confused pairs, look-alikes and case-only errors from a confusion matrix."""

from __future__ import annotations

import numpy as np
import pytest

from charrec.evaluate.confusions import confused_pairs, confusion_analysis


def matrix_for(classes: list[str], errors: dict[tuple[str, str], int], right: int = 50):
    index = {c: i for i, c in enumerate(classes)}
    matrix = np.eye(len(classes), dtype=np.int64) * right
    for (true, pred), count in errors.items():
        matrix[index[true], index[pred]] += count
    return matrix


def test_pairs_are_symmetric_and_sorted() -> None:
    classes = list("GILQ")
    matrix = matrix_for(classes, {("G", "Q"): 3, ("Q", "G"): 4, ("I", "L"): 5, ("G", "I"): 1})
    pairs = confused_pairs(matrix, classes)
    assert [p["pair"] for p in pairs] == [["G", "Q"], ["I", "L"], ["G", "I"]]
    assert pairs[0] == {
        "pair": ["G", "Q"],
        "count": 7,
        "a_as_b": 3,
        "b_as_a": 4,
        "look_alike": True,
        "case_only": False,
    }
    assert pairs[2]["look_alike"] is False


def test_letters_analysis_counts_look_alikes() -> None:
    classes = list("GILQUV")
    matrix = matrix_for(classes, {("G", "Q"): 6, ("U", "V"): 2, ("L", "G"): 2})
    result = confusion_analysis(matrix, classes)
    assert result["errors"] == 10
    assert result["look_alike_errors"] == 8
    assert result["look_alike_share"] == pytest.approx(0.8)
    # No class has both cases: no case analysis.
    assert "case_only_errors" not in result


def test_case_only_errors_in_a_byclass_like_task() -> None:
    classes = ["0", "O", "C", "c", "o", "S", "s"]
    matrix = matrix_for(
        classes, {("c", "C"): 5, ("C", "c"): 3, ("o", "0"): 2, ("s", "S"): 4, ("O", "o"): 1}
    )
    result = confusion_analysis(matrix, classes)
    assert result["errors"] == 15
    assert result["case_only_errors"] == 5 + 3 + 4 + 1
    assert [p["pair"] for p in result["case_only_pairs"]] == [["C", "c"], ["S", "s"], ["O", "o"]]
    total = matrix.sum()
    assert result["accuracy_ignoring_case"] == pytest.approx((total - 15 + 13) / total)
    # o/0 is a look-alike across cases; a case pair is not a look-alike pair.
    assert result["look_alike_errors"] == 2


def test_digits_only_get_pairs_without_letter_analysis() -> None:
    classes = list("0123456789")
    matrix = matrix_for(classes, {("4", "9"): 3})
    result = confusion_analysis(matrix, classes)
    assert result["top_confused_pairs"][0]["pair"] == ["4", "9"]
    assert "look_alike_errors" not in result


def test_model_classes_outside_the_data_pair_with_the_true_class() -> None:
    # A ByClass model on letters: 'O' shown as the digit '0' is a look-alike pair.
    matrix = np.array([[8, 1, 2], [0, 9, 0]])
    result = confusion_analysis(matrix, ["O", "B"], columns=["O", "B", "0"])
    assert result["errors"] == 3
    first = result["top_confused_pairs"][0]
    assert first["pair"] == ["O", "0"] and (first["a_as_b"], first["b_as_a"]) == (2, 0)
    assert first["look_alike"] and result["look_alike_errors"] == 2
    # Without names, the extra column is the collapsed "other" column.
    assert confused_pairs(matrix, ["O", "B"])[0]["pair"] == ["O", "other"]
