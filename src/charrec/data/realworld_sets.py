"""Real handwriting from outside NIST, as named test sets: `unipen`, `unipen-letters`,
`unipen-digits`, `semeion`, `optdigits`.

The pictures are read in place from `<data dir>/realworld/<set>/` (labels.csv beside
them; see the data folder's README and each set's SOURCE.md) and framed as `charrec
predict` frames a user's picture (`charrec.data.readers.pictures`). They are for
measuring only: the one split is "test". `unipen-letters` merges case into A-Z as EMNIST
Letters does, so a letters model is scored with case ignored.
"""

from __future__ import annotations

from pathlib import Path

from charrec.data.classes import DIGITS, EMNIST_CLASSES, UPPER
from charrec.data.imageset import ImageSet
from charrec.data.registry import DataFile, DatasetSpec, register

FETCH_HINT = "the real handwriting sets come with the shared data folder, under realworld/"


def labels_file(folder: str) -> DataFile:
    return DataFile("labels.csv", (f"realworld/{folder}",), accept_raw=False)


def _load(spec: DatasetSpec, data_dir: Path, split: str) -> ImageSet:
    from charrec.data.readers.pictures import read_pictures

    (labels,) = spec.files[split]
    folder = spec.path(data_dir, labels).parent
    return read_pictures(folder, spec.classes, f"{spec.name}:{split}")


# name: (folder, classes, images, what)
REAL_SETS = {
    "unipen": (
        "unipen",
        EMNIST_CLASSES["byclass"],
        18_600,
        "UNIPEN tablet handwriting (272 writers), 62 classes 0-9 A-Z a-z",
    ),
    "unipen-letters": (
        "unipen",
        UPPER,
        15_600,
        "UNIPEN tablet handwriting, letters with case merged into A-Z",
    ),
    "unipen-digits": ("unipen", DIGITS, 3_000, "UNIPEN tablet handwriting, digits"),
    "semeion": ("semeion", DIGITS, 1_593, "Semeion digits scanned from paper, 16×16"),
    "optdigits": ("optdigits", DIGITS, 1_797, "UCI optdigits (13 writers on forms), 32×32"),
}

for _name, (_folder, _classes, _count, _what) in REAL_SETS.items():
    register(
        DatasetSpec(
            name=_name,
            description=f"{_what}; real pictures framed as `charrec predict` frames them",
            classes=_classes,
            files={"test": (labels_file(_folder),)},
            sizes={"test": _count},
            loader=_load,
            fetch_hint=FETCH_HINT,
        )
    )
