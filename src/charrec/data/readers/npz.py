"""NumPy `.npz` archives of image/label pairs, such as the course files `emnist_letter.npz`
and `binaryalphadigits.npz`.

Layout: for each split, `<split>_images` and `<split>_labels` (for example train, validate
and test; any set of pairs is read, and a bare `images`/`labels` pair is the split "all").

- Images are upright, white ink on black: N×H×W, N×H×W×1, or flat N×784 (28×28) or
  N×320 (20×16, Binary AlphaDigits). Floats must lie in [0, 1] and become round(x·255);
  booleans and integer images of 0s and 1s become 0/255; other integers must be 0..255.
- Labels are one-hot rows over K+1 columns whose column 0 is unused (the course layout:
  27 columns for 'A'..'Z'), one-hot over K columns, or integers 1..K. They become 0..K-1.

The archive is opened with `allow_pickle=False`: arrays of Python objects are refused,
never unpickled.
"""

from __future__ import annotations

import os
import string
import tokenize
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from charrec.data.imageset import ImageSet
from charrec.errors import DataError

LETTERS = tuple(string.ascii_uppercase)
# Image shapes of flat rows, by length.
FLAT_SHAPES = {784: (28, 28), 320: (20, 16)}
# What NumPy and zipfile raise on a damaged or foreign file.
_READ_ERRORS = (
    ValueError,
    OSError,
    EOFError,
    NotImplementedError,
    SyntaxError,  # a damaged .npy header, parsed as a Python literal
    tokenize.TokenError,
    zipfile.BadZipFile,
    zlib.error,
)


def _images(array: np.ndarray, where: str) -> np.ndarray:
    """Canonical uint8 N×H×W images from any of the accepted layouts."""
    if array.ndim == 4 and array.shape[3] == 1:
        array = array[..., 0]
    if array.ndim == 2:
        if array.shape[1] not in FLAT_SHAPES:
            raise DataError(
                f"{where}: flat images of {array.shape[1]} pixels; give them as N×H×W "
                f"(flat rows are understood for {', '.join(map(str, FLAT_SHAPES))} pixels)"
            )
        array = array.reshape(len(array), *FLAT_SHAPES[array.shape[1]])
    if array.ndim != 3:
        raise DataError(f"{where}: images have shape {array.shape}, expected N×H×W or N×784")
    kind = array.dtype.kind
    if kind == "b":
        return array.astype(np.uint8) * np.uint8(255)
    if kind == "f":
        if array.size and not (np.isfinite(array).all() and array.min() >= 0 and array.max() <= 1):
            raise DataError(f"{where}: float images must lie in [0, 1]")
        return np.round(array * 255).astype(np.uint8)
    if kind in "iu":
        if array.size and (array.min() < 0 or array.max() > 255):
            raise DataError(f"{where}: integer images must lie in 0..255")
        images = array.astype(np.uint8)
        # Binary images stored as 0/1 integers: 1 is ink.
        return images * np.uint8(255) if images.size and images.max() <= 1 else images
    raise DataError(f"{where}: images must be numbers, got {array.dtype}")


def _labels(array: np.ndarray, num_classes: int, where: str) -> np.ndarray:
    """Labels 0..K-1 from one-hot rows (K+1 columns, column 0 unused, or K) or 1..K."""
    if array.dtype.kind not in "biuf":
        raise DataError(f"{where}: labels must be numbers, got {array.dtype}")
    if array.ndim == 2 and array.shape[1] > 1:
        if array.shape[1] not in (num_classes, num_classes + 1):
            raise DataError(
                f"{where}: one-hot labels have {array.shape[1]} columns, expected "
                f"{num_classes + 1} (column 0 unused) or {num_classes}"
            )
        ones = array == 1
        rows_ok = (ones | (array == 0)).all(axis=1) & (ones.sum(axis=1) == 1)
        if not rows_ok.all():
            bad = int(np.flatnonzero(~rows_ok)[0])
            raise DataError(f"{where}: row {bad} is not one-hot (exactly one 1, the rest 0)")
        labels = ones.argmax(axis=1).astype(np.int64)
        if array.shape[1] == num_classes:
            return labels
        if len(labels) and labels.min() == 0:
            raise DataError(f"{where}: column 0 of the one-hot labels is used; it must be empty")
        return labels - 1
    values = array.reshape(-1)
    if values.size and not (np.isfinite(values).all() and (values == np.round(values)).all()):
        raise DataError(f"{where}: integer labels must be whole numbers")
    labels = values.astype(np.int64)
    if labels.size and (labels.min() < 1 or labels.max() > num_classes):
        raise DataError(
            f"{where}: integer labels run {labels.min()}..{labels.max()}, expected 1..{num_classes}"
        )
    return labels - 1


def _split_names(files: list[str]) -> list[str]:
    """Splits that have an `<split>_images` array, in the archive's order."""
    return [key[: -len("_images")] for key in files if key.endswith("_images")] + (
        ["all"] if "images" in files else []
    )


def read_npz(
    path: str | os.PathLike[str], classes: Sequence[str] = LETTERS, name: str | None = None
) -> dict[str, ImageSet]:
    """Read every `<split>_images`/`<split>_labels` pair of an .npz: {split: ImageSet}.

    `classes` names the K classes (letters 'A'..'Z' unless given); see the module docstring
    for the accepted image and label layouts.
    """
    path = Path(path)
    classes = tuple(classes)
    name = name or path.stem
    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, not an .npz file") from None
    except _READ_ERRORS as exc:
        raise DataError(f"{path}: not a readable .npz archive ({exc})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(f"{path}: holds a single array (.npy), expected an .npz archive")
    with archive:
        files = list(archive.files)
        splits = _split_names(files)
        if not splits:
            raise DataError(
                f"{path}: no `<split>_images` arrays (arrays: {', '.join(files) or 'none'})"
            )
        result: dict[str, ImageSet] = {}
        for split in splits:
            prefix = "" if split == "all" else f"{split}_"
            arrays = {}
            for kind in ("images", "labels"):
                key = f"{prefix}{kind}"
                if key not in files:
                    raise DataError(f"{path}: has {prefix}images but no {key} array")
                try:
                    arrays[kind] = archive[key]
                except _READ_ERRORS as exc:
                    raise DataError(f"{path}: cannot read array {key} ({exc})") from None
            images = _images(arrays["images"], f"{path}: {prefix}images")
            labels = _labels(arrays["labels"], len(classes), f"{path}: {prefix}labels")
            if len(images) != len(labels):
                raise DataError(
                    f"{path}: {prefix}images holds {len(images)} images "
                    f"but {prefix}labels holds {len(labels)} labels"
                )
            result[split] = ImageSet(images, labels, classes, f"{name}:{split}", (str(path),))
    return result
