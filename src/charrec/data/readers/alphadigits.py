"""Binary AlphaDigits (Roweis), the original `binaryalphadigs.mat` (MATLAB v5).

`dat` is a 36×39 cell array: row k holds the 39 examples of class k, digits '0'..'9' in
rows 0-9 and capitals 'A'..'Z' in rows 10-35. Each cell is a 20×16 uint8 image of 0s and
1s, upright, with 1 for ink (the minority value: 41% of the pixels of the real file).
`classlabels`, `classcounts` and `numclass` describe the same and are checked when present.

The reader keeps the native 20×16 size (ink 255 on 0); `charrec.data.resize.to_emnist_frame`
converts to EMNIST's 28×28 frame.
"""

from __future__ import annotations

import os
import string
from pathlib import Path
from typing import Any

import numpy as np

from charrec.data.imageset import ImageSet
from charrec.data.readers.emnist_mat import load_mat, require_variable
from charrec.errors import DataError

CLASSES = tuple(string.digits + string.ascii_uppercase)
IMAGE_SHAPE = (20, 16)


def _class_names(value: Any, path: Path) -> tuple[str, ...] | None:
    """The names in `classlabels` (a 1×K cell of strings), or None if it is not that."""
    try:
        return tuple(str(np.asarray(cell).ravel()[0]) for cell in np.asarray(value).ravel())
    except (IndexError, TypeError, ValueError):
        raise DataError(f"{path}: classlabels is not a cell array of class names") from None


def read_binary_alphadigits(
    path: str | os.PathLike[str], letters_only: bool = False, name: str | None = None
) -> ImageSet:
    """All 1,404 images (36 classes '0'..'9','A'..'Z'), or the 1,014 letters (26 classes).

    Images are 20×16 uint8 with ink 255; labels are 0..35, or 0..25 ('A'..'Z') with
    `letters_only`; images are grouped by class in the file's order.
    """
    path = Path(path)
    variables = load_mat(path)
    dat = require_variable(variables, "dat", path, "Binary AlphaDigits")
    if not isinstance(dat, np.ndarray) or dat.dtype != object or dat.ndim != 2:
        raise DataError(f"{path}: `dat` must be a cell array of images")
    if dat.shape[0] != len(CLASSES):
        raise DataError(f"{path}: `dat` has {dat.shape[0]} rows, expected {len(CLASSES)} classes")
    if "classlabels" in variables:
        names = _class_names(variables["classlabels"], path)
        if names != CLASSES:
            raise DataError(f"{path}: classlabels {names} are not '0'..'9','A'..'Z'")

    first = 10 if letters_only else 0
    cells = dat[first:]
    images = np.empty((cells.size, *IMAGE_SHAPE), dtype=np.uint8)
    for i, cell in enumerate(cells.ravel()):  # row-major: class by class, as in the file
        image = np.asarray(cell)
        row, col = divmod(i, cells.shape[1])
        where = f"dat{{{first + row + 1},{col + 1}}}"  # MATLAB's 1-based cell index
        if image.shape != IMAGE_SHAPE:
            raise DataError(f"{path}: {where} is {image.shape}, expected 20×16")
        if image.dtype.kind not in "biuf" or not ((image == 0) | (image == 1)).all():
            raise DataError(f"{path}: {where} must hold only 0 and 1")
        images[i] = image
    images *= 255
    labels = np.repeat(np.arange(len(cells), dtype=np.int64), cells.shape[1])
    classes = CLASSES[first:]
    default = "binaryalphadigits-letters" if letters_only else "binaryalphadigits"
    return ImageSet(images, labels, classes, name or default, (str(path),))
