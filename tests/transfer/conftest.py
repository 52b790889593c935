"""Fixtures for transfer tests: the CLI runner and image folders of real BAD bitmaps."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from charrec.cli import main
from charrec.data.readers.alphadigits import read_binary_alphadigits

# A few real images and one epoch: 2 training images per class, fold 0 of 5 held out.
TINY = ["--per-class", "2", "--folds", "5", "--fold", "0", "--epochs", "1", "--threads", "1"]


def _run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    captured = capsys.readouterr()
    return int(code), captured.out, captured.err


@pytest.fixture
def run_cli() -> Callable[..., tuple[int, str, str]]:
    """run_cli(args, capsys) -> (exit code, stdout, stderr) of `charrec ARGS`."""
    return _run_cli


@pytest.fixture
def tiny() -> list[str]:
    return list(TINY)


@pytest.fixture(scope="session")
def bad_native(real_data_dir: Path):
    """Binary AlphaDigits, all 36 classes, 20×16 as in the file."""
    return read_binary_alphadigits(real_data_dir / "binaryalphadigits" / "binaryalphadigs.mat")


@pytest.fixture
def bad_folder(bad_native, tmp_path: Path) -> Callable[..., Path]:
    """bad_folder(classes, per_class) -> an image folder of real BAD bitmaps (black on white)."""

    def make(classes: str = "ABCD", per_class: int = 6, name: str = "target") -> Path:
        root = tmp_path / name
        for cls in classes:
            index = np.flatnonzero(bad_native.labels == bad_native.classes.index(cls))
            folder = root / cls
            folder.mkdir(parents=True)
            for i in index[:per_class]:
                # Dark ink on white paper with a margin, as a user's scan would be.
                ink = bad_native.images[i] > 0
                page = np.full((28, 24), 255, dtype=np.uint8)
                page[4:24, 4:20][ink] = 0
                Image.fromarray(page).save(folder / f"{i}.png")
        return root

    return make
