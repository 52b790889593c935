"""Figures people read at a glance. Rendered with matplotlib's Agg backend (no screen)."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm, PowerNorm
from matplotlib.ticker import MaxNLocator

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
    """A labelled grid of images (white ink on black shown as dark ink on white paper).

    The images are laid into one mosaic array drawn once, each shown one inch wide with
    its title above it: one axes instead of one per image, so large grids draw fast.
    """
    images = np.asarray(images)
    count = len(images)
    columns = columns or min(count, max(1, math.ceil(math.sqrt(count))))
    rows = max(1, math.ceil(count / columns))
    height, width = (int(n) for n in images.shape[1:3]) if count else (28, 28)
    lines = max((str(t).count("\n") + 1 for t in titles), default=1)
    # Mosaic pixels per inch: an image is one inch wide. The title band holds `lines`
    # lines of 9-point text; the gap keeps neighbours apart.
    per_inch = width
    band = math.ceil((0.16 * lines + 0.1) * per_inch)
    gap = math.ceil(0.2 * per_inch)
    cell_h, cell_w = height + band, width + gap
    mosaic = np.zeros((rows * cell_h, columns * cell_w), dtype=np.uint8)
    for i in range(count):
        row, column = divmod(i, columns)
        top, left = row * cell_h + band, column * cell_w + gap // 2
        mosaic[top : top + height, left : left + width] = images[i]
    head = 0.45 if suptitle else 0.0
    size = (mosaic.shape[1] / per_inch, mosaic.shape[0] / per_inch + head)
    figure = plt.figure(figsize=size)
    axis = figure.add_axes((0.0, 0.0, 1.0, 1.0 - head / size[1]))
    axis.imshow(mosaic, cmap="gray_r", vmin=0, vmax=255, interpolation="nearest", aspect="auto")
    axis.axis("off")
    for i in range(count):
        row, column = divmod(i, columns)
        axis.text(
            column * cell_w + cell_w / 2,
            row * cell_h + band - 1.5,
            titles[i],
            ha="center",
            va="bottom",
            fontsize=9,
            color=title_colors[i] if title_colors else "black",
            linespacing=1.1,
        )
    if suptitle:
        figure.suptitle(suptitle, fontsize=11, y=1 - 0.12 / size[1], va="top")
    save_figure(figure, path)


# --- training curves ---------------------------------------------------------------------


def _series(history: Sequence[Mapping[str, Any]], key: str) -> tuple[list[float], list[float]]:
    """(epochs, values) of one history column, skipping epochs where it is missing."""
    points = [
        (float(row.get("epoch", i + 1)), float(row[key]))
        for i, row in enumerate(history)
        if row.get(key) is not None
    ]
    return [p[0] for p in points], [p[1] for p in points]


def _epoch_axis(axis: plt.Axes) -> None:
    axis.set_xlabel("epoch")
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.grid(alpha=0.3)


def plot_history(
    history: Sequence[Mapping[str, Any]], path: str | os.PathLike[str], title: str = ""
) -> None:
    """Loss and accuracy per epoch, train and validation, side by side."""
    figure, (loss_axis, acc_axis) = plt.subplots(1, 2, figsize=(10, 3.8))
    marker = "o" if len(history) <= 30 else None
    for axis, metric, label in ((loss_axis, "loss", "loss"), (acc_axis, "accuracy", "accuracy")):
        for split, name in (("train", "train"), ("val", "validation")):
            epochs, values = _series(history, f"{split}_{metric}")
            if values:
                axis.plot(epochs, values, marker=marker, markersize=3, label=name)
        axis.set_ylabel(label)
        axis.set_title(label.capitalize(), fontsize=11)
        _epoch_axis(axis)
        axis.legend(fontsize=9)
    epochs, val_acc = _series(history, "val_accuracy")
    if val_acc:
        best = int(np.argmax(val_acc))
        acc_axis.axvline(epochs[best], color="gray", linestyle=":", linewidth=1)
        acc_axis.annotate(
            f"best {100 * val_acc[best]:.2f}%",
            (epochs[best], val_acc[best]),
            textcoords="offset points",
            xytext=(4, -12),
            fontsize=8,
            color="gray",
        )
    if title:
        figure.suptitle(title, fontsize=12)
    figure.tight_layout()
    save_figure(figure, path)


def plot_curves(
    histories: Mapping[str, Sequence[Mapping[str, Any]]],
    path: str | os.PathLike[str],
    keys: Sequence[tuple[str, str]] = (
        ("val_accuracy", "validation accuracy"),
        ("val_loss", "validation loss"),
    ),
) -> None:
    """Overlay of several runs' curves, one panel per key, one colour per run."""
    figure, axes = plt.subplots(
        1, len(keys), figsize=(5.5 * len(keys), 4.4), squeeze=False, layout="constrained"
    )
    colours = plt.get_cmap("tab10" if len(histories) <= 10 else "tab20").colors
    for axis, (key, label) in zip(axes.flat, keys, strict=True):
        for i, (name, history) in enumerate(histories.items()):
            epochs, values = _series(history, key)
            if values:
                marker = "o" if len(values) <= 30 else None
                axis.plot(
                    epochs,
                    values,
                    marker=marker,
                    markersize=3,
                    label=name,
                    color=colours[i % len(colours)],
                )
        axis.set_title(label.capitalize(), fontsize=11)
        axis.set_ylabel(label)
        _epoch_axis(axis)
    # One legend for both panels, below them: the same colour is the same run.
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if handles:
        figure.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 3))
    save_figure(figure, path)


