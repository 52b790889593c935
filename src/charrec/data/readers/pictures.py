"""A folder of people's pictures of characters, listed in `labels.csv` (`path,label`).

    unipen/
      labels.csv          path,label  (path relative to the folder, label one character)
      digit_0/unipen_00001.png ...

This is the layout of the real handwriting sets in the data folder's `realworld/`. The
pictures are what a user sends (dark ink on white, any size), so each one goes through
the preprocessing `charrec predict` applies (`charrec.infer.preprocess`, EMNIST style):
a model is scored on them as it would read the same files from a user. A picture in
which no character is found becomes an empty image, which no model reads right, so it
counts as an error as a refusal does in `charrec predict`.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Collection, Sequence
from pathlib import Path

import numpy as np

from charrec.data.imageset import ImageSet
from charrec.errors import DataError

LABELS_FILE = "labels.csv"


def read_labels(folder: str | os.PathLike[str]) -> list[tuple[Path, str]]:
    """(picture path, label) of every row of the folder's labels.csv, in its order."""
    folder = Path(folder)
    path = folder / LABELS_FILE
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or not {"path", "label"} <= set(reader.fieldnames):
                raise DataError(f"{path}: expected a header with the columns path,label")
            rows = [(folder / row["path"], row["label"]) for row in reader]
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (OSError, UnicodeError, csv.Error) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None
    for picture, label in rows:
        if len(label) != 1:
            raise DataError(f"{path}: label {label!r} of {picture.name} is not one character")
    return rows


def class_of(label: str, classes: Sequence[str]) -> int | None:
    """The class a label belongs to: its own, or its capital's where the classes merge
    case (EMNIST Letters' 'A' holds 'a'); None when the classes do not hold it."""
    if label in classes:
        return classes.index(label)
    merged = label.upper()
    return classes.index(merged) if merged in classes else None


def read_pictures(
    folder: str | os.PathLike[str],
    classes: Sequence[str] | None,
    name: str | None = None,
    *,
    every: int = 1,
    only: Collection[Path] | None = None,
) -> ImageSet:
    """The pictures of a labels.csv folder whose labels the classes hold, as model inputs.

    Labels outside the classes are left out (the digits of a set that also holds
    letters); with classes None they are the labels it holds, sorted. `only` keeps just
    the pictures it names (one part of a split by writer); `every` keeps one picture in
    that many, in file order, for a quick sample.
    """
    from charrec.infer.preprocess import Preprocessor

    folder = Path(folder)
    rows = read_labels(folder)
    classes = tuple(classes) if classes is not None else tuple(sorted({label for _, label in rows}))
    chosen = [
        (picture, index)
        for picture, label in rows
        if (index := class_of(label, classes)) is not None and (only is None or picture in only)
    ][::every]
    if not chosen:
        raise DataError(f"{folder}: no picture has a label among {', '.join(classes)}")
    frame = Preprocessor()
    images = np.stack([frame(picture, allow_blank=True).image for picture, _ in chosen])
    labels = np.array([index for _, index in chosen], dtype=np.int64)
    sources = tuple(str(picture) for picture, _ in chosen)
    return ImageSet(images, labels, classes, name or folder.name, sources)
