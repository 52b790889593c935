"""The frame (step 7 of `charrec.infer.preprocess`): a redrawn character → the 28×28
image, as EMNIST or MNIST made theirs."""

from __future__ import annotations

import functools
import math

import numpy as np
from PIL import Image
from scipy import ndimage

OUTPUT_SIZE = 28


# EMNIST's region of interest around the ink, in pixels at that scale.
ROI_MARGIN = 3


# Blur σ at the 96-pixel source scale that gives the training data's intensity profile:
# EMNIST's σ = 1 was applied to NIST scans with characters about half as big as here.
BLURS = {"emnist": 2.5, "mnist": 0.5}


def emnist_frame(binary: np.ndarray, sigma: float) -> np.ndarray:
    """EMNIST's frame: blur, crop, centre in a square, pad 2, bicubic to 28×28, max 255.

    The region of interest is the ink's box grown by ROI_MARGIN, less than the blur's
    reach (2σ), so that the faint halo spills a pixel past the 24-pixel box as in EMNIST.
    Blur and reduction are both linear and separable, so each axis is one 28×n matrix
    (`_frame_weights`) and the frame is two small matrix products.
    """
    rows = np.flatnonzero(binary.any(axis=1))
    cols = np.flatnonzero(binary.any(axis=0))
    crop = binary[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    height, width = crop.shape
    longer = max(height, width)
    down, across = _frame_weights(height, longer, sigma), _frame_weights(width, longer, sigma)
    out = np.maximum(down @ crop.astype(np.float32) @ across.T, 0)
    return np.round(out * (255 / out.max())).astype(np.uint8)


@functools.lru_cache(maxsize=512)
def _frame_weights(length: int, longer: int, sigma: float) -> np.ndarray:
    """The 28×length matrix that blurs one axis of the crop and reduces it into the frame.

    The crop's longer side (`longer` pixels) grown by ROI_MARGIN fills the inner 24 pixels;
    the crop (`length` pixels along this axis) is centred in the frame;
    each output pixel is Pillow's bicubic (a = -0.5, widened by the reduction factor, taps
    normalised to sum 1) at its centre, and the blur (σ, cut at 2σ) is that kernel
    correlated with the Gaussian.
    """
    size, pad = OUTPUT_SIZE, 2
    reach = math.ceil(2 * sigma)
    step = (longer + 2 * ROI_MARGIN) / (size - 2 * pad)  # source pixels per output pixel
    support = 2.0 * max(step, 1.0)
    # Source coordinates with the blurred crop at 0..length+2·reach (the crop starts at reach).
    centres = length / 2 + reach + (np.arange(size) + 0.5 - size / 2) * step
    taps = np.arange(-math.ceil(support) - 1, math.ceil(support) + 2)
    positions = np.floor(centres + 0.5)[:, None] + taps[None, :]
    # Pillow rounds the window's ends to whole pixels and evaluates the kernel there.
    first = np.floor(centres - support + 0.5)[:, None]
    last = np.floor(centres + support + 0.5)[:, None]
    x = np.abs((positions - centres[:, None] + 0.5) / max(step, 1.0))
    kernel = np.where(
        x < 1, (1.5 * x - 2.5) * x * x + 1, np.where(x < 2, (((x - 5) * x + 8) * x - 4) * -0.5, 0)
    )
    kernel *= (positions >= first) & (positions < last)
    kernel /= kernel.sum(axis=1, keepdims=True)
    span = length + 2 * reach
    inside = (positions >= 0) & (positions < span)
    # Taps beyond the blurred crop read the canvas's zeros: they go to a column dropped after.
    weights = np.zeros((size, span + 1))
    weights[np.arange(size)[:, None], np.where(inside, positions, span).astype(np.intp)] = kernel
    weights = weights[:, :span]
    if sigma > 0 and reach > 0:
        offsets = np.arange(-reach, reach + 1)
        gauss = np.exp(-0.5 * (offsets / sigma) ** 2)
        weights = ndimage.correlate1d(weights, gauss / gauss.sum(), axis=1, mode="constant")
    weights = weights[:, reach : reach + length].astype(np.float32)
    weights.flags.writeable = False  # cached: shared by every call
    return weights


def mnist_frame(binary: np.ndarray, sigma: float) -> np.ndarray:
    """MNIST's frame: the ink fitted into 20×20 (area-averaged), centre of mass at (14, 14)."""
    size, inner = OUTPUT_SIZE, 20
    image = binary.astype(np.float32)
    if sigma > 0:
        reach = math.ceil(2 * sigma) + 1
        image = ndimage.gaussian_filter(np.pad(image, reach), sigma, truncate=2.0)
    rows = np.flatnonzero(image.any(axis=1))
    cols = np.flatnonzero(image.any(axis=0))
    image = image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    scale = inner / max(image.shape)
    out_h, out_w = max(1, round(image.shape[0] * scale)), max(1, round(image.shape[1] * scale))
    small = np.asarray(
        Image.fromarray(image, mode="F").resize((out_w, out_h), Image.Resampling.BOX),
        dtype=np.float32,
    )
    mass = float(small.sum())
    cy = float(small.sum(axis=1) @ np.arange(out_h)) / mass
    cx = float(small.sum(axis=0) @ np.arange(out_w)) / mass
    # Whole-pixel shift, as MNIST did, kept inside the frame.
    top = min(max(round(size / 2 - cy), 0), size - out_h)
    left = min(max(round(size / 2 - cx), 0), size - out_w)
    frame = np.zeros((size, size), dtype=np.float32)
    frame[top : top + out_h, left : left + out_w] = small
    return np.round(frame * (255 / frame.max())).astype(np.uint8)
