"""The pen (step 6 of `charrec.infer.preprocess`): the character redrawn at the scale of
NIST's scans, its strokes brought to the training data's widths."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image
from scipy import ndimage

from charrec.infer.preprocess_kernels import bordered, distance, grown, quantiles, thickened

# The character's longer side when it is redrawn at the scale of NIST's scans.
SOURCE_SIDE = 96


# Interquartile range of the training data's stroke widths in pixels (see the docstring).
STROKE_WIDTHS = {"emnist": (2.25, 3.25), "mnist": (1.9, 2.75)}


def redraw(
    ink: np.ndarray, mask: np.ndarray, level: float, box: tuple[int, int, int, int]
) -> np.ndarray:
    """The character as a binary image with its longer side SOURCE_SIDE pixels.

    Enlarging: the soft ink (its anti-aliased edges kept) is interpolated and cut at half
    its level, which gives smooth edges. Reducing: the mask is area-averaged and a pixel
    a quarter covered is ink, so that strokes thinner than a pixel stay connected.
    """
    top, bottom, left, right = box
    scale = SOURCE_SIDE / max(bottom - top, right - left)
    out_w = max(1, round((right - left) * scale))
    out_h = max(1, round((bottom - top) * scale))
    if scale > 1:
        # The crop with a margin of 2: the edge pixels next to the mask, and what the
        # interpolation reads beyond them.
        y0, x0 = max(top - 2, 0), max(left - 2, 0)
        y1, x1 = min(bottom + 2, ink.shape[0]), min(right + 2, ink.shape[1])
        near = grown(mask[y0:y1, x0:x1])
        soft = np.where(near, ink[y0:y1, x0:x1], 0).astype(np.float32)
        image = Image.fromarray(soft, mode="F")
        frame = (left - x0, top - y0, right - x0, bottom - y0)
        resized = np.asarray(image.resize((out_w, out_h), Image.Resampling.BILINEAR, box=frame))
        binary = resized >= 0.5 * level
        return binary if binary.any() else resized > 0
    image = Image.fromarray(mask[top:bottom, left:right].astype(np.uint8) * 255, mode="L")
    coverage = np.asarray(image.resize((out_w, out_h), Image.Resampling.BOX))
    binary = coverage >= 64
    return binary if binary.any() else coverage > 0


def stroke_width(binary: np.ndarray) -> tuple[float, np.ndarray]:
    """Stroke width in pixels, and each pixel's depth (distance to the paper).

    The width is twice the median depth along the strokes' ridge (pixels as deep as any
    neighbour) less one: exact for straight strokes an odd number of pixels wide.
    `binary` must have a border of False.
    """
    depth = distance(binary)
    # The 3×3 maximum of the interior by shifted maxima (the border is paper).
    rows = np.maximum(depth[:-2], depth[1:-1])
    np.maximum(rows, depth[2:], out=rows)
    most = np.maximum(rows[:, :-2], rows[:, 1:-1])
    np.maximum(most, rows[:, 2:], out=most)
    inner = depth[1:-1, 1:-1]
    ridge = inner[binary[1:-1, 1:-1] & (inner >= most)]
    return 2 * quantiles(ridge, (0.5,))[0] - 1, depth


def normalise_stroke(
    binary: np.ndarray, width_range: tuple[float, float], style: str
) -> np.ndarray:
    """Thicken or thin the strokes of a SOURCE_SIDE binary character into the range."""
    inner = 24 if style == "emnist" else 20
    # A margin of paper, so that depths are measured to the character's edge.
    binary = bordered(binary, 1)
    width, depth = stroke_width(binary)
    # Output pixels → source pixels, counting that the box grows or shrinks with the pen.
    low, high = (w * (SOURCE_SIDE - width) / (inner - w) for w in width_range)
    if low <= width <= high:
        return binary
    # Whole layers of pixels, as few as bring the width into the range.
    if width < low:
        return thickened(binary, math.ceil((low - width) / 2))
    layers = math.ceil((width - high) / 2)
    # Strokes thinner than the layers removed elsewhere lose half their width instead of
    # vanishing; corners do not count as thin (their neighbourhood holds a deep stroke).
    local = ndimage.maximum_filter(depth, size=2 * layers + 1)
    return (depth > layers) | (depth > 0.5 * local)
