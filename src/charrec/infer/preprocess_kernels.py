"""Array kernels of the preprocessing (`charrec.infer.preprocess`), fast on small pictures.

Most arrays there are small, where each NumPy or scipy call's fixed cost outweighs its
arithmetic, so these avoid calls rather than arithmetic: order statistics through a
histogram, grey closings by gathering windows, erosions and dilations on a bitmap held as
one Python integer (a shift moves every pixel at once). Each gives the pixels of the plain
scipy or Pillow operation it replaces (tests/infer/test_preprocess_kernels.py).
"""

from __future__ import annotations

import functools
import math

import numpy as np
from PIL import Image

# Up to this many values, `quantiles` sorts them all.
SORTED_QUANTILES = 2048


# Bins of the histogram that `quantiles` narrows a big array's order statistics down with.
QUANTILE_BINS = 1024


EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)


# The 256 gray levels of Otsu's histogram in [0, 1], and their squares.
_LEVELS = np.arange(256) / 255


_SQUARED_LEVELS = _LEVELS**2


def quantiles(values: np.ndarray, fractions: tuple[float, ...]) -> list[float]:
    """Order statistics of the values (the nearest rank), exactly.

    np.partition slows down by 10 to 20 times on values that repeat (1.1 ms instead of
    0.09 for 128×128 values nine tenths alike), and pictures are mostly paper: one level
    many times. So a histogram of the values finds the bin that holds each rank, and only
    that bin's values are sorted. The bins keep the values' order (one monotone formula
    assigns them), so the rank-th value is found exactly.
    """
    flat = values.ravel()
    ranks = [round(f * (flat.size - 1)) for f in fractions]
    if flat.size <= SORTED_QUANTILES:
        ordered = np.sort(flat)
        return [float(ordered[r]) for r in ranks]
    lowest = flat.min()
    low, high = float(lowest), float(flat.max())
    if low == high:
        return [low] * len(ranks)
    bins = (flat - lowest) * (QUANTILE_BINS / (high - low))
    index = np.minimum(bins.astype(np.intp), QUANTILE_BINS - 1)
    counts = np.bincount(index, minlength=QUANTILE_BINS)
    ends = np.cumsum(counts)
    found = []
    for rank in ranks:
        bin_ = int(np.searchsorted(ends, rank, side="right"))
        first = int(ends[bin_] - counts[bin_])
        found.append(float(np.sort(flat[index == bin_])[rank - first]))
    return found


def extend(grid: np.ndarray) -> np.ndarray:
    """The grid with one more cell on each side, continuing its slope."""
    if min(grid.shape) < 2:
        return np.pad(grid, 1, mode="edge")
    # Odd reflection, rows then columns, by hand: np.pad costs more than this on small grids.
    height, width = grid.shape
    tall = np.empty((height + 2, width), dtype=grid.dtype)
    tall[1:-1] = grid
    tall[0] = 2 * grid[0] - grid[1]
    tall[-1] = 2 * grid[-1] - grid[-2]
    out = np.empty((height + 2, width + 2), dtype=grid.dtype)
    out[:, 1:-1] = tall
    out[:, 0] = 2 * tall[:, 0] - tall[:, 1]
    out[:, -1] = 2 * tall[:, -1] - tall[:, -2]
    return out


def upsample(grid: np.ndarray, shape: tuple[int, int], block: int) -> np.ndarray:
    """Bilinear interpolation of per-block values, each at its block's centre, to `shape`.

    Beyond the outer centres the values are extrapolated linearly, not held: a shadow
    goes on darkening to the edge of the picture.
    """
    grid = extend(grid)
    height, width = shape
    box = (1, 1, 1 + width / block, 1 + height / block)
    resized = Image.fromarray(grid, mode="F").resize(
        (width, height), Image.Resampling.BILINEAR, box=box
    )
    return np.asarray(resized, dtype=np.float32)


def closing(grid: np.ndarray, size: int) -> np.ndarray:
    """Grey closing (maximum then minimum over size×size, edges mirrored as scipy's
    "reflect" does) of a small grid, by gathering each window: scipy's overhead is most
    of its cost at this size."""
    windows = _windows(*grid.shape, size)
    widest = grid.ravel()[windows].max(axis=0)
    return widest[windows].min(axis=0).reshape(grid.shape)


@functools.lru_cache(maxsize=64)
def _windows(height: int, width: int, size: int) -> np.ndarray:
    """Flat indices of each pixel's size×size window, edges mirrored (height ≥ size // 2):
    window offset first, so that the reduction over it is between whole rows."""
    half = size // 2

    def mirrored(length: int) -> np.ndarray:
        near = np.arange(length)[:, None] + np.arange(-half, half + 1)[None, :]
        near = np.where(near < 0, -near - 1, near)
        return np.where(near >= length, 2 * length - near - 1, near)

    rows, cols = mirrored(height), mirrored(width)
    flat = rows[:, None, :, None] * width + cols[None, :, None, :]
    return flat.transpose(2, 3, 0, 1).reshape(size * size, height * width)


def block_stat(image: np.ndarray, grid: int, percentile: float) -> tuple[np.ndarray, int]:
    """A percentile of each block of a grid laid over the image, and the block's side."""
    height, width = image.shape
    block = max(1, min(math.ceil(max(height, width) / grid), height, width))
    rows, cols = height // block, width // block
    tiles = image[: rows * block, : cols * block].reshape(rows, block, cols, block)
    tiles = tiles.transpose(0, 2, 1, 3).reshape(rows, cols, block * block)
    k = round(percentile / 100 * (block * block - 1))
    return np.partition(tiles, k, axis=2)[:, :, k].astype(np.float32), block


