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


# --- a user's own files, in each format charrec reads by path ----------------------------


def write_idx_pair(
    folder: Path, prefix: str, part: str, images: np.ndarray, labels: np.ndarray, transposed: bool
) -> Path:
    """`<prefix><part>-images-idx3-ubyte.gz` and its labels file; returns the images file."""
    folder.mkdir(parents=True, exist_ok=True)
    images_path = folder / f"{prefix}{part}-images-idx3-ubyte.gz"
    write_idx(images_path, images.transpose(0, 2, 1) if transposed else images)
    write_idx(folder / f"{prefix}{part}-labels-idx1-ubyte.gz", labels.astype(np.uint8))
    return images_path


def write_kaggle_csv(path: Path, images: np.ndarray, labels: np.ndarray) -> Path:
    """Kaggle's EMNIST layout: `label,pixel,...` per line, images stored transposed."""
    table = np.column_stack([labels, images.transpose(0, 2, 1).reshape(len(images), -1)])
    np.savetxt(path, table, fmt="%d", delimiter=",")
    return path


def write_emnist_mat(path: Path, parts: dict[str, tuple[np.ndarray, np.ndarray]]) -> Path:
    """An EMNIST Letters `.mat` shaped like NIST's: dataset.{train,test}, labels 1..26."""
    import scipy.io

    def part(images: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
        return {
            # MATLAB's column-major flattening of each upright image.
            "images": images.reshape(len(images), -1, order="F"),
            "labels": (labels + 1).reshape(-1, 1).astype(np.float64),
            "writers": np.zeros((len(labels), 1)),
        }

    mapping = np.array([[k, 64 + k, 96 + k] for k in range(1, 27)], dtype=np.float64)
    dataset = {name: part(*arrays) for name, arrays in parts.items()}
    scipy.io.savemat(path, {"dataset": {**dataset, "mapping": mapping}}, do_compression=True)
    return path


def write_course_npz(path: Path, parts: dict[str, tuple[np.ndarray, np.ndarray]]) -> Path:
    """The course layout: `<part>_images` floats in [0, 1], `<part>_labels` one-hot over 27
    columns with column 0 unused."""
    arrays = {}
    for name, (images, labels) in parts.items():
        one_hot = np.zeros((len(labels), 27), dtype=np.float32)
        one_hot[np.arange(len(labels)), labels + 1] = 1
        arrays[f"{name}_images"] = images / 255.0
        arrays[f"{name}_labels"] = one_hot
    np.savez(path, **arrays)
    return path


def write_image_folder(
    folder: Path, parts: dict[str, tuple[np.ndarray, np.ndarray]], classes: str
) -> Path:
    """`<part>/<class>/<n>.png`, dark ink on white as people scan it."""
    from PIL import Image

    for name, (images, labels) in parts.items():
        for i, (image, label) in enumerate(zip(images, labels, strict=True)):
            target = folder / name / classes[label]
            target.mkdir(parents=True, exist_ok=True)
            Image.fromarray(255 - image).save(target / f"{i}.png")
    return folder
