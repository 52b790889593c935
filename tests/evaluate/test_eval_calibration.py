"""Expected calibration error and the reliability bins, checked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from charrec.evaluate.calibration import bin_index, expected_calibration_error, reliability


def test_bins_are_right_closed() -> None:
    # ((m-1)/15, m/15]: 1/15 is the top of bin 0, 2/15 of bin 1, 1.0 of the last bin.
    edges = np.array([1 / 15, 2 / 15, 0.5, 1.0, 0.0])
    assert bin_index(edges).tolist() == [0, 1, 7, 14, 0]


def test_ece_by_hand_on_two_bins() -> None:
    # Four predictions at .9 (three right) and two at .6 (one right), 10 bins:
    # (4/6)·|.75 − .9| + (2/6)·|.5 − .6| = .1 + .0333…
    confidences = np.array([0.9, 0.9, 0.9, 0.9, 0.6, 0.6])
    correct = np.array([1, 1, 1, 0, 1, 0], dtype=bool)
    result = reliability(confidences, correct, n_bins=10)
    assert result["ece"] == pytest.approx(4 / 6 * 0.15 + 2 / 6 * 0.1)
    assert result["counts"][8] == 4 and result["counts"][5] == 2
    assert result["accuracy"][8] == pytest.approx(0.75)
    assert result["accuracy"][0] is None  # empty bins have no accuracy


def test_perfect_confidence_and_right_gives_zero() -> None:
    probs = np.eye(5)
    assert expected_calibration_error(probs, np.arange(5)) == pytest.approx(0.0)
    # Fully confident and always wrong is the worst case.
    assert expected_calibration_error(probs, (np.arange(5) + 1) % 5) == pytest.approx(1.0)


def test_weighted_ece_counts_each_image_that_many_times() -> None:
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(4), size=200)
    labels = rng.integers(0, 4, size=200)
    counts = rng.integers(1, 4, size=200)
    repeated = expected_calibration_error(np.repeat(probs, counts, 0), np.repeat(labels, counts))
    weighted = expected_calibration_error(probs, labels, weights=counts)
    assert weighted == pytest.approx(repeated)
    assert expected_calibration_error(probs, labels, weights=np.ones(200)) == pytest.approx(
        expected_calibration_error(probs, labels)
    )
