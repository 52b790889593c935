"""The "letters-case-dev" protocol: the 52 letter classes with their case kept.

alphanumeric-dev (ByClass test, deduplicated, split 80/20) without its digits: A-Z and
a-z as 52 classes. Its train part holds no image of letters-dev's test, so a case-aware
model trained here is scored on letters-dev's test with each letter's two cases summed
(charrec.evaluate matches the classes by name), beside a case-merged model.
"""

from __future__ import annotations

from pathlib import Path

from charrec.data.alphanumeric_dev import load_split as load_alphanumeric
from charrec.data.classes import EMNIST_CLASSES
from charrec.data.imageset import ImageSet
from charrec.data.labelmaps import letters_only
from charrec.data.letters_dev import FILES as LETTERS_DEV_FILES
from charrec.data.registry import DatasetSpec, register

CLASSES = tuple(c for c in EMNIST_CLASSES["byclass"] if c.isalpha())


def _load(spec: DatasetSpec, data_dir: Path, split: str) -> ImageSet:
    both = load_alphanumeric(spec, data_dir, split)
    return letters_only(both.classes).apply(both, name=f"letters-case-dev:{split}")


register(
    DatasetSpec(
        name="letters-case-dev",
        description="52 letter classes, case kept: alphanumeric-dev without its digits",
        classes=CLASSES,
        files={
            "train": LETTERS_DEV_FILES["byclass-test"] + LETTERS_DEV_FILES["letters-test-partial"],
            "test": LETTERS_DEV_FILES["byclass-test"],
        },
        sizes={"train": 45_066, "test": 11_680},
        loader=_load,
        fetch_hint="the letters-case-dev files come with the shared data folder",
    )
)
