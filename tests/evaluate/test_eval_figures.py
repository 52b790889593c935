"""Figures are written, non-trivial PNGs, sized for what they show."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from charrec.data.classes import EMNIST_CLASSES
from charrec.evaluate import figures
from charrec.evaluate.calibration import reliability


def png(path: Path, min_kb: float = 8) -> tuple[int, int]:
    """Pixel size of a PNG that exists, opens and holds more than a blank image's bytes."""
    assert path.is_file()
    assert path.stat().st_size > min_kb * 1024
    with Image.open(path) as image:
        assert image.format == "PNG"
        image.load()
        # Not one flat colour: something was drawn.
        assert len(image.convert("L").getcolors(1 << 16) or ()) > 5
        return image.size


def confusion(classes: tuple[str, ...], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    k = len(classes)
    matrix = rng.poisson(2.0, size=(k, k)) * (rng.random((k, k)) < 0.2)
    return matrix + np.diag(rng.integers(50, 200, size=k))


def test_history_figure(tmp_path: Path) -> None:
    history = [
        {
            "epoch": e,
            "train_loss": 1 / e,
            "val_loss": 1.2 / e,
            "train_accuracy": 1 - 0.3 / e,
            "val_accuracy": 1 - 0.35 / e,
        }
        for e in range(1, 6)
    ]
    path = tmp_path / "history.png"
    figures.plot_history(history, path, title="Training curves")
    width, height = png(path)
    assert 1000 < width < 1400 and 400 < height < 600  # two panels side by side at 120 dpi


def test_confusion_matrix_scales_with_the_number_of_classes(tmp_path: Path) -> None:
    digits, byclass = EMNIST_CLASSES["mnist"], EMNIST_CLASSES["byclass"]
    small, large = tmp_path / "10.png", tmp_path / "62.png"
    figures.plot_confusion(confusion(digits), digits, digits, small, title="counts")
    figures.plot_confusion(confusion(byclass), byclass, byclass, large, normalise=True)
    small_size, large_size = png(small), png(large, min_kb=40)
    assert large_size[1] > 2.5 * small_size[1]
    # Every one of the 62 rows gets at least 25 pixels, enough for an 8-point name.
    assert large_size[1] / 62 >= 25
    layout = figures.confusion_layout(62)
    assert layout["tick_font"] >= 8
    assert figures.confusion_layout(47)["side"] < layout["side"]


def test_confusion_matrix_with_an_other_column(tmp_path: Path) -> None:
    rows = EMNIST_CLASSES["letters"][:19]
    columns = (*EMNIST_CLASSES["letters"], "other")
    matrix = np.hstack([confusion(rows), np.zeros((19, 8), dtype=int)])
    matrix[:, -1] = 3
    path = tmp_path / "rect.png"
    figures.plot_confusion(matrix, rows, columns, path)
    width, height = png(path)
    assert width > height  # 27 columns for 19 rows


def test_reliability_and_per_class_figures(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    confidences = rng.uniform(0.3, 1.0, size=2000)
    correct = rng.random(2000) < confidences
    figures.plot_reliability(reliability(confidences, correct), tmp_path / "rel.png")
    width, height = png(tmp_path / "rel.png")
    assert 550 < width < 800 and 650 < height < 900

    classes = EMNIST_CLASSES["byclass"]
    scores = rng.uniform(0.4, 1.0, size=62)
    figures.plot_per_class(classes, scores, tmp_path / "f1.png", average=float(scores.mean()))
    width, height = png(tmp_path / "f1.png")
    assert width > 1600 and width > 3 * height  # one readable bar per class


def test_prediction_grid_and_curves(tmp_path: Path) -> None:
    images = np.zeros((6, 28, 28), dtype=np.uint8)
    images[:, 6:22, 12:16] = 255
    figures.prediction_grid(
        images, list("AAABBB"), list("ABABAB"), [0.9] * 6, tmp_path / "g.png", columns=6
    )
    width, height = png(tmp_path / "g.png", min_kb=4)
    assert width > 2 * height

    curves = {
        name: [{"epoch": e, "val_accuracy": a - 0.1 / e, "val_loss": 0.5 / e} for e in (1, 2, 3)]
        for name, a in (("mlp", 0.97), ("cnn", 0.99))
    }
    figures.plot_curves(curves, tmp_path / "c.png")
    width, height = png(tmp_path / "c.png")
    assert width > 1.5 * height


@pytest.fixture(autouse=True)
def _no_figures_left_open():
    import matplotlib.pyplot as plt

    yield
    assert plt.get_fignums() == []
