"""Real handwriting from outside NIST, as named test sets: `unipen`, `unipen-letters`,
`unipen-digits`, `semeion`, `optdigits`.

The pictures are read in place from `<data dir>/realworld/<set>/` (labels.csv beside
them; see the data folder's README and each set's SOURCE.md) and framed as `charrec
predict` frames a user's picture (`charrec.data.readers.pictures`). They are for
measuring: `unipen-letters` merges case into A-Z as EMNIST Letters does, so a letters
model is scored with case ignored.

UNIPEN is split by writer: a third of its 272 writers (chosen by a checksum of the
contributor and writer in meta.csv, so the same on every machine) is "test", the rest
"train". A model may learn from the "train" writers' handwriting (`data.extra` in a
recipe) and is still measured on writers it never saw. Semeion and optdigits are test
only: nothing trains on them.
"""

from __future__ import annotations

import csv
import functools
import zlib
from pathlib import Path

from charrec.data.classes import DIGITS, EMNIST_CLASSES, UPPER
from charrec.data.imageset import ImageSet
from charrec.data.registry import DataFile, DatasetSpec, register
from charrec.errors import DataError

FETCH_HINT = "the real handwriting sets come with the shared data folder, under realworld/"


def labels_file(folder: str) -> DataFile:
    return DataFile("labels.csv", (f"realworld/{folder}",), accept_raw=False)


# One writer in this many is a test writer.
TEST_WRITER_EVERY = 3
WRITER_SPLITS = ("train", "test")


def is_test_writer(contributor: str, writer: str) -> bool:
    """Whether a UNIPEN writer belongs to the test third (crc32 of "contributor/writer")."""
    return zlib.crc32(f"{contributor}/{writer}".encode()) % TEST_WRITER_EVERY == 0


@functools.lru_cache(maxsize=4)
def writer_split(folder: Path) -> dict[str, frozenset[Path]]:
    """The pictures of each split of a folder whose meta.csv names every picture's writer."""
    path = folder / "meta.csv"
    parts: dict[str, set[Path]] = {split: set() for split in WRITER_SPLITS}
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                test = is_test_writer(row["contributor"], row["writer"])
                parts["test" if test else "train"].add(folder / row["path"])
    except FileNotFoundError:
        raise DataError(f"{path}: file not found; its writers split the set") from None
    except (OSError, UnicodeError, csv.Error, KeyError) as exc:
        raise DataError(f"{path}: cannot read the writers ({exc})") from None
    return {split: frozenset(paths) for split, paths in parts.items()}


def split_pictures(name: str, folder: Path, split: str) -> frozenset[Path] | None:
    """The pictures of a split of the real set `name` read from `folder`: its writers' part
    for a set split by writer (UNIPEN), None (every picture) for a test-only set."""
    return writer_split(folder)[split] if "train" in REAL_SETS[name][2] else None


def _load(spec: DatasetSpec, data_dir: Path, split: str) -> ImageSet:
    from charrec.data.readers.pictures import read_pictures

    (labels,) = spec.files[split]
    folder = spec.path(data_dir, labels).parent
    only = split_pictures(spec.name, folder, split)
    return read_pictures(folder, spec.classes, f"{spec.name}:{split}", only=only)


# name: (folder, classes, images per split, what)
REAL_SETS = {
    "unipen": (
        "unipen",
        EMNIST_CLASSES["byclass"],
        {"train": 13_002, "test": 5_598},
        "UNIPEN tablet handwriting (272 writers, split by writer), 62 classes 0-9 A-Z a-z",
    ),
    "unipen-letters": (
        "unipen",
        UPPER,
        {"train": 11_117, "test": 4_483},
        "UNIPEN tablet handwriting (split by writer), letters with case merged into A-Z",
    ),
    "unipen-digits": (
        "unipen",
        DIGITS,
        {"train": 1_885, "test": 1_115},
        "UNIPEN tablet handwriting (split by writer), digits",
    ),
    "semeion": ("semeion", DIGITS, {"test": 1_593}, "Semeion digits scanned from paper, 16×16"),
    "optdigits": (
        "optdigits",
        DIGITS,
        {"test": 1_797},
        "UCI optdigits (13 writers on forms), 32×32",
    ),
}

for _name, (_folder, _classes, _sizes, _what) in REAL_SETS.items():
    register(
        DatasetSpec(
            name=_name,
            description=f"{_what}; real pictures framed as `charrec predict` frames them",
            classes=_classes,
            files={split: (labels_file(_folder),) for split in _sizes},
            sizes=_sizes,
            loader=_load,
            fetch_hint=FETCH_HINT,
        )
    )
