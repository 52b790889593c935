"""The "balanced-dev" protocol: a 47-class balanced set standing in for EMNIST Balanced.

EMNIST Balanced (47 classes, the same number of images per class) is not at hand, but its
classes are ByMerge's, whose test split is (see the shared data README). So:
- pool: ByMerge test without any image byte-identical to a letters-dev test image (so a
  model trained here can also be scored on letters-dev's test), exact duplicates dropped;
- 360 images of each class drawn from the pool (seed 0): the rarest class, Q, has 366;
- test: 60 of each class (2,820 images); train: the other 300 of each (14,100 images).
Validation is carved out of train by the trainer, never out of test. With the official
files, `emnist-balanced` works unchanged.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from charrec.data.classes import EMNIST_CLASSES
from charrec.data.dedup import drop_duplicates, drop_overlap
from charrec.data.imageset import ImageSet
from charrec.data.letters_dev import FILES as LETTERS_DEV_FILES
from charrec.data.letters_dev import read_part
from charrec.data.registry import DatasetSpec, emnist_files, register
from charrec.errors import DataError

PER_CLASS = 360
TEST_PER_CLASS = 60
SEED = 0
FILES = {"bymerge-test": emnist_files("bymerge", "test")}


def balanced_indices(labels: np.ndarray, per_class: int, test_per_class: int, seed: int):
    """(train, test) indices: `per_class` of each class drawn at random, the first
    `test_per_class` of them for test; a class with fewer images is an error."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if len(members) < per_class:
            raise DataError(f"class {label} has {len(members)} images, fewer than {per_class}")
        drawn = rng.choice(members, size=per_class, replace=False)
        test.append(drawn[:test_per_class])
        train.append(drawn[test_per_class:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def _load(spec: DatasetSpec, data_dir: Path, split: str) -> ImageSet:
    images_file, labels_file = FILES["bymerge-test"]
    from charrec.data.registry import read_idx_pair

    bymerge = read_idx_pair(
        spec.path(data_dir, images_file),
        spec.path(data_dir, labels_file),
        EMNIST_CLASSES["bymerge"],
        "bymerge-test",
        transposed=True,
    )
    letters_test = read_part(spec, data_dir, "letters-test-partial", EMNIST_CLASSES["letters"], 1)
    pool = drop_duplicates(drop_overlap(bymerge, letters_test))
    train, test = balanced_indices(pool.labels, PER_CLASS, TEST_PER_CLASS, SEED)
    index = train if split == "train" else test
    return pool.subset(index, name=f"balanced-dev:{split}")


register(
    DatasetSpec(
        name="balanced-dev",
        description="47-class balanced protocol: ByMerge test, 300 train + 60 test per class",
        classes=EMNIST_CLASSES["bymerge"],
        files={
            "train": FILES["bymerge-test"] + LETTERS_DEV_FILES["letters-test-partial"],
            "test": FILES["bymerge-test"] + LETTERS_DEV_FILES["letters-test-partial"],
        },
        sizes={"train": 14_100, "test": 2_820},
        loader=_load,
        fetch_hint="the balanced-dev files come with the shared data folder",
    )
)
