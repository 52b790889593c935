"""Figures people read at a glance. Rendered with matplotlib's Agg backend (no screen)."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from charrec.fileio import atomic_path


def save_figure(figure: plt.Figure, path: str | os.PathLike[str], dpi: int = 120) -> None:
    """Write a PNG atomically and free the figure."""
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(figure)


def image_grid(
    images: np.ndarray,
    titles: Sequence[str],
    path: str | os.PathLike[str],
    columns: int | None = None,
    title_colors: Sequence[str] | None = None,
    suptitle: str = "",
) -> None:
    """A labelled grid of images (white ink on black shown as dark ink on white paper)."""
    count = len(images)
    columns = columns or min(count, max(1, math.ceil(math.sqrt(count))))
    rows = max(1, math.ceil(count / columns))
    figure, axes = plt.subplots(
        rows,
        columns,
        figsize=(1.2 * columns, 1.35 * rows + (0.4 if suptitle else 0)),
        squeeze=False,
    )
    for i, axis in enumerate(axes.flat):
        axis.axis("off")
        if i >= count:
            continue
        axis.imshow(images[i], cmap="gray_r", vmin=0, vmax=255, interpolation="nearest")
        color = title_colors[i] if title_colors else "black"
        axis.set_title(titles[i], fontsize=9, color=color, pad=2)
    if suptitle:
        figure.suptitle(suptitle, fontsize=11)
    figure.tight_layout()
    save_figure(figure, path)
