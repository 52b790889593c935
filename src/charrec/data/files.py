"""A user's own data files, loaded by path wherever a data set name is accepted.

- `.npz` with `<split>_images`/`<split>_labels` pairs (the course files);
- `.mat`: an EMNIST MATLAB file (`emnist-<split>.mat`) or the original Binary AlphaDigits;
- `.csv`: Kaggle-style EMNIST CSV named `emnist-<split>-<train|test>.csv`;
- a folder of images with one sub-folder per class, or with `train/` and `test/`
  sub-folders that each hold class sub-folders.
A file holding a single part answers for "train" and "all".
"""

from __future__ import annotations

import re
from pathlib import Path

from charrec.data.classes import EMNIST_CLASSES
from charrec.data.imageset import ImageSet
from charrec.data.readers.alphadigits import read_binary_alphadigits
from charrec.data.readers.csv import read_emnist_csv
from charrec.data.readers.emnist_mat import load_mat, read_emnist_mat
from charrec.data.readers.image_folder import read_image_folder
from charrec.data.readers.npz import read_npz
from charrec.errors import DataError

SUFFIXES = (".npz", ".mat", ".csv", ".csv.gz")
_CSV_NAME = re.compile(r"emnist-(\w+)-(train|test)\.csv(\.gz)?$")


def looks_like_path(source: str) -> bool:
    return "/" in source or "\\" in source or source.endswith(SUFFIXES) or Path(source).is_dir()


def _read_mat(path: Path) -> dict[str, ImageSet]:
    if "dat" in load_mat(path):  # the original Binary AlphaDigits file, 20×16 as it is
        return {"all": read_binary_alphadigits(path)}
    return read_emnist_mat(path)


def _read_csv(path: Path) -> dict[str, ImageSet]:
    match = _CSV_NAME.search(path.name)
    if not match or match.group(1) not in EMNIST_CLASSES:
        raise DataError(
            f"{path}: cannot tell the classes of this CSV; name it like the Kaggle EMNIST files "
            f"(emnist-<split>-<train|test>.csv with split one of {', '.join(EMNIST_CLASSES)})"
        )
    split = match.group(1)
    offset = 1 if split == "letters" else 0
    return {match.group(2): read_emnist_csv(path, EMNIST_CLASSES[split], label_offset=offset)}


def _read_folder(path: Path) -> dict[str, ImageSet]:
    parts = {p.name: p for p in path.iterdir() if p.is_dir() and p.name in ("train", "test")}
    if parts:
        return {name: read_image_folder(folder) for name, folder in sorted(parts.items())}
    return {"all": read_image_folder(path)}


def read_parts(path: Path) -> dict[str, ImageSet]:
    """Every part (split) the file or folder holds."""
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_dir():
        return _read_folder(path)
    name = path.name.lower()
    if name.endswith(".npz"):
        return read_npz(path)
    if name.endswith(".mat"):
        return _read_mat(path)
    if name.endswith((".csv", ".csv.gz")):
        return _read_csv(path)
    raise DataError(f"{path}: unknown data file type; use one of {', '.join(SUFFIXES)} or a folder")


def load_file(path: Path, split: str) -> ImageSet:
    """One part of a user's data file; a single-part file answers for "train" and "all"."""
    parts = read_parts(path)
    if split in parts:
        return parts[split]
    if len(parts) == 1 and split in ("train", "all"):
        return next(iter(parts.values()))
    raise DataError(f"{path} has no {split!r} part; it has {', '.join(parts)}")
