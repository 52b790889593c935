"""The "letters-dev" protocol: letter models developed without the full EMNIST Letters.

Built from what is at hand (see the shared data README):
- train: the letters of the ByClass test split, case merged to 26 classes, plus the
  Letters train partial file; every image byte-identical to a Letters test-partial image
  is removed, then exact duplicates are dropped (59,384 images);
- test: the Letters test partial file (14,800 images, classes A..S).
Validation is carved out of train by the trainer, never out of test.
"""

from __future__ import annotations

from pathlib import Path

from charrec.data.classes import EMNIST_CLASSES
from charrec.data.dedup import drop_duplicates, drop_overlap
from charrec.data.imageset import ImageSet, concat
from charrec.data.labelmaps import merge_case
from charrec.data.registry import DatasetSpec, emnist_files, read_idx_pair, register

TEST_PART = ".partial-0-14799"
TRAIN_PART = ".partial-85264-88799"

FILES = {
    "byclass-test": emnist_files("byclass", "test"),
    "letters-train-partial": emnist_files("letters", "train", TRAIN_PART, count=3_536),
    "letters-test-partial": emnist_files("letters", "test", TEST_PART, count=14_800),
}


def read_part(
    spec: DatasetSpec, data_dir: Path, key: str, classes: tuple[str, ...], offset: int
) -> ImageSet:
    """One of FILES (EMNIST IDX, stored transposed) with labels shifted down by offset."""
    images_file, labels_file = FILES[key]
    return read_idx_pair(
        spec.path(data_dir, images_file),
        spec.path(data_dir, labels_file),
        classes,
        key,
        transposed=True,
        label_offset=offset,
    )


def _load(spec: DatasetSpec, data_dir: Path, split: str) -> ImageSet:
    letters = EMNIST_CLASSES["letters"]
    test = read_part(spec, data_dir, "letters-test-partial", letters, 1)
    test = test.with_name("letters-dev:test")
    if split == "test":
        return test
    byclass = read_part(spec, data_dir, "byclass-test", EMNIST_CLASSES["byclass"], 0)
    pool = concat(
        [
            merge_case(byclass.classes).apply(byclass),
            read_part(spec, data_dir, "letters-train-partial", letters, 1),
        ],
        name="letters-dev:train",
    )
    return drop_duplicates(drop_overlap(pool, test))


register(
    DatasetSpec(
        name="letters-dev",
        description="letters development protocol: ByClass-test letters + Letters partials",
        classes=EMNIST_CLASSES["letters"],
        files={
            "train": FILES["byclass-test"] + FILES["letters-train-partial"],
            "test": FILES["letters-test-partial"],
        },
        sizes={"train": 59_384, "test": 14_800},
        loader=_load,
        fetch_hint="the letters-dev files come with the shared data folder",
    )
)
