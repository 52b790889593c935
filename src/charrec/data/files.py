"""A user's own data files, loaded by path wherever a data set name is accepted.

- `.npz` with `<split>_images`/`<split>_labels` pairs (the course files);
- `.mat`: an EMNIST MATLAB file (`emnist-<split>.mat`) or the original Binary AlphaDigits;
- `.csv`: Kaggle-style EMNIST CSV, named `emnist-<split>-<train|test>.csv` or read under
  any name with its class list given (`classes="balanced"`, `--classes balanced`);
- an IDX pair: the images file (`...-images-idx3-ubyte[.gz]`, its labels file beside it)
  or a folder holding such pairs, named as MNIST (`train-`, `t10k-`) or EMNIST
  (`emnist-<split>-<train|test>-`) names them;
- a folder of images with one sub-folder per class, or with `train/` and `test/`
  sub-folders that each hold class sub-folders.
A file holding a single part answers for "train" and "all".

`classes` names an EMNIST class list (byclass, bymerge, balanced, letters, digits, mnist)
for files that do not carry their classes: CSV, IDX and .npz.
"""

from __future__ import annotations

import re
from pathlib import Path

from charrec.data.classes import EMNIST_CLASSES
from charrec.data.imageset import ImageSet
from charrec.data.readers.pictures import LABELS_FILE
from charrec.errors import DataError, unknown_choice

SUFFIXES = (".npz", ".mat", ".csv", ".csv.gz", "-idx3-ubyte", "-idx3-ubyte.gz")
_CSV_NAME = re.compile(r"emnist-(\w+)-(train|test)\.csv(\.gz)?$")
_IDX_IMAGES = re.compile(r"^(?P<prefix>.*?)(?P<part>train|test|t10k)-images-idx3-ubyte(\.gz)?$")
CLASSES_HINT = "say which with --classes (data.classes): " + ", ".join(EMNIST_CLASSES)


def looks_like_path(source: str) -> bool:
    return "/" in source or "\\" in source or source.endswith(SUFFIXES) or Path(source).is_dir()


def class_list(classes: str) -> tuple[str, ...]:
    """The class names of an EMNIST class list by name ("balanced" → 0-9, A-Z, a b d ...)."""
    if classes not in EMNIST_CLASSES:
        raise unknown_choice("class list", classes, list(EMNIST_CLASSES))
    return EMNIST_CLASSES[classes]


def _label_offset(classes: str) -> int:
    # EMNIST Letters labels run 1..26 in every official file.
    return 1 if classes == "letters" else 0


def _read_mat(path: Path) -> dict[str, ImageSet]:
    from charrec.data.readers.emnist_mat import load_mat, read_emnist_mat

    if "dat" in load_mat(path):  # the original Binary AlphaDigits file, 20×16 as it is
        from charrec.data.readers.alphadigits import read_binary_alphadigits

        return {"all": read_binary_alphadigits(path)}
    return read_emnist_mat(path)


def _read_csv(path: Path, classes: str | None) -> dict[str, ImageSet]:
    from charrec.data.readers.csv import read_emnist_csv

    match = _CSV_NAME.search(path.name)
    named = match.group(1) if match and match.group(1) in EMNIST_CLASSES else None
    chosen = classes or named
    if chosen is None:
        raise DataError(
            f"{path}: cannot tell the classes of this CSV; {CLASSES_HINT} "
            f"(or name it like the Kaggle files, emnist-<split>-<train|test>.csv)"
        )
    part = match.group(2) if match else "all"
    images = read_emnist_csv(path, class_list(chosen), label_offset=_label_offset(chosen))
    return {part: images}


