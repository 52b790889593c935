"""Stratified train/validation splits and k-fold, seeded. Validation never comes from test."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import StratifiedKFold, train_test_split

from charrec.data.imageset import ImageSet
from charrec.errors import DataError


def _check_stratifiable(dataset: ImageSet, parts: int) -> None:
    counts = dataset.counts()
    present = counts[counts > 0]
    if len(present) and present.min() < parts:
        rare = [dataset.classes[i] for i in np.flatnonzero((counts > 0) & (counts < parts))]
        raise DataError(
            f"{dataset.name or 'data set'}: classes {rare[:10]} have fewer than {parts} images, "
            "too few to stratify"
        )


def stratified_split_indices(
    labels: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, val) with `fraction` of each class in val, sorted."""
    if not 0.0 < fraction < 1.0:
        raise DataError(f"validation fraction must be between 0 and 1, got {fraction}")
    index = np.arange(len(labels))
    classes = len(np.unique(labels))
    if (
        round(fraction * len(labels)) < classes
        or len(labels) - round(fraction * len(labels)) < classes
    ):
        raise DataError(
            f"a {fraction:.0%} validation split of {len(labels)} images cannot hold every one of "
            f"{classes} classes on both sides; use more images or another fraction"
        )
    train, val = train_test_split(index, test_size=fraction, random_state=seed, stratify=labels)
    return np.sort(train), np.sort(val)


def stratified_split(dataset: ImageSet, fraction: float, seed: int) -> tuple[ImageSet, ImageSet]:
    """Split into (train, validation) keeping class proportions."""
    _check_stratifiable(dataset, 2)
    train, val = stratified_split_indices(dataset.labels, fraction, seed)
    return dataset.subset(train), dataset.subset(val, name=f"{dataset.name}:val")


def stratified_kfold(dataset: ImageSet, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """k (train_indices, val_indices) pairs; every image is in exactly one val fold."""
    if k < 2:
        raise DataError(f"k-fold needs k >= 2, got {k}")
    _check_stratifiable(dataset, k)
    folds = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return [(np.sort(t), np.sort(v)) for t, v in folds.split(dataset.labels, dataset.labels)]


def stratified_subsample(dataset: ImageSet, n: int, seed: int) -> ImageSet:
    """At most `n` images, keeping class proportions (for quick runs)."""
    if n >= len(dataset):
        return dataset
    if n < 1:
        raise DataError(f"cannot keep {n} images")
    counts = dataset.counts()
    # Stratify only when every present class can give at least one image.
    stratify = dataset.labels if n >= (counts > 0).sum() and counts[counts > 0].min() >= 2 else None
    keep, _ = train_test_split(
        np.arange(len(dataset)), train_size=n, random_state=seed, stratify=stratify
    )
    return dataset.subset(np.sort(keep))


def per_class_subsample(dataset: ImageSet, n: int, seed: int) -> ImageSet:
    """At most `n` images of each class, drawn with `seed` (for learning curves)."""
    if n < 1:
        raise DataError(f"cannot keep {n} images per class")
    rng = np.random.default_rng(seed)
    keep = [
        rng.permutation(np.flatnonzero(dataset.labels == c))[:n] for c in range(dataset.num_classes)
    ]
    return dataset.subset(np.sort(np.concatenate(keep)))
