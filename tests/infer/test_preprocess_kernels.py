"""The fast kernels of preprocessing give what the plain scipy/Pillow operations give."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from charrec.infer.frame import ROI_MARGIN, emnist_frame
from charrec.infer.preprocess_kernels import closing, distance, extend, quantiles, thickened


def strokes(seed: int, count: int = 60) -> list[np.ndarray]:
    """Random binary pictures, a border of False around them: blobs, grains, bars."""
    rng = np.random.default_rng(seed)
    pictures = []
    for index in range(count):
        height, width = (int(v) for v in rng.integers(3, 70, 2))
        picture = rng.random((height, width)) < rng.uniform(0.2, 0.95)
        if index % 2:
            picture = ndimage.binary_opening(picture, iterations=int(rng.integers(1, 3)))
        picture[rng.integers(height), :] = True  # a bar across, as deep as the picture
        pictures.append(np.pad(picture, 1))
    return pictures


def scipy_distance(binary: np.ndarray) -> np.ndarray:
    chess = ndimage.distance_transform_cdt(binary, metric="chessboard")
    city = ndimage.distance_transform_cdt(binary, metric="taxicab")
    return (chess + city).astype(np.float32) / 2


def test_distance_is_the_mean_of_chessboard_and_city_block_transforms() -> None:
    for picture in strokes(0):
        assert np.array_equal(distance(picture), scipy_distance(picture))
    # Deep enough to need more than eight binary digits.
    square = np.pad(np.ones((300, 280), dtype=bool), 1)
    assert np.array_equal(distance(square), scipy_distance(square))


@pytest.mark.parametrize("layers", [1, 2, 3, 4, 6])
def test_thickening_takes_the_paper_within_that_distance(layers: int) -> None:
    for picture in strokes(layers):
        if not picture.any():
            continue
        expected = scipy_distance(~np.pad(picture, layers)) <= layers
        assert np.array_equal(thickened(picture, layers), expected)


def pillow_frame(binary: np.ndarray, sigma: float) -> np.ndarray:
    """EMNIST's frame the plain way: Gaussian blur, a canvas, Pillow's bicubic reduction."""
    size, pad = 28, 2
    rows = np.flatnonzero(binary.any(axis=1))
    cols = np.flatnonzero(binary.any(axis=0))
    crop = binary[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(np.float32)
    height, width = crop.shape
    reach = math.ceil(2 * sigma)
    blurred = ndimage.gaussian_filter(np.pad(crop, reach), sigma, mode="constant", truncate=2.0)
    scale = (size - 2 * pad) / (max(height, width) + 2 * ROI_MARGIN)
    support = math.ceil(2 / scale) + 1
    side = max(math.ceil(size / scale), max(blurred.shape)) + 2 * support
    canvas = np.zeros((side, side), dtype=np.float32)
    top, left = (side - height) // 2, (side - width) // 2
    canvas[top - reach : top + height + reach, left - reach : left + width + reach] = blurred
    cy, cx, half = top + height / 2, left + width / 2, size / scale / 2
    box = (cx - half, cy - half, cx + half, cy + half)
    resized = Image.fromarray(canvas).resize((size, size), Image.Resampling.BICUBIC, box=box)
    out = np.clip(np.asarray(resized, dtype=np.float32), 0, None)
    return np.round(out * (255 / out.max())).astype(np.uint8)


def test_frame_matches_a_blur_and_pillows_bicubic_reduction() -> None:
    rng = np.random.default_rng(3)
    worst = []
    for _ in range(80):
        height, width = (int(v) for v in rng.integers(2, 110, 2))
        binary = np.zeros((height + 2, width + 2), dtype=bool)
        binary[1:-1, 1:-1] = rng.random((height, width)) < 0.4
        binary[1, 1] = binary[-2, -2] = True
        for sigma in (2.5, 1.0):
            ours = emnist_frame(binary, sigma).astype(int)
            worst.append(np.abs(ours - pillow_frame(binary, sigma)).max())
    # Pillow rounds its intermediate rows to float32; nothing else differs.
    assert max(worst) <= 1


def test_grid_closing_and_extension_match_scipy_and_numpy() -> None:
    rng = np.random.default_rng(4)
    for height in range(2, 16):
        for width in range(2, 16):
            grid = rng.random((height, width)).astype(np.float32)
            assert np.array_equal(closing(grid, 5), ndimage.grey_closing(grid, size=5))
            odd = np.pad(grid, 1, mode="reflect", reflect_type="odd")
            assert np.array_equal(extend(grid), odd)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_quantiles_are_the_nearest_rank_order_statistics(dtype) -> None:
    # Pictures repeat values (paper, 8-bit levels), so many of these do too.
    rng = np.random.default_rng(0)
    for index in range(300):
        size = int(rng.integers(1, 40_000))
        kind = index % 4
        if kind == 0:
            values = rng.random(size)
        elif kind == 1:  # mostly one level, the rest above or below it
            values = np.where(rng.random(size) < rng.random(), rng.random(size), rng.random())
        elif kind == 2:
            values = rng.integers(0, 256, size) / 255
        else:  # a tiny range far from zero
            values = rng.normal(-0.3, 1e-6, size)
        values = values.astype(dtype)
        fractions = (0.0, *rng.random(3), 1.0)
        ordered = np.sort(values)
        expected = [float(ordered[round(f * (size - 1))]) for f in fractions]
        assert quantiles(values, fractions) == expected
    assert quantiles(np.full((30, 90), 0.25, dtype), (0.1, 0.9)) == [0.25, 0.25]