def _idx_pair(images_path: Path, classes: str | None) -> tuple[str, ImageSet]:
    """(part, ImageSet) of an IDX images file and the labels file beside it."""
    from charrec.data.registry import read_idx_pair

    match = _IDX_IMAGES.match(images_path.name)
    if match is None:
        raise DataError(
            f"{images_path}: an IDX images file is named <...>train|test-images-idx3-ubyte"
            "[.gz], with its labels file (…-labels-idx1-ubyte) beside it"
        )
    labels_name = images_path.name.replace("-images-idx3-", "-labels-idx1-")
    labels_path = images_path.with_name(labels_name)
    if not labels_path.is_file():
        other = labels_path.with_name(
            labels_name[:-3] if labels_name.endswith(".gz") else labels_name + ".gz"
        )
        if not other.is_file():
            raise DataError(f"{images_path}: its labels file {labels_path.name} is not beside it")
        labels_path = other
    prefix, part = match.group("prefix"), match.group("part")
    emnist = re.fullmatch(r"emnist-(\w+)-", prefix)
    if classes is None and emnist and emnist.group(1) in EMNIST_CLASSES:
        classes = emnist.group(1)
    # MNIST's own files (train-, t10k-) hold upright digits; EMNIST's, and so any other
    # IDX file named by its class list, store their images transposed.
    upright = prefix == ""
    if classes is None and not upright:
        raise DataError(
            f"{images_path}: cannot tell the classes of these IDX files; {CLASSES_HINT}"
        )
    dataset = read_idx_pair(
        images_path,
        labels_path,
        class_list(classes) if classes else EMNIST_CLASSES["mnist"],
        images_path.name,
        transposed=not upright,
        label_offset=_label_offset(classes) if classes else 0,
    )
    part = "test" if part == "t10k" else part
    return part, dataset.with_name(f"{prefix}{part}".strip("-"))


def _read_idx_folder(path: Path, classes: str | None) -> dict[str, ImageSet]:
    found = sorted(p for p in path.iterdir() if p.is_file() and _IDX_IMAGES.match(p.name))
    parts: dict[str, ImageSet] = {}
    for images_path in found:
        part, dataset = _idx_pair(images_path, classes)
        if part in parts:
            raise DataError(f"{path}: holds more than one IDX {part} pair; point at one file")
        parts[part] = dataset
    return parts


def _read_folder(path: Path, classes: str | None) -> dict[str, ImageSet]:
    if any(_IDX_IMAGES.match(p.name) for p in path.iterdir()):
        return _read_idx_folder(path, classes)
    if (path / LABELS_FILE).is_file():
        return {"all": _read_pictures(path, classes)}
    parts = {p.name: p for p in path.iterdir() if p.is_dir() and p.name in ("train", "test")}
    if parts:
        return {name: _read_pictures(folder, classes) for name, folder in sorted(parts.items())}
    return {"all": _read_pictures(path, classes)}


def _read_pictures(folder: Path, classes: str | None) -> ImageSet:
    """A folder of pictures: labelled by its labels.csv (path,label) where it has one, as
    the real handwriting sets are, else by its class sub-folders. `classes` (an EMNIST
    class list) keeps the labels it holds, case merged where it merges case."""
    from charrec.data.readers.image_folder import read_image_folder
    from charrec.data.readers.pictures import read_pictures

    if not (folder / LABELS_FILE).is_file():
        return read_image_folder(folder)
    return read_pictures(folder, class_list(classes) if classes else None, folder.name)


def read_parts(path: Path, classes: str | None = None) -> dict[str, ImageSet]:
    """Every part (split) the file or folder holds; `classes` names an EMNIST class list."""
    if classes is not None:
        class_list(classes)  # an unknown name is an error whatever the file
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_dir():
        return _read_folder(path, classes)
    name = path.name.lower()
    if name.endswith(".npz"):
        from charrec.data.readers.npz import read_npz

        return read_npz(path, class_list(classes)) if classes else read_npz(path)
    if name.endswith(".mat"):
        return _read_mat(path)
    if name.endswith((".csv", ".csv.gz")):
        return _read_csv(path, classes)
    if _IDX_IMAGES.match(path.name):
        part, dataset = _idx_pair(path, classes)
        return {part: dataset}
    raise DataError(f"{path}: unknown data file type; use one of {', '.join(SUFFIXES)} or a folder")


def load_file(path: Path, split: str, classes: str | None = None) -> ImageSet:
    """One part of a user's data file; a single-part file answers for "train" and "all"."""
    return pick_part(path, read_parts(path, classes), split)


def pick_part(path: Path, parts: dict[str, ImageSet], split: str) -> ImageSet:
    """The part named `split`; a single-part file answers for "train" and "all"."""
    if split in parts:
        return parts[split]
    if len(parts) == 1 and split in ("train", "all"):
        return next(iter(parts.values()))
    raise DataError(f"{path} has no {split!r} part; it has {', '.join(parts)}")
