"""Matching a model's classes to a data set's by name."""

from __future__ import annotations

import string

import numpy as np
import pytest

from charrec.data.classes import EMNIST_CLASSES
from charrec.errors import DataError
from charrec.evaluate.labelspace import match_classes

BYCLASS = EMNIST_CLASSES["byclass"]
LETTERS = EMNIST_CLASSES["letters"]


def test_same_classes_is_the_identity() -> None:
    space = match_classes(LETTERS, LETTERS)
    probs = np.random.default_rng(0).dirichlet(np.ones(26), size=4)
    assert space.identity and space.apply(probs) is probs


def test_byclass_model_on_case_merged_letters_sums_both_cases() -> None:
    space = match_classes(BYCLASS, LETTERS)
    assert space.columns == LETTERS + tuple(string.digits)
    assert space.merged()["A"] == ["A", "a"]
    probs = np.random.default_rng(1).dirichlet(np.ones(62), size=5)
    merged = space.apply(probs)
    a, upper_a = BYCLASS.index("a"), BYCLASS.index("A")
    np.testing.assert_allclose(merged[:, 0], probs[:, upper_a] + probs[:, a])
    # The digits keep their own columns after the 26 letters: predicting one is an error.
    np.testing.assert_allclose(merged[:, 26:], probs[:, :10])
    np.testing.assert_allclose(merged.sum(axis=1), 1.0)
    assert "count as errors" in space.describe() and "A=A+a" in space.describe()


def test_byclass_model_on_bymerge_merges_only_the_merged_letters() -> None:
    space = match_classes(BYCLASS, EMNIST_CLASSES["bymerge"])
    assert space.merged() == {c.upper(): [c.upper(), c] for c in "cijklmopsuvwxyz"}
    assert space.outside == ()


def test_reordered_classes_follow_the_names() -> None:
    space = match_classes(("b", "a"), ("a", "b"))
    np.testing.assert_allclose(space.apply(np.array([[0.9, 0.1]])), [[0.1, 0.9]])


def test_data_class_the_model_cannot_predict_is_named() -> None:
    with pytest.raises(DataError, match=r"cannot predict: 'abc'"):
        match_classes(LETTERS, tuple("ABCabc"))


def test_only_classes_with_images_must_be_predictable() -> None:
    # letters-dev's test split names A..Z but holds only A..S.
    support = np.array([5] * 19 + [0] * 7)
    space = match_classes(LETTERS[:19], LETTERS, support)
    assert space.outside == ()
    with pytest.raises(DataError, match="'T'"):
        match_classes(LETTERS[:19], LETTERS, np.array([5] * 20 + [0] * 6))


def test_no_common_class_is_an_error() -> None:
    with pytest.raises(DataError, match="share no class"):
        match_classes(tuple(string.digits), LETTERS)


def test_case_kept_data_is_merged_for_a_case_merged_model() -> None:
    from charrec.data.imageset import ImageSet
    from charrec.evaluate.labelspace import merge_data_case

    images = np.arange(5 * 28 * 28, dtype=np.uint8).reshape(5, 28, 28)
    data = ImageSet(images, np.array([0, 1, 2, 3, 2]), ("A", "B", "a", "z"), "mine")
    merged = merge_data_case(data, LETTERS)
    # a joins A; z stays (no Z in the data: the model's Z is matched to it by name).
    assert merged.classes == ("A", "B", "z")
    assert merged.labels.tolist() == [0, 1, 0, 2, 0]
    assert np.array_equal(merged.images, images)
    space = match_classes(LETTERS, merged.classes, merged.counts())
    assert space.merged()["z"] == ["Z"]
    # A model that keeps case, or data with one case only, is left as it is.
    assert merge_data_case(data, BYCLASS) is data
    upper = ImageSet(images[:2], np.array([0, 1]), ("A", "B"), "caps")
    assert merge_data_case(upper, LETTERS) is upper
