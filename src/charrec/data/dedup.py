"""Exact duplicates by image bytes: within a set, and between a training and an evaluation set."""

from __future__ import annotations

import numpy as np

from charrec.data.imageset import ImageSet


def image_keys(images: np.ndarray) -> np.ndarray:
    """One opaque key per image (its bytes as a NumPy void scalar), for exact matching."""
    flat = np.ascontiguousarray(images).reshape(len(images), -1)
    return flat.view(np.dtype((np.void, flat.shape[1]))).ravel()


def overlap_mask(images: np.ndarray, others: np.ndarray) -> np.ndarray:
    """True for each image of `images` that is byte-identical to some image of `others`."""
    keys = np.concatenate([image_keys(images), image_keys(others)])
    _, inverse = np.unique(keys, return_inverse=True)
    in_others = np.zeros(inverse.max() + 1 if len(inverse) else 0, dtype=bool)
    in_others[inverse[len(images) :]] = True
    return in_others[inverse[: len(images)]]


def drop_overlap(train: ImageSet, evaluation: ImageSet) -> ImageSet:
    """`train` without the images that also appear in `evaluation` (byte-identical)."""
    return train.subset(~overlap_mask(train.images, evaluation.images))


def drop_duplicates(dataset: ImageSet) -> ImageSet:
    """Keep the first of each group of byte-identical images, in the original order."""
    _, first = np.unique(image_keys(dataset.images), return_index=True)
    return dataset.subset(np.sort(first))
