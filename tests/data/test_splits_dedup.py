from __future__ import annotations

import numpy as np
import pytest

from charrec.data.dedup import drop_duplicates, drop_overlap, overlap_mask
from charrec.data.imageset import ImageSet
from charrec.data.splits import stratified_kfold, stratified_split, stratified_subsample
from charrec.errors import DataError
from datagen import glyphs


def make_set(count: int = 400, classes: int = 4, seed: int = 0) -> ImageSet:
    images, labels = glyphs(count, classes, seed)
    return ImageSet(images, labels, tuple("ABCD"[:classes]), "toy")


def test_split_is_stratified_disjoint_and_seeded() -> None:
    data = make_set()
    train, val = stratified_split(data, 0.25, seed=1)
    assert (len(train), len(val)) == (300, 100)
    assert list(val.counts()) == [25, 25, 25, 25]
    assert not overlap_mask(train.images, val.images).any()
    again, _ = stratified_split(data, 0.25, seed=1)
    other, _ = stratified_split(data, 0.25, seed=2)
    assert np.array_equal(train.images, again.images)
    assert not np.array_equal(train.images, other.images)


def test_split_rejects_bad_fraction_and_tiny_classes() -> None:
    with pytest.raises(DataError, match="between 0 and 1"):
        stratified_split(make_set(), 1.5, seed=0)
    data = make_set()
    lonely = ImageSet(data.images[:5], np.array([0, 0, 1, 1, 2]), ("A", "B", "C"), "tiny")
    with pytest.raises(DataError, match=r"\['C'\].*too few"):
        stratified_split(lonely, 0.4, seed=0)


def test_kfold_covers_everything_once() -> None:
    data = make_set(200)
    folds = stratified_kfold(data, 5, seed=0)
    assert len(folds) == 5
    all_val = np.concatenate([val for _, val in folds])
    assert sorted(all_val) == list(range(200))
    for train, val in folds:
        assert len(np.intersect1d(train, val)) == 0
        assert list(np.bincount(data.labels[val])) == [10, 10, 10, 10]


def test_subsample_keeps_proportions() -> None:
    small = stratified_subsample(make_set(400), 40, seed=0)
    assert len(small) == 40 and list(small.counts()) == [10, 10, 10, 10]


def test_dedup_within_and_across() -> None:
    data = make_set(40)
    doubled = ImageSet(
        np.concatenate([data.images, data.images[:5]]),
        np.concatenate([data.labels, data.labels[:5]]),
        data.classes,
    )
    unique = drop_duplicates(doubled)
    assert len(unique) == 40 and np.array_equal(unique.images, data.images)
    evaluation = data.subset(np.arange(10, 15))
    cleaned = drop_overlap(data, evaluation)
    assert len(cleaned) == 35
    assert not overlap_mask(cleaned.images, evaluation.images).any()