# --- confusion matrix --------------------------------------------------------------------

# Cell values are written into the cells only up to this many classes.
ANNOTATE_MAX_CLASSES = 20


def confusion_layout(num_classes: int) -> dict[str, float]:
    """Figure side (inches) and font sizes that keep K class names legible."""
    return {
        "side": float(np.clip(0.26 * num_classes + 2.5, 5.0, 19.0)),
        "tick_font": float(np.clip(15 - num_classes / 8, 8, 12)),
        "cell_font": float(np.clip(13 - num_classes / 2, 6, 10)),
    }


def plot_confusion(
    matrix: np.ndarray,
    rows: Sequence[str],
    columns: Sequence[str],
    path: str | os.PathLike[str],
    normalise: bool = False,
    title: str = "",
) -> None:
    """Confusion matrix (rows true, columns predicted), counts or row-normalised.

    Colours use a compressed scale (log for counts, square root for shares), so that the
    few errors stay visible next to the large diagonal.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    totals = matrix.sum(axis=1, keepdims=True)
    values = (
        np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
        if normalise
        else matrix
    )
    layout = confusion_layout(max(len(rows), len(columns)))
    side = layout["side"]
    figure, axis = plt.subplots(figsize=(side * len(columns) / len(rows) + 1.2, side))
    if normalise:
        norm = PowerNorm(gamma=0.5, vmin=0.0, vmax=1.0)
        shown = np.ma.masked_equal(values, 0.0)
    else:
        norm = LogNorm(vmin=1, vmax=max(float(values.max()), 2.0))
        shown = np.ma.masked_less(values, 1)
    image = axis.imshow(shown, cmap="Blues", norm=norm, interpolation="nearest", aspect="equal")
    axis.set_facecolor("white")
    colourbar = figure.colorbar(image, ax=axis, fraction=0.04, pad=0.02)
    colourbar.ax.tick_params(labelsize=8)
    colourbar.set_label(
        "share of the true class" if normalise else "images (log scale)", fontsize=9
    )
    tick = layout["tick_font"]
    axis.set_xticks(range(len(columns)), list(columns), fontsize=tick)
    for label in axis.get_xticklabels():
        # Characters stand upright; longer names ("other", words) turn to fit their column.
        if len(label.get_text()) > 2:
            label.set_rotation(90)
    axis.set_yticks(range(len(rows)), list(rows), fontsize=tick)
    axis.tick_params(length=0)
    axis.set_xlabel("predicted", fontsize=11)
    axis.set_ylabel("true", fontsize=11)
    # Light lines between cells make rows and columns easy to follow across a large matrix.
    axis.set_xticks(np.arange(-0.5, len(columns)), minor=True)
    axis.set_yticks(np.arange(-0.5, len(rows)), minor=True)
    axis.grid(which="minor", color="#e4e4e4", linewidth=0.5)
    axis.tick_params(which="minor", length=0)
    if max(len(rows), len(columns)) <= ANNOTATE_MAX_CLASSES:
        threshold = 0.5 if normalise else math.sqrt(max(values.max(), 1.0))
        for (i, j), value in np.ndenumerate(values):
            if value == 0:
                continue
            text = f"{100 * value:.0f}" if normalise else f"{int(value)}"
            colour = "white" if value > threshold else "black"
            axis.text(
                j, i, text, ha="center", va="center", fontsize=layout["cell_font"], color=colour
            )
    if title:
        axis.set_title(title, fontsize=12)
    save_figure(figure, path)


# --- calibration and per-class scores ---------------------------------------------------


def plot_reliability(calibration: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """Reliability diagram: accuracy per confidence bin against the diagonal, and bin sizes."""
    edges = np.asarray(calibration["edges"])
    width = edges[1] - edges[0]
    centres = edges[:-1] + width / 2
    counts = np.asarray(calibration["counts"], dtype=np.float64)
    accuracy = np.array([np.nan if a is None else a for a in calibration["accuracy"]])
    confidence = np.array([np.nan if c is None else c for c in calibration["confidence"]])
    figure, (top, bottom) = plt.subplots(
        2, 1, figsize=(5.5, 6.2), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    filled = counts > 0
    top.bar(
        centres[filled],
        accuracy[filled],
        width=width * 0.95,
        color="#4a7fb5",
        edgecolor="#2b5d8f",
        label="accuracy",
    )
    gap = confidence - accuracy
    top.bar(
        centres[filled],
        gap[filled],
        bottom=accuracy[filled],
        width=width * 0.95,
        color="#e07b6a",
        alpha=0.55,
        edgecolor="#b0493a",
        hatch="//",
        label="gap to confidence",
    )
    top.plot([0, 1], [0, 1], "--", color="gray", linewidth=1, label="perfect calibration")
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    top.set_ylabel("accuracy")
    top.set_title(
        f"Reliability (ECE {100 * calibration['ece']:.2f}%, {calibration['n_bins']} bins)",
        fontsize=11,
    )
    top.legend(loc="upper left", fontsize=8)
    top.grid(alpha=0.3)
    share = counts / max(counts.sum(), 1)
    bottom.bar(centres, share, width=width * 0.95, color="#888888")
    bottom.set_yscale("log")
    bottom.set_ylim(bottom=max(share[share > 0].min() / 2, 1e-6) if share.any() else 1e-6)
    bottom.set_ylabel("share of images", fontsize=9)
    bottom.set_xlabel("confidence (top probability)")
    bottom.grid(alpha=0.3)
    figure.tight_layout()
    save_figure(figure, path)


def plot_per_class(
    classes: Sequence[str],
    values: Sequence[float],
    path: str | os.PathLike[str],
    label: str = "F1",
    average: float | None = None,
) -> None:
    """One bar per class, in class order, with the macro average as a dashed line."""
    values = np.asarray(values, dtype=np.float64)
    count = len(classes)
    width = float(np.clip(0.24 * count + 2.0, 6.0, 18.0))
    figure, axis = plt.subplots(figsize=(width, 3.8))
    # Start the axis near the lowest bar so differences between good classes show;
    # the label says where it starts. Colours span the same range: red lowest, green 1.
    low = max(0.0, math.floor((values.min() - 0.03) * 20) / 20) if count else 0.0
    colours = plt.get_cmap("RdYlGn")(np.clip((values - low) / max(1.0 - low, 1e-9), 0, 1))
    axis.bar(range(count), values, color=colours, edgecolor="#555555", linewidth=0.4)
    axis.set_ylim(low, 1.0)
    axis.set_xlim(-0.6, count - 0.4)
    tick = float(np.clip(13 - count / 8, 7, 10))
    rotate = 0 if all(len(c) <= 2 for c in classes) else 90
    axis.set_xticks(range(count), list(classes), fontsize=tick, rotation=rotate)
    axis.set_ylabel(f"{label} (axis from {low:.2f})" if low > 0 else label)
    if average is not None:
        axis.axhline(average, color="black", linestyle="--", linewidth=1)
        axis.text(count - 0.4, average, f" macro {average:.3f}", va="center", fontsize=8)
    if count <= 26:
        for i, value in enumerate(values):
            axis.text(i, value, f"{value:.2f}", ha="center", va="bottom", fontsize=7)
    axis.set_title(f"{label} per class", fontsize=11)
    axis.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    save_figure(figure, path)


# --- images with their predictions -------------------------------------------------------


def prediction_grid(
    images: np.ndarray,
    true_names: Sequence[str],
    pred_names: Sequence[str],
    confidences: Sequence[float],
    path: str | os.PathLike[str],
    columns: int | None = None,
    suptitle: str = "",
) -> None:
    """Images titled "pred X 97% / true Y": green when right, red when wrong."""
    titles = [
        f"pred {p} {100 * c:.0f}%\ntrue {t}"
        for t, p, c in zip(true_names, pred_names, confidences, strict=True)
    ]
    colours = [
        "#1a7f37" if t == p else "#c62828" for t, p in zip(true_names, pred_names, strict=True)
    ]
    image_grid(images, titles, path, columns=columns, title_colors=colours, suptitle=suptitle)


def plot_top_predictions(
    images: np.ndarray,
    true_names: Sequence[str],
    tops: Sequence[Sequence[tuple[str, float]]],
    path: str | os.PathLike[str],
    suptitle: str = "",
) -> None:
    """Each image above a bar chart of its top-k classes and their probabilities; the true
    class's bar green, the others grey (the first bar red when the prediction is wrong)."""
    count = len(images)
    k = max((len(top) for top in tops), default=1)
    figure, axes = plt.subplots(
        2,
        max(count, 1),
        figsize=(1.9 * max(count, 1), 1.9 + 0.28 * k + (0.4 if suptitle else 0)),
        gridspec_kw={"height_ratios": [1.6, 0.25 * k + 0.4]},
        squeeze=False,
    )
    for i in range(count):
        picture, bars = axes[0, i], axes[1, i]
        picture.imshow(images[i], cmap="gray_r", vmin=0, vmax=255, interpolation="nearest")
        picture.set_title(f"true {true_names[i]}", fontsize=9)
        picture.axis("off")
        names = [name for name, _ in tops[i]][::-1]
        values = [p for _, p in tops[i]][::-1]
        colours = ["#1a7f37" if name == true_names[i] else "#9e9e9e" for name in names]
        if names and names[-1] != true_names[i]:
            colours[-1] = "#c62828"
        bars.barh(range(len(names)), values, color=colours)
        bars.set_yticks(range(len(names)), names, fontsize=8)
        bars.set_xlim(0, 1.25)
        bars.set_xticks([])
        for y, value in enumerate(values):
            bars.text(value + 0.02, y, f"{100 * value:.1f}%", va="center", fontsize=7)
        for side in ("top", "right", "bottom"):
            bars.spines[side].set_visible(False)
    for j in range(count, axes.shape[1]):
        axes[0, j].axis("off")
        axes[1, j].axis("off")
    if suptitle:
        figure.suptitle(suptitle, fontsize=11)
    figure.tight_layout()
    save_figure(figure, path)