def otsu(values: np.ndarray) -> tuple[float, float, float, float]:
    """Otsu's threshold of values in [0, 1]: (threshold, paper mean, paper std, ink mean)."""
    scaled = values * np.float32(255)
    np.rint(scaled, out=scaled)
    hist = np.bincount(scaled.astype(np.uint8).ravel(), minlength=256).astype(np.float64)
    levels = _LEVELS
    weight0 = np.cumsum(hist)
    weight1 = weight0[-1] - weight0
    sum0 = np.cumsum(hist * levels)
    mean0 = sum0 / np.maximum(weight0, 1)
    mean1 = (sum0[-1] - sum0) / np.maximum(weight1, 1)
    between = weight0 * weight1 * (mean0 - mean1) ** 2
    k = int(np.argmax(between[:-1]))
    if between[k] <= 0:  # a single gray level: nothing to separate
        return 1.0, float(mean0[-1]), 0.0, float(mean0[-1])
    sq0 = np.cumsum(hist * _SQUARED_LEVELS)[k]
    var0 = max(sq0 / max(weight0[k], 1) - mean0[k] ** 2, 0.0)
    return (k + 0.5) / 255, float(mean0[k]), math.sqrt(var0), float(mean1[k])


def grown(mask: np.ndarray, diagonal: bool = True) -> np.ndarray:
    """The mask dilated by one pixel in all eight directions, or only the four of a cross
    (shifted ORs: fast)."""
    tall = mask.copy()
    tall[1:] |= mask[:-1]
    tall[:-1] |= mask[1:]
    out = tall.copy() if diagonal else tall
    source = tall if diagonal else mask
    out[:, 1:] |= source[:, :-1]
    out[:, :-1] |= source[:, 1:]
    return out


def bordered(binary: np.ndarray, width: int) -> np.ndarray:
    """The binary image inside a border of False `width` pixels wide (np.pad, cheaper)."""
    height, breadth = binary.shape
    out = np.zeros((height + 2 * width, breadth + 2 * width), dtype=bool)
    out[width : width + height, width : width + breadth] = binary
    return out


def to_bits(binary: np.ndarray) -> int:
    """A binary picture as one Python integer, a bit per pixel, row after row.

    Shifting it by 1 or by the width moves every pixel sideways or up and down at once,
    so that an erosion or a dilation is a few integer operations, much cheaper than as
    many NumPy calls on a picture of this size. A border of False keeps rows apart.
    """
    return int.from_bytes(np.packbits(binary, axis=None, bitorder="little").tobytes(), "little")


def from_bits(bits: int, shape: tuple[int, int]) -> np.ndarray:
    """The binary picture of `shape` that `to_bits` made `bits` of."""
    size = shape[0] * shape[1]
    packed = np.frombuffer(bits.to_bytes((size + 7) // 8, "little"), dtype=np.uint8)
    return np.unpackbits(packed, count=size, bitorder="little").view(bool).reshape(shape)


def distance(binary: np.ndarray) -> np.ndarray:
    """Each True pixel's distance to the nearest False one, nearly Euclidean.

    The mean of the chessboard and city-block distances: exact along the axes, 6% long on
    diagonals. `binary` must have a border of False. Both are counted by peeling: a pixel's
    chessboard (city-block) distance is the number of 3×3 (cross) erosions it survives,
    plus one. The erosions are done on `to_bits` integers and the layers summed in binary
    digits, one integer per digit: several times faster than scipy's distance transforms
    or NumPy on these small pictures.
    """
    width = binary.shape[1]
    bits = to_bits(binary)
    digits: list[int] = []  # digit k of every pixel's count, as one integer each
    for square in (True, False):
        layer = bits
        while layer:
            carry = layer
            for k, digit in enumerate(digits):
                digits[k] = digit ^ carry
                carry &= digit
            if carry:
                digits.append(carry)
            if square:
                rows = layer & (layer << 1) & (layer >> 1)
                layer = rows & (rows << width) & (rows >> width)
            else:
                layer &= (layer << 1) & (layer >> 1) & (layer << width) & (layer >> width)
    twice = np.zeros(binary.shape, dtype=np.uint8 if len(digits) <= 8 else np.uint16)
    for k, digit in enumerate(digits):
        twice += from_bits(digit, binary.shape).astype(twice.dtype) << k
    return twice.astype(np.float32) / 2


def thickened(binary: np.ndarray, layers: int) -> np.ndarray:
    """The paper pixels within `layers` of the ink (by `distance`) added, on a canvas
    `layers` pixels wider: the same pixels as cutting a distance transform of the paper.

    A pixel is taken when its chessboard distance a and city-block distance b to the ink
    have a + b ≤ 2·layers, i.e. when it lies within a of the ink by one and within
    2·layers - a by the other, for some a; as b ≤ 2a, every a up to 2·layers/3 is covered
    by the square dilation alone. The dilations are grown a pixel at a time, on
    `to_bits` integers (`binary` has a border of False, so the ink never reaches the
    canvas's edge).
    """
    canvas = bordered(binary, layers)
    width = canvas.shape[1]
    squares = [to_bits(canvas)]
    for _ in range(layers):
        rows = squares[-1] | (squares[-1] << 1) | (squares[-1] >> 1)
        squares.append(rows | (rows << width) | (rows >> width))
    always = 2 * layers // 3
    thick = squares[always]
    cross = squares[0]
    for reach in range(1, 2 * layers - always):
        cross |= (cross << 1) | (cross >> 1) | (cross << width) | (cross >> width)
        chess = 2 * layers - reach  # the chessboard distance this city-block reach pairs with
        if always < chess <= layers:
            thick |= squares[chess] & cross
    return from_bits(thick, canvas.shape)
