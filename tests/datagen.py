"""Tiny data directories in the official layouts, written by the tests themselves."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from charrec.data.readers.idx import write_idx


def glyphs(
    count: int, num_classes: int, seed: int = 0, size: int = 28
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct random images (each a bar whose position encodes the class) and labels."""
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % num_classes
    images = rng.integers(0, 40, size=(count, size, size), dtype=np.uint8)
    for i, label in enumerate(labels):
        row = 2 + int(label) % (size - 8)
        images[i, row : row + 4, 4:20] = 255
    return images, labels.astype(np.int64)


def write_emnist_split(
    folder: Path, split: str, part: str, images: np.ndarray, labels: np.ndarray
) -> tuple[Path, Path]:
    """Write an EMNIST IDX pair as NIST does: gzipped, images transposed on disk."""
    folder.mkdir(parents=True, exist_ok=True)
    images_path = folder / f"emnist-{split}-{part}-images-idx3-ubyte.gz"
    labels_path = folder / f"emnist-{split}-{part}-labels-idx1-ubyte.gz"
    write_idx(images_path, images.transpose(0, 2, 1))
    write_idx(labels_path, labels.astype(np.uint8))
    return images_path, labels_path