# --- scores of several candidates ------------------------------------------------------------


def plot_scores(
    labels: Sequence[str],
    means: Sequence[float],
    stds: Sequence[float],
    path: str | os.PathLike[str],
    title: str = "",
    highlight: int | None = None,
    ylabel: str = "validation accuracy",
) -> None:
    """Mean ± std per candidate (e.g. over cross-validation folds); `highlight` in green."""
    means, stds = np.asarray(means, dtype=np.float64), np.asarray(stds, dtype=np.float64)
    count = len(labels)
    figure, axis = plt.subplots(figsize=(float(np.clip(1.1 * count + 2.0, 4.5, 14.0)), 3.6))
    colours = ["#1a7f37" if i == highlight else "#4c72b0" for i in range(count)]
    axis.bar(
        range(count),
        means,
        yerr=stds,
        color=colours,
        capsize=5,
        edgecolor="#333333",
        linewidth=0.5,
        error_kw={"elinewidth": 1},
    )
    # Zoom onto the scores: the differences of interest are a few points.
    low = float(max(0.0, np.min(means - stds) - 0.02)) if count else 0.0
    high = float(min(1.0, np.max(means + stds) + 0.01)) if count else 1.0
    axis.set_ylim(low, max(high, low + 0.01))
    axis.set_xticks(
        range(count),
        list(labels),
        rotation=20 if count > 4 else 0,
        ha="right" if count > 4 else "center",
        fontsize=9,
    )
    for i, (mean, std) in enumerate(zip(means, stds, strict=True)):
        axis.text(i, mean + std, f"{100 * mean:.2f}%", ha="center", va="bottom", fontsize=8)
    axis.set_ylabel(ylabel + (f" (axis from {low:.2f})" if low > 0 else ""))
    if title:
        axis.set_title(title, fontsize=11)
    axis.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    save_figure(figure, path)
