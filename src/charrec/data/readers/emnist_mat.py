"""EMNIST MATLAB files (`emnist-<split>.mat` from NIST's matlab.zip).

Each file holds one struct, `dataset`, with fields `train` and `test` (each with `images`,
N×784 uint8, `labels`, N×1, and `writers`) and `mapping`, K×2 rows of (label, ASCII code),
or K×3 for Letters, which lists the upper and the lower case code of each merged class.

Orientation: row i of `images` is MATLAB's column-major flattening of the upright image,
so `reshape(images(i,:), 28, 28)` is upright in MATLAB. Read row by row as NumPy does
(C order), the same 784 values give the transposed image, exactly as the IDX files store
them; the reader reshapes in C order and transposes back, which is the same as a Fortran
order reshape.

Labels become 0..K-1 by subtracting the smallest label of the mapping (Letters runs
1..26). A class is named by its character; a case-merged class by its capital ('A').

MATLAB v7.3 files are HDF5 containers that SciPy cannot read; they are refused with a
message saying so.
"""

from __future__ import annotations

import math
import os
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import scipy.io
from scipy.io.matlab import MatReadError

from charrec.data.imageset import ImageSet
from charrec.data.readers.opening import open_binary
from charrec.errors import DataError

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# What SciPy's MAT parser raises on a damaged or foreign file.
_MAT_ERRORS = (
    MatReadError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    NotImplementedError,
    EOFError,
    OSError,
    UnicodeError,
    zlib.error,
)


def load_mat(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The variables of a MATLAB v4-v7 file, as scipy.io.loadmat gives them.

    Raises DataError for a missing file, a v7.3 (HDF5) file or anything SciPy cannot parse.
    """
    path = Path(path)
    with open_binary(path, "a MATLAB file") as handle:
        head = handle.read(520)
    # v7.3 files start with a text header like v5, but the data is an HDF5 file at offset 512.
    if head.startswith(b"MATLAB 7.3") or head[512:520] == _HDF5_SIGNATURE:
        raise DataError(
            f"{path}: MATLAB v7.3 (HDF5) files are not supported; "
            "save it again with `save(..., '-v7')` or use the IDX (gzip) release"
        )
    try:
        return scipy.io.loadmat(path)
    except _MAT_ERRORS as exc:
        raise DataError(f"{path}: not a readable MATLAB file ({exc})") from None


def require_variable(variables: dict[str, Any], name: str, path: Path, kind: str) -> Any:
    """The MATLAB variable `name`, or a DataError listing the variables the file has."""
    if name not in variables:
        found = ", ".join(k for k in variables if not k.startswith("__")) or "none"
        raise DataError(f"{path}: no `{name}` variable (variables: {found}); not {kind}")
    return variables[name]


def _field(struct: Any, name: str, path: Path, where: str) -> Any:
    """Field `name` of a 1×1 MATLAB struct as loadmat returns it (a record array)."""
    names = getattr(getattr(struct, "dtype", None), "names", None)
    if not names:
        raise DataError(f"{path}: {where} is not a MATLAB struct")
    if name not in names:
        raise DataError(f"{path}: {where} has no field {name!r} (fields: {', '.join(names)})")
    if struct.size != 1:
        raise DataError(f"{path}: {where} is a {struct.shape} struct array, expected 1×1")
    return struct[name].flat[0]


def _integers(array: Any, path: Path, what: str) -> np.ndarray:
    """A numeric array whose values are whole numbers, as int64."""
    array = np.asarray(array)
    if array.dtype.kind not in "uif" or (array.dtype.kind == "f" and not np.isfinite(array).all()):
        raise DataError(f"{path}: {what} must be numbers, got {array.dtype}")
    as_int = array.astype(np.int64)
    if array.dtype.kind == "f" and not np.array_equal(as_int, array):
        raise DataError(f"{path}: {what} must be whole numbers")
    return as_int


def _mapping(dataset: Any, path: Path) -> tuple[tuple[str, ...], int]:
    """Class names and the first label from the K×2 or K×3 `mapping` field."""
    mapping = _integers(_field(dataset, "mapping", path, "dataset"), path, "dataset.mapping")
    if mapping.ndim != 2 or mapping.shape[1] not in (2, 3) or len(mapping) == 0:
        raise DataError(f"{path}: dataset.mapping is {mapping.shape}, expected K×2 or K×3")
    labels, codes = mapping[:, 0], mapping[:, 1:]
    first = int(labels[0])
    if not np.array_equal(labels, np.arange(first, first + len(labels))):
        raise DataError(f"{path}: dataset.mapping labels are not consecutive")
    if codes.min() < 0 or codes.max() > 0x10FFFF:
        raise DataError(f"{path}: dataset.mapping holds character codes out of range")
    # K×3 lists (upper, lower) of a case-merged class: name it by the capital, the smaller code.
    return tuple(chr(int(row.min())) for row in codes), first


def _part(
    dataset: Any, part: str, path: Path, classes: tuple[str, ...], first: int, name: str
) -> ImageSet:
    struct = _field(dataset, part, path, "dataset")
    images = np.asarray(_field(struct, "images", path, f"dataset.{part}"))
    # The official files are uint8; check and convert anything else (without copying those).
    if images.dtype != np.uint8:
        images = _integers(images, path, f"dataset.{part}.images")
        if images.size and (images.min() < 0 or images.max() > 255):
            raise DataError(f"{path}: dataset.{part}.images has values outside 0..255")
    labels = _integers(
        _field(struct, "labels", path, f"dataset.{part}"), path, f"dataset.{part}.labels"
    )
    if images.ndim != 2:
        raise DataError(f"{path}: dataset.{part}.images is {images.shape}, expected N×784")
    side = math.isqrt(images.shape[1])
    if side * side != images.shape[1] or side == 0:
        raise DataError(
            f"{path}: dataset.{part}.images has {images.shape[1]} columns, not a square image"
        )
    if labels.ndim != 2 or labels.shape[1] != 1:
        raise DataError(f"{path}: dataset.{part}.labels is {labels.shape}, expected N×1")
    labels = labels[:, 0] - first
    if len(labels) != len(images):
        raise DataError(
            f"{path}: dataset.{part} holds {len(images)} images but {len(labels)} labels"
        )
    if len(labels) and (labels.min() < 0 or labels.max() >= len(classes)):
        raise DataError(
            f"{path}: dataset.{part}.labels run {labels.min() + first}..{labels.max() + first}, "
            f"outside the mapping's {first}..{first + len(classes) - 1}"
        )
    # Stored transposed (see the module docstring): C-order reshape, then transpose back.
    upright = images.astype(np.uint8, copy=False).reshape(-1, side, side).transpose(0, 2, 1)
    return ImageSet(np.ascontiguousarray(upright), labels, classes, f"{name}:{part}", (str(path),))


def read_emnist_mat(path: str | os.PathLike[str], name: str | None = None) -> dict[str, ImageSet]:
    """Read an official `emnist-<split>.mat` file: {"train": ImageSet, "test": ImageSet}.

    Images come out upright (N×28×28 uint8, white ink on black), labels 0..K-1, class names
    from the file's own mapping. `name` defaults to the file name without `.mat`.
    """
    path = Path(path)
    dataset = require_variable(load_mat(path), "dataset", path, "an EMNIST file")
    classes, first = _mapping(dataset, path)
    name = name or path.stem
    return {part: _part(dataset, part, path, classes, first, name) for part in ("train", "test")}
