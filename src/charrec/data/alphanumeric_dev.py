"""The "alphanumeric-dev" protocol: 62-class models (0-9A-Za-z) from the ByClass test split.

Only EMNIST ByClass's test split is at hand (see the shared data README), so it is split
into its own train and test parts:
- exact duplicates within ByClass test are dropped first, so no image is on both sides;
- test: a stratified 20% of what remains (seed 0), every class in its ByClass proportion;
- train: the other 80%, without any image byte-identical to a letters-dev test image
  (the Letters test partial file), so that a model trained here can also be scored on
  letters-dev's test without having seen its images.
Validation is carved out of train by the trainer, never out of test.
"""

from __future__ import annotations

from pathlib import Path

from charrec.data.classes import EMNIST_CLASSES
from charrec.data.dedup import drop_duplicates, drop_overlap
from charrec.data.imageset import ImageSet
from charrec.data.letters_dev import FILES as LETTERS_DEV_FILES
from charrec.data.letters_dev import read_part
from charrec.data.registry import DatasetSpec, register

TEST_FRACTION = 0.2
SEED = 0


def load_split(spec: DatasetSpec, data_dir: Path, split: str) -> ImageSet:
    byclass = read_part(spec, data_dir, "byclass-test", EMNIST_CLASSES["byclass"], 0)
    pool = drop_duplicates(byclass)
    # Imported here: scikit-learn takes a second to import, and listing or checking the
    # data sets should not pay for it.
    from charrec.data.splits import stratified_split_indices

    train_index, test_index = stratified_split_indices(pool.labels, TEST_FRACTION, SEED)
    if split == "test":
        return pool.subset(test_index, name="alphanumeric-dev:test")
    letters_test = read_part(spec, data_dir, "letters-test-partial", EMNIST_CLASSES["letters"], 1)
    train = pool.subset(train_index, name="alphanumeric-dev:train")
    return drop_overlap(train, letters_test)


register(
    DatasetSpec(
        name="alphanumeric-dev",
        description="62-class protocol: ByClass test, deduplicated, split 80/20 (stratified)",
        classes=EMNIST_CLASSES["byclass"],
        files={
            "train": LETTERS_DEV_FILES["byclass-test"] + LETTERS_DEV_FILES["letters-test-partial"],
            "test": LETTERS_DEV_FILES["byclass-test"],
        },
        sizes={"train": 91_399, "test": 23_265},
        loader=load_split,
        fetch_hint="the alphanumeric-dev files come with the shared data folder",
    )
)
