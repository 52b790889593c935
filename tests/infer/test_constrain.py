"""Constraints: the most probable reading a pattern or a word list allows."""

from __future__ import annotations

import numpy as np
import pytest

from charrec.errors import ConfigError
from charrec.infer.constrain import Pattern, WordList

DIGITS = list("0123456789")
LETTERS = [chr(c) for c in range(ord("A"), ord("Z") + 1)]


def _log_probs(rows: list[dict[str, float]], classes: list[str]) -> np.ndarray:
    """Log-probabilities with the given mass on some classes, the rest spread thin."""
    out = np.full((len(rows), len(classes)), 1e-4)
    for i, row in enumerate(rows):
        for label, p in row.items():
            out[i, classes.index(label)] = p
    return np.log(out / out.sum(axis=1, keepdims=True))


def _labels(indices: list[int] | None, classes: list[str]) -> str | None:
    return None if indices is None else "".join(classes[i] for i in indices)


def test_a_pattern_picks_the_best_reading_it_allows() -> None:
    classes = [*DIGITS, *LETTERS]
    # An O read where a postcode must hold a digit: the pattern turns it into 0.
    rows = [{"7": 0.9}, {"O": 0.6, "0": 0.3}, {"1": 0.8}, {"I": 0.7, "1": 0.2}, {"5": 0.9}]
    log_probs = _log_probs(rows, classes)
    assert _labels(Pattern(r"\d{5}").best(log_probs, classes, [False] * 5), classes) == "70115"
    letter_second = Pattern(r"[0-9][A-Z]\d+").best(log_probs, classes, [False] * 5)
    assert _labels(letter_second, classes) == "7O115"
    assert Pattern(r"\d{4}").best(log_probs, classes, [False] * 5) is None
    assert _labels(Pattern("(7|9)0(11|22)5").best(log_probs, classes, [False] * 5), classes) == (
        "70115"
    )


def test_a_pattern_sees_the_spaces_and_falls_back_without_them() -> None:
    classes = LETTERS
    log_probs = _log_probs([{"A": 0.9}, {"B": 0.9}, {"C": 0.9}], classes)
    spaces = [False, False, True]
    assert _labels(Pattern("[A-Z]{2} [A-Z]").best(log_probs, classes, spaces), classes) == "ABC"
    assert _labels(Pattern("[A-Z]{3}").best(log_probs, classes, spaces), classes) == "ABC"


def test_lower_case_in_a_pattern_matches_a_case_merged_model() -> None:
    log_probs = _log_probs([{"O": 0.9}, {"K": 0.9}], LETTERS)
    assert _labels(Pattern("[a-z]+").best(log_probs, LETTERS, [False, False]), LETTERS) == "OK"


def test_a_word_list_picks_the_closest_word_of_the_right_length() -> None:
    rows = [{"R": 0.5, "P": 0.4}, {"O": 0.9}, {"M": 0.5, "N": 0.4}, {"E": 0.9}]
    log_probs = _log_probs(rows, LETTERS)
    words = WordList(["paris", "POME", "RONE", "LONDON"])
    # RONE needs N (0.4) where POME needs P (0.4): both lose one guess; ROME is not listed.
    chosen = _labels(words.best(log_probs, LETTERS, [False] * 4), LETTERS)
    assert chosen in ("POME", "RONE")
    assert words.best(log_probs[:3], LETTERS, [False] * 3) is None
    # Two words on the line, matched one by one when no entry is the whole line.
    pair = np.concatenate([log_probs[:2], log_probs[:2]])
    two = WordList(["RO", "PO"]).best(pair, LETTERS, [False, False, True, False])
    assert _labels(two, LETTERS) == "RORO"


@pytest.mark.parametrize("bad", ["(", "[a-", "a{3,1}", "*a", r"\b", "(?=a)"])
def test_bad_patterns_are_refused_with_a_message(bad: str) -> None:
    with pytest.raises(ConfigError, match="pattern"):
        Pattern(bad)


def test_an_empty_word_list_is_refused() -> None:
    with pytest.raises(ConfigError, match="empty"):
        WordList([" ", ""])
