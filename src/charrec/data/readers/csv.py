"""EMNIST (and MNIST) as CSV, the Kaggle layout: one image per line.

Each line is the label followed by the image's pixel values, 0..255, separated by commas;
there is no header (a first line with letters in it, like `label,pixel0,...`, is taken as
one and skipped). Kaggle's EMNIST CSVs were written from the IDX files, so their images
are transposed like those (`transposed=True`); MNIST CSVs are upright. EMNIST Letters
labels run 1..26: pass `label_offset=1`.

The file is parsed in blocks of about 32 MB with NumPy's C parser, so memory stays near
the size of the result and no Python code runs per value. Only a block that fails this
fast path is read again line by line, to name the line and what is wrong with it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from charrec.data.imageset import ImageSet
from charrec.data.readers.opening import open_binary
from charrec.errors import DataError

_BLOCK_BYTES = 32 * 1024 * 1024


def _blocks(path: Path) -> Iterator[tuple[int, bytes]]:
    """(number of its first line, bytes) of each block of whole lines of the file."""
    line_number = 1
    with open_binary(path, "a CSV file") as handle:
        while True:
            try:
                block = handle.read(_BLOCK_BYTES)
                if block and not block.endswith(b"\n"):
                    block += handle.readline()
            except OSError as exc:
                raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
            if not block:
                return
            yield line_number, block
            line_number += block.count(b"\n")


def _decimal_length(values: np.ndarray) -> int:
    """Characters needed to write `values` in plain decimal (no sign for >= 0, no zeros)."""
    magnitude = np.abs(values.astype(np.int32))
    digits = values.size + sum(int(np.count_nonzero(magnitude >= 10**k)) for k in range(1, 5))
    return digits + int(np.count_nonzero(values < 0))


def _parse_fast(block: bytes, columns: int) -> tuple[np.ndarray, int] | None:
    """(table, blank lines before it) for a clean block, or None to take the careful path.

    Values are parsed as int16 for speed; comparing the text's length with the length of
    the parsed values written out proves that no value wrapped around (or had odd padding).
    """
    body = block.replace(b"\r", b"")
    text = body.strip()
    if not text:
        return np.empty((0, columns), dtype=np.int16), 0
    leading = body[: len(body) - len(body.lstrip())].count(b"\n")
    rows = text.count(b"\n") + 1
    text = text.replace(b"\n", b",")
    try:
        values = np.fromstring(text, dtype=np.int16, sep=",")
    except ValueError:
        return None
    if values.size != rows * columns or _decimal_length(values) + values.size - 1 != len(text):
        return None
    return values.reshape(rows, columns), leading


def _parse_careful(
    block: bytes, first_line: int, columns: int, path: Path
) -> tuple[np.ndarray, np.ndarray]:
    """(table, line numbers) of a block with blank lines or odd spacing; or the exact error."""
    numbered = [(first_line + i, line.strip()) for i, line in enumerate(block.split(b"\n"))]
    numbered = [(number, line) for number, line in numbered if line]
    for number, line in numbered:
        fields = line.split(b",")
        where = f"{path}, line {number}"
        if len(fields) != columns:
            raise DataError(f"{where}: {len(fields)} values, expected {columns} (label + pixels)")
        for column, field in enumerate(fields, start=1):
            text = field.strip()
            digits = text[1:] if text[:1] in (b"+", b"-") else text
            if not digits.isdigit() or len(digits) > 18:
                shown = text[:20].decode("utf-8", "replace")
                raise DataError(f"{where}, column {column}: {shown!r} is not a whole number")
    numbers = np.array([number for number, _ in numbered], dtype=np.int64)
    if not numbered:
        return np.empty((0, columns), dtype=np.int64), numbers
    # Every field is now a plain integer, so NumPy parses the lot.
    values = np.fromstring(b",".join(line for _, line in numbered), dtype=np.int64, sep=",")
    return values.reshape(len(numbered), columns), numbers


def read_emnist_csv(
    path: str | os.PathLike[str],
    classes: Sequence[str],
    transposed: bool = True,
    label_offset: int = 0,
    image_shape: tuple[int, int] = (28, 28),
    name: str | None = None,
) -> ImageSet:
    """Read a Kaggle-style CSV of `label,pixel,...` lines into an ImageSet.

    `label_offset` is subtracted from every label so that they run 0..len(classes)-1;
    `transposed` says the pixels are stored column by column (Kaggle's EMNIST CSVs).
    """
    path = Path(path)
    classes = tuple(classes)
    rows, cols = image_shape
    if transposed and rows != cols:
        raise DataError(f"{path}: transposed images must be square, got {rows}×{cols}")
    columns = 1 + rows * cols
    image_parts: list[np.ndarray] = []
    label_parts: list[np.ndarray] = []
    for first_line, block in _blocks(path):
        if first_line == 1:
            first = block.split(b"\n", 1)[0]
            # A header (`label,pixel0,...`) has no field that is a number.
            if not any(field.strip().isdigit() for field in first.split(b",")):
                block = block[len(first) + 1 :]
                first_line = 2
        fast = _parse_fast(block, columns)
        if fast is not None:
            table, leading = fast
            numbers = first_line + leading + np.arange(len(table))
        else:
            table, numbers = _parse_careful(block, first_line, columns, path)
        pixels = table[:, 1:]
        bad_pixels = (pixels < 0).any(axis=1) | (pixels > 255).any(axis=1)
        if bad_pixels.any():
            line = numbers[np.flatnonzero(bad_pixels)[0]]
            raise DataError(f"{path}, line {line}: pixel values must be 0..255")
        labels = table[:, 0].astype(np.int64) - label_offset
        outside = (labels < 0) | (labels >= len(classes))
        if outside.any():
            bad = int(np.flatnonzero(outside)[0])
            raise DataError(
                f"{path}, line {numbers[bad]}: label {table[bad, 0]} is outside "
                f"{label_offset}..{label_offset + len(classes) - 1} for {len(classes)} classes"
            )
        image_parts.append(pixels.astype(np.uint8))
        label_parts.append(labels)
    images = np.concatenate(image_parts) if image_parts else np.empty((0, columns - 1), np.uint8)
    if len(images) == 0:
        raise DataError(f"{path}: no images (the file is empty)")
    images = images.reshape(-1, rows, cols)
    if transposed:
        images = images.transpose(0, 2, 1)
    return ImageSet(
        np.ascontiguousarray(images),
        np.concatenate(label_parts),
        classes,
        name or path.stem,
        (str(path),),
    )
