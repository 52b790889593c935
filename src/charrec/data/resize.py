"""Conversion of character images of any size to the canonical 28×28 form, by a policy.

Two policies, named in a run's config (`data.resize`) so a run records how its data
was made square:

- "emnist" (the default): `to_emnist_frame`, EMNIST's own framing, below;
- "pad": `resize_with_pad`, the whole image scaled to fit, aspect ratio kept, and padded
  with background to the square (as `PIL.ImageOps.pad` and `tf.image.resize_with_pad`).

EMNIST was made from NIST's 128×128 binary scans (Cohen et al., "EMNIST: an extension of
MNIST to handwritten letters", 2017, section II-A) in six steps. `to_emnist_frame` repeats
them for N×H×W images with white ink on black (binary or gray):

0. Working resolution. EMNIST's steps act on scans where a character spans roughly 100
   pixels. A smaller image (its ink box shorter than 4 × 24 = 96 pixels, like the 20×16
   Binary AlphaDigits) is first enlarged by the integer factor k that brings it there,
   each pixel becoming a k×k block, as if it had been scanned at that resolution. Larger
   images are used as they are.
1. Blur with a Gaussian filter, σ = 1 pixel (of the working image), its kernel cut at 2σ
   as MATLAB's `imgaussfilt` does.
2. Crop to the region of interest: the bounding box of the blurred ink, that is the ink's
   bounding box (pixels > 0) grown by the kernel's radius.
3. Centre it in a square frame, preserving the aspect ratio: the longer side of the box
   fills the frame, the shorter one is centred.
4. Pad the frame with 2 pixels (of the output) on each side, so the box's longer side
   spans 28 − 2·2 = 24 output pixels.
5. Resample to 28×28 with bicubic interpolation, antialiased (the kernel widened by the
   reduction factor, as MATLAB's `imresize` does).
6. Scale intensities so that the brightest pixel is 255 (bicubic undershoot below 0 is 0).

The box is centred exactly, by its bounding box as in EMNIST (MNIST centres by mass). On
the Binary AlphaDigits the result has EMNIST's look: the ink spans 24 pixels along its
longer side, and nearly every ink pixel is a soft gray value rather than 255 (EMNIST: 1%
of the ink pixels are 255). An image without ink stays all zeros.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageOps
from scipy.ndimage import gaussian_filter

from charrec.data.imageset import ImageSet
from charrec.errors import DataError, unknown_choice

# The ink box's longer side in the working image, in multiples of the output's ink box:
# EMNIST reduced its ~100-pixel characters about four times.
WORK_FACTOR = 4
# The blur kernel's radius in units of σ.
TRUNCATE = 2.0


def _frame_one(image: np.ndarray, size: int, pad: int, sigma: float) -> np.ndarray:
    ink = image > 0
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        return np.zeros((size, size), dtype=np.uint8)
    crop = image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(np.float32)
    inner = size - 2 * pad
    k = math.ceil(WORK_FACTOR * inner / max(crop.shape))
    if k > 1:
        crop = np.repeat(np.repeat(crop, k, axis=0), k, axis=1)
    radius = int(TRUNCATE * sigma + 0.5) if sigma > 0 else 0
    # The region of interest: the ink box grown by the blur's reach.
    height, width = crop.shape[0] + 2 * radius, crop.shape[1] + 2 * radius
    scale = inner / max(height, width)  # output pixels per working pixel
    # A zero canvas holding the whole padded frame plus the bicubic kernel's reach.
    reach = math.ceil(2 / min(scale, 1.0)) + 1
    side = math.ceil(size / scale) + 2 * reach
    canvas = np.zeros((side, side), dtype=np.float32)
    top, left = (side - height) // 2, (side - width) // 2
    canvas[
        top + radius : top + radius + crop.shape[0], left + radius : left + radius + crop.shape[1]
    ] = crop
    if sigma > 0:
        canvas = gaussian_filter(canvas, sigma, mode="constant", truncate=TRUNCATE)
    cy, cx, half = top + height / 2, left + width / 2, size / scale / 2
    frame = (cx - half, cy - half, cx + half, cy + half)
    resized = Image.fromarray(canvas).resize((size, size), Image.Resampling.BICUBIC, box=frame)
    out = np.clip(np.asarray(resized, dtype=np.float32), 0, None)
    peak = float(out.max())
    if peak <= 0:
        return np.zeros((size, size), dtype=np.uint8)
    return np.round(out * (255 / peak)).astype(np.uint8)


def to_emnist_frame(
    images: np.ndarray, size: int = 28, pad: int = 2, sigma: float = 1.0
) -> np.ndarray:
    """Convert N×H×W images (white ink on black) to N×size×size uint8 in EMNIST's frame.

    The steps are in the module docstring. `pad` output pixels are left on each side of
    the character's longer dimension; `sigma` is the blur in working-image pixels (0: none).
    """
    images = np.asarray(images)
    if images.ndim != 3:
        raise DataError(f"images must be N×H×W, got shape {images.shape}")
    if images.dtype.kind not in "biuf":
        raise DataError(f"images must be numbers, got {images.dtype}")
    if size - 2 * pad < 1 or pad < 0:
        raise DataError(f"padding {pad} does not fit a {size}×{size} frame")
    if sigma < 0:
        raise DataError(f"sigma must be >= 0, got {sigma}")
    out = np.empty((len(images), size, size), dtype=np.uint8)
    for i, image in enumerate(images):
        out[i] = _frame_one(image, size, pad, sigma)
    return out


def resize_with_pad(images: np.ndarray, size: int = 28) -> np.ndarray:
    """Scale N×H×W images to fit size×size keeping the aspect ratio, centred, 0-padded.

    The whole image is scaled (not cropped to the ink), with bicubic resampling as
    `PIL.ImageOps.pad` does; a 20×16 image becomes 28×22 between 3-pixel bands.
    """
    images = np.asarray(images)
    if images.ndim != 3:
        raise DataError(f"images must be N×H×W, got shape {images.shape}")
    if images.dtype.kind not in "biuf":
        raise DataError(f"images must be numbers, got {images.dtype}")
    # 0/1 bitmaps have ink 255 (as EMNIST framing makes it); other values are 0..255.
    binary = images.size and images.max() <= 1
    images = np.clip(images.astype(np.float32) * (255 if binary else 1), 0, 255)
    images = np.round(images).astype(np.uint8)
    out = np.empty((len(images), size, size), dtype=np.uint8)
    for i, image in enumerate(images):
        padded = ImageOps.pad(
            Image.fromarray(image), (size, size), Image.Resampling.BICUBIC, color=0
        )
        out[i] = np.asarray(padded)
    return out


# name -> conversion of N×H×W images to N×size×size uint8
POLICIES = {
    "emnist": lambda images, size: to_emnist_frame(images, size=size),
    "pad": lambda images, size: resize_with_pad(images, size=size),
}


def to_square(images: np.ndarray, policy: str = "emnist", size: int = 28) -> np.ndarray:
    """N×H×W images as N×size×size uint8 by the named policy (see the module docstring)."""
    if policy not in POLICIES:
        raise unknown_choice("resize policy", policy, list(POLICIES))
    return POLICIES[policy](images, size)


def conform(dataset: ImageSet, policy: str = "emnist", size: int = 28) -> ImageSet:
    """The data set with size×size images: unchanged if it has them, else converted."""
    if policy not in POLICIES:
        raise unknown_choice("resize policy", policy, list(POLICIES))
    if dataset.image_shape == (size, size):
        return dataset
    images = to_square(dataset.images, policy, size)
    return ImageSet(images, dataset.labels, dataset.classes, dataset.name, dataset.sources)
