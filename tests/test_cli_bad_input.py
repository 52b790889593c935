"""Every kind of bad data file gives one clear line naming the file, exit code 2."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from charrec.cli import main
from charrec.data.readers.idx import write_idx
from datagen import glyphs


def mnist_dir(tmp_path: Path, images: np.ndarray, labels: np.ndarray) -> Path:
    folder = tmp_path / "mnist"
    folder.mkdir()
    write_idx(folder / "t10k-images-idx3-ubyte.gz", images)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", labels.astype(np.uint8))
    return folder


def truncated_gzip(tmp_path: Path) -> tuple[list[str], str]:
    images, labels = glyphs(20, 10)
    folder = mnist_dir(tmp_path, images, labels)
    path = folder / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-40])
    return ["data", "info", "mnist", "--data-dir", str(tmp_path)], "t10k-images"


def corrupt_gzip(tmp_path: Path) -> tuple[list[str], str]:
    images, labels = glyphs(20, 10)
    folder = mnist_dir(tmp_path, images, labels)
    path = folder / "t10k-labels-idx1-ubyte.gz"
    data = bytearray(path.read_bytes())
    data[12:20] = b"\xff" * 8
    path.write_bytes(bytes(data))
    return ["data", "info", "mnist", "--data-dir", str(tmp_path)], "t10k-labels"


def wrong_magic(tmp_path: Path) -> tuple[list[str], str]:
    images, labels = glyphs(20, 10)
    folder = mnist_dir(tmp_path, images, labels)
    # A label file where the image file should be.
    write_idx(folder / "t10k-images-idx3-ubyte.gz", labels.astype(np.uint8))
    return ["data", "info", "mnist", "--data-dir", str(tmp_path)], "magic"


def count_mismatch(tmp_path: Path) -> tuple[list[str], str]:
    images, labels = glyphs(20, 10)
    mnist_dir(tmp_path, images, labels[:12])
    return ["data", "info", "mnist", "--data-dir", str(tmp_path)], "12 labels"


def labels_out_of_range(tmp_path: Path) -> tuple[list[str], str]:
    images, labels = glyphs(20, 10)
    labels[0] = 200
    mnist_dir(tmp_path, images, labels)
    return ["data", "info", "mnist", "--data-dir", str(tmp_path)], "labels run"


def wrong_shape(tmp_path: Path) -> tuple[list[str], str]:
    images, labels = glyphs(20, 10, size=20)
    mnist_dir(tmp_path, images, labels)
    return ["data", "info", "mnist", "--data-dir", str(tmp_path)], "expected 28×28"


def bad_mat(tmp_path: Path) -> tuple[list[str], str]:
    path = tmp_path / "emnist-letters.mat"
    path.write_bytes(b"MATLAB 5.0 MAT-file" + bytes(200))
    return ["data", "info", str(path)], "emnist-letters.mat"


def bad_npz(tmp_path: Path) -> tuple[list[str], str]:
    path = tmp_path / "emnist_letter.npz"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    return ["data", "info", str(path)], "emnist_letter.npz"


def bad_csv(tmp_path: Path) -> tuple[list[str], str]:
    path = tmp_path / "emnist-letters-train.csv"
    path.write_text("1," + ",".join(["0"] * 700) + "\n")
    return ["data", "info", str(path)], "emnist-letters-train.csv"


def missing_file(tmp_path: Path) -> tuple[list[str], str]:
    return ["data", "info", "mnist", "--data-dir", str(tmp_path)], "not found"


def not_gzip_at_all(tmp_path: Path) -> tuple[list[str], str]:
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (folder / name).write_bytes(gzip.compress(b"hello world, not idx"))
    return ["data", "info", "mnist", "--data-dir", str(tmp_path)], "t10k-"


CASES: list[Callable[[Path], tuple[list[str], str]]] = [
    truncated_gzip,
    corrupt_gzip,
    wrong_magic,
    count_mismatch,
    labels_out_of_range,
    wrong_shape,
    bad_mat,
    bad_npz,
    bad_csv,
    missing_file,
    not_gzip_at_all,
]


@pytest.mark.parametrize("make_case", CASES, ids=[c.__name__ for c in CASES])
def test_bad_input_exits_2_with_one_line(make_case, tmp_path: Path, capsys) -> None:
    args, expected = make_case(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert expected in err
    assert "Traceback" not in err and err.strip().count("\n") == 0
