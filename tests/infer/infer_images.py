"""Pictures of characters drawn by the tests: fonts, pens, paper, shadows and noise.

The drawing lives in the library (`charrec.infer.realistic.render`), where the
realistic test set draws with it too; the measurements below are the tests' own.
"""

from __future__ import annotations

import numpy as np

from charrec.infer.realistic.fonts import find_font
from charrec.infer.realistic.render import K_STROKES, render_pen, render_text

__all__ = [
    "K_STROKES",
    "centre_of_mass",
    "correlation",
    "find_font",
    "ink_box",
    "render_pen",
    "render_text",
]


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two images' pixels."""
    return float(np.corrcoef(a.astype(np.float64).ravel(), b.astype(np.float64).ravel())[0, 1])


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(row, column) of an image's intensity centre."""
    weights = image.astype(np.float64)
    rows, cols = np.indices(image.shape)
    return float((weights * rows).sum() / weights.sum()), float(
        (weights * cols).sum() / weights.sum()
    )


def ink_box(image: np.ndarray, level: int = 0) -> tuple[int, int]:
    """Height and width of the box of pixels above `level`."""
    rows = np.flatnonzero((image > level).any(axis=1))
    cols = np.flatnonzero((image > level).any(axis=0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)
