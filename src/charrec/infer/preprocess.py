"""Any picture of one character → the 28×28 image the models were trained on.

The models learnt EMNIST: uint8 28×28, white ink on black, made from NIST's binary scans
by a Gaussian blur, a crop to the ink, centring in a square frame with the aspect ratio
kept, 2 pixels of padding and a bicubic reduction. A photo or a drawing differs in every
way that matters to a network (polarity, lighting, noise, size, position, pen), and
`Preprocessor` removes each in turn:

1. Decode (`charrec.infer.imageio`): any format and mode, EXIF orientation, transparency
   laid on paper, reduced while decoding so the steps below see at most 256 pixels a side.
2. Polarity: the paper is the border's level where the border is even, else a coarse
   local median; the ink is the side with the larger mass of strong deviations from it
   (dark ink on light paper, or light ink on a dark board or screen). A picture cropped
   tightly to its character has paper neither along its border nor in most
   neighbourhoods: its ink is the smaller side when that side is one part touching
   every edge but less than half of the outline (or less than 0.8 of it in thin
   strokes); the larger side when a fat character fills its box that way with the paper
   in pieces; and in a picture under 48 pixels, a side that is one part on less than a
   third of the outline.
3. Lighting: the paper's brightness is estimated on a coarse grid (a high percentile per
   block, then a grey closing that fills blocks covered by ink, interpolated with the
   slope continued to the edges) and divided out, so shadows leave the paper flat.
4. Threshold: Otsu on the flattened ink map. The image is blank (`BlankImageError`, not a
   guess) when ink and paper differ by less than `min_contrast` or by less than five
   times the paper's noise, also once smoothed by a one-pixel Gaussian (which finds a fine
   pen in strong noise), or when nothing bigger than a speck (3% of the picture) is left.
   A picture cropped tightly to its character (strong ink on all four edges, its biggest
   part reaching from an edge most of the way across: a cut-out of a scan, a small bitmap
   stretched to fill) is first
   laid on a margin of paper, so that its soft stroke edges are not taken for the paper's
   noise nor its strokes along the edges for page borders (step 5).
5. Specks and borders: the faint printed rules of lined or squared paper are removed
   (straight runs across nearly the whole picture, fainter than the pen); then connected
   components, parts less than two pixels apart counting as one (chalk and dry pens
   break strokes into grains); the biggest is the character, and only
   components near it of at least `speck_fraction` of its size are kept (strokes drawn
   apart; the dot of i/j, looked for twice as far above or below, and there measured
   against the larger of the two parts: a ring-shaped dot can hold more ink than its
   stem). Components lying along the picture's border (page edges, the table beside the
   paper) are dropped.
6. Pen: the character is redrawn as a binary image with its longer side 96 pixels and its
   stroke width measured there; a pen outside the training data's interquartile range is
   thickened or thinned to the nearer edge of that range (by a distance transform; a
   stroke too thin to thin further keeps half its width), so a fine pen on a big canvas
   and a fat marker both look like the pens of the training data.
7. Frame, EMNIST style: blur (σ = 2.5 at the 96-pixel scale), crop to the ink's box grown
   by 3 pixels, centre by the box in a square, pad 2, bicubic to 28×28, maximum 255. The
   paper's σ = 1 is in pixels of NIST's scans; these two numbers are the ones that best
   reproduce EMNIST's soft edges at this scale (below). MNIST style: the ink fitted into
   20×20 (area-averaged) with its centre of mass at pixel (14, 14).

Speed (`charrec bench infer` times the whole path from file to answer): most arrays here
are small, where each NumPy or scipy call's fixed cost outweighs its arithmetic, so the
steps avoid calls rather than arithmetic. The pen's erosions and dilations work on the
bitmap held as one Python integer (a shift moves every pixel at once); the blur and the
bicubic reduction are folded into one cached 28×n matrix per axis; components are
labelled within the ink's box only. Each gives the pixels of the plain scipy or Pillow
operation it replaces, the frame within one gray level (tests/infer/test_preprocess_kernels.py).

EMNIST measured (3,000 random letters-dev test images, real EMNIST Letters), then this
module's output on 400 of them re-drawn dark on light at 280×280; percentiles 10/50/90:
- longer side of the box of pixels > 0: EMNIST 24/26/26, ours 25/26/26; of pixels > 127:
  EMNIST 20/22/24, ours 22/22/22;
- centring: EMNIST's bounding box centre is at (13.52, 13.57) (row, column), std 0.2 px,
  ours (13.52, 13.49); the centre of mass is not centred, 0.46/1.39/3.05 px from
  (13.5, 13.5) in EMNIST, 0.47/1.40/3.08 in ours;
- stroke width at half the maximum (upsampled 4×, twice the median distance to the edge
  along the ridge): EMNIST 1.75/2.67/3.94 px (interquartile 2.25..3.25), ours 2.25/2.75/3.25;
- mean intensity: 0.11/0.17/0.24 of 255 in both; pixels > 0: 33% in EMNIST, 34% in ours;
- softness, quartiles of the pixels > 0: EMNIST 32/130/241, ours 37/133/226; pixels at
  255: 1.2% in EMNIST, 0.9% in ours;
- the re-drawn images correlate with their originals at 0.95 (median).
MNIST (test set) for the MNIST style: ink box 20 px (both > 0 and > 127), centre of mass
at (14.0, 14.0), stroke width 1.75/2.25/3.29 px (interquartile 1.9..2.75).
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from charrec.errors import ConfigError, unknown_choice
from charrec.fileio import atomic_path
from charrec.infer.imageio import (
    MAX_PIXELS,
    BlankImageError,
    ImageError,
    ImageSource,
    decode,
    load_image,
    source_name,
)

__all__ = [
    "BlankImageError",
    "ImageError",
    "PreprocessConfig",
    "PreprocessResult",
    "Preprocessor",
    "explain",
    "load_image",
    "preprocess",
]

OUTPUT_SIZE = 28
STYLES = ("emnist", "mnist")
# Interquartile range of the training data's stroke widths in pixels (see the docstring).
STROKE_WIDTHS = {"emnist": (2.25, 3.25), "mnist": (1.9, 2.75)}
# Blur σ at the 96-pixel source scale that gives the training data's intensity profile:
# EMNIST's σ = 1 was applied to NIST scans with characters about half as big as here.
BLURS = {"emnist": 2.5, "mnist": 0.5}
# The character's longer side when it is redrawn at the scale of NIST's scans.
SOURCE_SIDE = 96
# EMNIST's region of interest around the ink, in pixels at that scale.
ROI_MARGIN = 3
_EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)
# The 256 gray levels of Otsu's histogram in [0, 1], and their squares.
_LEVELS = np.arange(256) / 255
_SQUARED_LEVELS = _LEVELS**2


@dataclass(frozen=True)
class PreprocessConfig:
    """How images are made to look like the training data (stored with a model)."""

    # "emnist": ink box's longer side 24 px, centred by the box; "mnist": 20 px, by mass.
    style: str = "emnist"
    # Longest side, in pixels, that the lighting, threshold and component steps work on.
    work_size: int = 256
    # The range of stroke widths in output pixels (measured at half maximum) that is left
    # alone; wider or thinner pens are brought to its nearest edge. "auto": the training
    # data's interquartile range (STROKE_WIDTHS); None keeps every pen as it is.
    stroke_width: tuple[float, float] | str | None = "auto"
    # The blur before reduction, in pixels of the 96-pixel source scale. "auto": what
    # matches the training data's soft edges (BLURS).
    blur_sigma: float | str = "auto"
    # Least difference between ink and paper (fraction of the paper's brightness).
    min_contrast: float = 0.15
    # Components smaller than this fraction of the character's biggest part are specks.
    speck_fraction: float = 0.02
    # Parts farther from the biggest one than this fraction of its size are not the character.
    near: float = 0.6
    # The same for parts more above or below it than beside it: the dot of an i or j,
    # often drawn high above the stem, the more so the finer the pen.
    near_stacked: float = 1.2
    # Pictures with more pixels are refused (decompression bombs).
    max_pixels: int = MAX_PIXELS

    def __post_init__(self) -> None:
        if self.style not in STYLES:
            raise unknown_choice("preprocessing style", self.style, STYLES)
        if not 32 <= self.work_size <= 4096:
            raise ConfigError(f"work_size must lie in 32..4096 pixels, got {self.work_size}")
        if self.stroke_width == "auto":
            object.__setattr__(self, "stroke_width", STROKE_WIDTHS[self.style])
        if self.stroke_width is not None:
            try:
                low, high = (float(v) for v in self.stroke_width)  # type: ignore[union-attr]
            except (TypeError, ValueError):
                low = high = -1.0
            if not 0 < low <= high < 10:
                raise ConfigError(
                    "stroke_width must be 'auto', none, or a range [low, high] within "
                    f"(0, 10) pixels, got {self.stroke_width!r}"
                )
            object.__setattr__(self, "stroke_width", (low, high))
        if self.blur_sigma == "auto":
            object.__setattr__(self, "blur_sigma", BLURS[self.style])
        if not isinstance(self.blur_sigma, (int, float)) or not 0 <= self.blur_sigma <= 10:
            raise ConfigError(
                f"blur_sigma must be 'auto' or a number in [0, 10], got {self.blur_sigma!r}"
            )
        if not 0 <= self.min_contrast < 1:
            raise ConfigError(f"min_contrast must lie in [0, 1), got {self.min_contrast}")
        if not 0 <= self.speck_fraction < 1:
            raise ConfigError(f"speck_fraction must lie in [0, 1), got {self.speck_fraction}")
        for name in ("near", "near_stacked"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.max_pixels < 1:
            raise ConfigError(f"max_pixels must be positive, got {self.max_pixels}")

    def to_dict(self) -> dict:
        data = asdict(self)
        if self.stroke_width is not None:
            data["stroke_width"] = list(self.stroke_width)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> PreprocessConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"unknown preprocessing option(s) {', '.join(unknown)}; "
                f"choose from: {', '.join(sorted(known))}"
            )
        values = dict(data)
        if isinstance(values.get("stroke_width"), list):
            values["stroke_width"] = tuple(values["stroke_width"])
        return cls(**values)


@dataclass(frozen=True)
class PreprocessResult:
    """The image the model sees, and what the preprocessing decided on the way."""

    # 28×28 uint8, white ink on black (all zeros when blank).
    image: np.ndarray
    # Where the image came from, for messages.
    name: str
    # "dark-on-light" or "light-on-dark": how the ink was found on the paper.
    polarity: str
    # The character's box in the upright source picture: (left, top, right, bottom),
    # right and bottom exclusive; None when blank.
    bbox: tuple[int, int, int, int] | None
    # Fraction of the picture's pixels that are the character's ink.
    ink_fraction: float
    # Ink against paper, as a fraction of the paper's brightness.
    contrast: float
    # No character was found (only returned with allow_blank=True).
    blank: bool = False

    def to_dict(self) -> dict:
        """The diagnostics as plain JSON-ready values (without the image)."""
        return {
            "name": self.name,
            "polarity": self.polarity,
            "bbox": list(self.bbox) if self.bbox else None,
            "ink_fraction": round(self.ink_fraction, 5),
            "contrast": round(self.contrast, 4),
            "blank": self.blank,
        }


class Preprocessor:
    """Turns pictures into model inputs: `Preprocessor()(path_or_image).image` is 28×28."""

    def __init__(self, config: PreprocessConfig | None = None) -> None:
        self.config = config or PreprocessConfig()
        self.size = OUTPUT_SIZE

    def __call__(
        self, source: ImageSource, *, name: str | None = None, allow_blank: bool = False
    ) -> PreprocessResult:
        """Preprocess one picture; raises BlankImageError unless allow_blank."""
        cfg = self.config
        decoded = decode(source, cfg.work_size, max_pixels=cfg.max_pixels, name=name)
        name = decoded.name
        gray = decoded.gray
        if min(gray.shape) < 3:
            width, height = decoded.source_size
            raise ImageError(
                f"{name}: image is {width}×{height} pixels, too thin to hold a character"
            )
        ink, polarity = ink_map(gray)
        found = _find_character(ink, cfg)
        if isinstance(found, str):
            if not allow_blank:
                raise BlankImageError(f"{name}: no character found ({found})")
            blank = np.zeros((self.size, self.size), dtype=np.uint8)
            return PreprocessResult(blank, name, polarity, None, 0.0, 0.0, blank=True)
        mask, (top, bottom, left, right), level, contrast = found
        image = self._framed(ink, mask, level, (top, bottom, left, right))
        sx, sy = decoded.scale
        width, height = decoded.source_size
        bbox = (
            max(0, math.floor(left * sx)),
            max(0, math.floor(top * sy)),
            min(width, math.ceil(right * sx)),
            min(height, math.ceil(bottom * sy)),
        )
        return PreprocessResult(
            image, name, polarity, bbox, int(np.count_nonzero(mask)) / mask.size, float(contrast)
        )

    def frame(self, ink: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The 28×28 model input of one character already found in an ink map.

        `ink` is an `ink_map` (0 paper to 1 ink) and `mask` the character's pixels in it
        (same shape, not empty); the pen and frame steps are those of a whole picture.
        Reading a line (`charrec.infer.read`) frames each character it cuts out this way.
        """
        rows = np.flatnonzero(mask.any(axis=1))
        cols = np.flatnonzero(mask.any(axis=0))
        if rows.size == 0:
            raise ValueError("frame needs a mask with at least one pixel of ink")
        box = (int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1)
        top, bottom, left, right = box
        level = _quantiles(ink[top:bottom, left:right][mask[top:bottom, left:right]], (0.9,))[0]
        return self._framed(ink, mask, level, box)

    def _framed(
        self, ink: np.ndarray, mask: np.ndarray, level: float, box: tuple[int, int, int, int]
    ) -> np.ndarray:
        """Redraw, pen and frame: the character's mask and ink → the 28×28 input."""
        cfg = self.config
        binary = _redraw(ink, mask, level, box)
        if cfg.stroke_width is not None:
            binary = _normalise_stroke(binary, cfg.stroke_width, cfg.style)
        if cfg.style == "emnist":
            return _emnist_frame(binary, cfg.blur_sigma)
        return _mnist_frame(binary, cfg.blur_sigma)

    def batch(
        self, sources: Iterable[ImageSource], *, allow_blank: bool = False
    ) -> list[PreprocessResult]:
        """Preprocess many pictures, in order."""
        return [self(source, allow_blank=allow_blank) for source in sources]

    def images(self, sources: Iterable[ImageSource], *, allow_blank: bool = False) -> np.ndarray:
        """The model inputs of many pictures as one N×28×28 uint8 array."""
        results = self.batch(sources, allow_blank=allow_blank)
        if not results:
            return np.zeros((0, self.size, self.size), dtype=np.uint8)
        return np.stack([r.image for r in results])


def preprocess(
    source: ImageSource, config: PreprocessConfig | None = None, *, allow_blank: bool = False
) -> PreprocessResult:
    """One picture → PreprocessResult (`.image` is the 28×28 model input)."""
    return Preprocessor(config)(source, allow_blank=allow_blank)


def explain(
    source: ImageSource,
    output: str | Path | None = None,
    *,
    preprocessor: Preprocessor | None = None,
    scale: int = 10,
) -> Path:
    """Save what the model sees, enlarged `scale` times (pixels kept sharp), as a PNG.

    By default it goes next to the input as `<stem>.seen.png`; returns the path written.
    """
    if output is None:
        if not isinstance(source, (str, os.PathLike)):
            raise ImageError(
                f"{source_name(source)}: give an output path to explain an image that is not a file"
            )
        output = Path(source).with_name(Path(source).stem + ".seen.png")
    if scale < 1:
        raise ConfigError(f"scale must be a positive integer, got {scale}")
    result = (preprocessor or Preprocessor())(source)
    seen = np.kron(result.image, np.ones((scale, scale), dtype=np.uint8))
    output = Path(output)
    with atomic_path(output) as tmp:
        Image.fromarray(seen, mode="L").save(tmp, format="PNG")
    return output


# ---------------------------------------------------------------- polarity and lighting


# Up to this many values, `_quantiles` sorts them all.
SORTED_QUANTILES = 2048
# Bins of the histogram that `_quantiles` narrows a big array's order statistics down with.
QUANTILE_BINS = 1024


def _quantiles(values: np.ndarray, fractions: tuple[float, ...]) -> list[float]:
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


def _extend(grid: np.ndarray) -> np.ndarray:
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


def _upsample(grid: np.ndarray, shape: tuple[int, int], block: int) -> np.ndarray:
    """Bilinear interpolation of per-block values, each at its block's centre, to `shape`.

    Beyond the outer centres the values are extrapolated linearly, not held: a shadow
    goes on darkening to the edge of the picture.
    """
    grid = _extend(grid)
    height, width = shape
    box = (1, 1, 1 + width / block, 1 + height / block)
    resized = Image.fromarray(grid, mode="F").resize(
        (width, height), Image.Resampling.BILINEAR, box=box
    )
    return np.asarray(resized, dtype=np.float32)


def _closing(grid: np.ndarray, size: int) -> np.ndarray:
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


def _block_stat(image: np.ndarray, grid: int, percentile: float) -> tuple[np.ndarray, int]:
    """A percentile of each block of a grid laid over the image, and the block's side."""
    height, width = image.shape
    block = max(1, min(math.ceil(max(height, width) / grid), height, width))
    rows, cols = height // block, width // block
    tiles = image[: rows * block, : cols * block].reshape(rows, block, cols, block)
    tiles = tiles.transpose(0, 2, 1, 3).reshape(rows, cols, block * block)
    k = round(percentile / 100 * (block * block - 1))
    return np.partition(tiles, k, axis=2)[:, :, k].astype(np.float32), block


# Pictures with both sides shorter than this (pixels) are small cut-outs (`_dark_ink`).
SMALL_PICTURE = 48


def _dark_ink(gray: np.ndarray) -> bool:
    """Whether the ink is darker than the paper.

    The ink is the side with the larger mass of strong deviations from the paper. Where the
    border is even, the paper is the border's level (this holds for a fat character that
    covers most of the picture); otherwise (shadows, vignetting) it is a coarse local
    median, which is paper wherever the ink covers less than half of a neighbourhood.
    Two neighbourhoods are tried, 3×3 and 5×5 blocks: the small one follows the light
    closely but a fat character fills it, the big one the reverse. Unless the small one's
    verdict is clear (one mass three times the other), the clearer verdict decides.
    A picture cropped tightly to its character has neither paper along its border nor
    in most neighbourhoods; its ink is told by its shape (`_tightly_cropped_ink`).
    """
    height, width = gray.shape
    band = max(1, round(0.03 * max(height, width)))
    border = np.concatenate(
        [gray[:band].ravel(), gray[-band:].ravel(), gray[:, :band].ravel(), gray[:, -band:].ravel()]
    )
    low, paper, high = _quantiles(border, (0.1, 0.5, 0.9))
    if high - low < 0.15:
        darker, lighter = _ink_masses(gray, np.float32(paper))
    elif (tight := _tightly_cropped_ink(gray)) is not None:
        return tight
    elif (small := _small_cutout_ink(gray)) is not None:
        return small
    elif min(gray.shape) >= 16:
        grid, block = _block_stat(gray, 8, 50)
        verdicts = []
        for size in (3, 5):
            median = ndimage.median_filter(grid, size=size, mode="nearest")
            darker, lighter = _ink_masses(gray, _upsample(median, gray.shape, block))
            clarity = abs(math.log((darker + 1) / (lighter + 1)))
            verdicts.append((clarity, darker, lighter))
            if clarity > math.log(3):
                break
        _, darker, lighter = max(verdicts)
    else:
        darker, lighter = _ink_masses(gray, np.float32(_quantiles(gray, (0.5,))[0]))
    return darker >= lighter


def _tightly_cropped_ink(gray: np.ndarray) -> bool | None:
    """Whether the ink is dark, for a picture cropped tightly to its character; None
    when the picture does not look like one.

    Split in two by Otsu's threshold (a cut-out is small and evenly lit), a character
    cropped to its ink shows its strokes as one part that touches all four edges where
    they end or turn, covering less than half of the picture's outline, and the ink is
    the smaller side (the paper is cut into pieces around and inside it). A fat character
    stretched to fill its box (a 16×16 scan) can cover as much of the picture as its
    paper or more: either side is then the ink when it is such a part, on half of the
    outline or less, and the other side is in pieces (corners and holes). Paper around
    a character is one part touching every edge, but all along the outline, as is the lit
    part of a page under a shadow or between dark corners: neither is taken for the ink.
    When the picture does not look so, the caller decides.
    """
    dark = gray < _otsu(gray)[0]
    sides = {True: dark, False: ~dark}
    outline = {is_dark: _outline_share(side) for is_dark, side in sides.items()}
    parts: dict[bool, np.ndarray | None] = {}  # each side's main part, labelled once

    def part(is_dark: bool) -> np.ndarray | None:
        if is_dark not in parts:
            parts[is_dark] = _main_part(sides[is_dark])
        return parts[is_dark]

    def on_every_edge(is_dark: bool, most_of_outline: float) -> bool:
        """One part (the dot of an i aside) reaching all four edges, on less than
        `most_of_outline` of the outline."""
        if outline[is_dark] >= most_of_outline:
            return False
        main = part(is_dark)
        return main is not None and bool(
            main[0].any() and main[-1].any() and main[:, 0].any() and main[:, -1].any()
        )

    smaller = bool(np.count_nonzero(dark) < 0.5 * dark.size)  # whether it is the dark side
    if on_every_edge(smaller, 0.5):
        return smaller
    # Strokes along whole edges (the sides of an N or a U) cover more of the outline; they
    # are still the ink where they are thin, as no lit part of a page is.
    if on_every_edge(smaller, 0.8) and _thin(sides[smaller]):
        return smaller
    # Half the outline or less, against paper in pieces: either side may be the ink.
    for is_dark in (True, False):
        if on_every_edge(is_dark, 0.5 + 1e-6) and part(not is_dark) is None:
            return is_dark
    return None


def _small_cutout_ink(gray: np.ndarray) -> bool | None:
    """Whether the ink is dark, for a small cut-out (a box of a form, a scanned bitmap)
    whose character reaches some of its edges; None when the picture is not one.

    Its blocks are too coarse for a local median (a fat stroke fills them), but its ink
    is plain: the side of Otsu's split that is one part on less than a third of the
    outline (the paper holds the rest, cut into pieces where a stroke reaches an edge),
    even where a fat character covers more of the picture than its paper.
    """
    if max(gray.shape) >= SMALL_PICTURE:
        return None
    dark = gray < _otsu(gray)[0]
    for side, is_dark in ((dark, True), (~dark, False)):
        if _outline_share(side) < 1 / 3 and _main_part(side) is not None:
            return is_dark
    return None


def _thin(side: np.ndarray) -> bool:
    """Whether `side` is strokes thinner than a fifth of the picture's shorter side."""
    width, _ = _stroke_width(np.pad(side, 1))
    return width <= 0.2 * min(side.shape)


def _outline_share(side: np.ndarray) -> float:
    """The fraction of the picture's outline (its edge pixels) that `side` covers."""
    edges = (side[0], side[-1], side[1:-1, 0], side[1:-1, -1])
    return sum(int(np.count_nonzero(e)) for e in edges) / sum(e.size for e in edges)


def _main_part(side: np.ndarray) -> np.ndarray | None:
    """The biggest part of `side` if it holds nearly all of it (80%), else None."""
    labels, count = ndimage.label(side, structure=_EIGHT_CONNECTED)
    if count == 0:
        return None
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    main = int(np.argmax(sizes))
    return labels == main if sizes[main] >= 0.8 * sizes.sum() else None


def _ink_masses(gray: np.ndarray, background: np.ndarray | np.float32) -> tuple[float, float]:
    """The masses of deviations darker and lighter than the paper, beyond its noise."""
    deviation = gray - background
    sample = deviation[::2, ::2]
    noise = 1.4826 * _quantiles(np.abs(sample - _quantiles(sample, (0.5,))[0]), (0.5,))[0]
    margin = max(0.03, 3 * noise)
    beyond = np.negative(deviation)
    beyond -= margin
    darker = float(np.maximum(beyond, 0, out=beyond).sum())
    np.subtract(deviation, margin, out=beyond)
    lighter = float(np.maximum(beyond, 0, out=beyond).sum())
    return darker, lighter


def _ink_map(paper: np.ndarray) -> np.ndarray:
    """How much ink each pixel holds, 0 (paper) to 1 (black), with the lighting divided out.

    `paper` is light with dark ink. Its brightness is a high percentile per block, closed
    (max then min over 5×5 blocks) so that blocks covered by ink take their neighbours'
    paper; when it varies by less than 8% the paper is taken as uniform. Where it varies,
    the blocks blur a hard shadow's edge into a band that looks like ink, so the paper is
    also measured finely (a closing of the picture a block wide: it follows the edge and
    fills every stroke thinner than a block) and the fine measure is taken wherever it
    is paper-like, i.e. not far darker than the coarse one (under a fat blot it is ink).
    """
    if min(paper.shape) >= 24:
        grid, block = _block_stat(paper, 12, 90)
        # Grey closing on a grid extended linearly, so that a ramp stays a ramp at the edges.
        # A closing over 5×5 blocks fills an ink blot up to 4 blocks wide (a fat marker).
        grid = _closing(_extend(_extend(grid)), 5)[2:-2, 2:-2]
        high = float(grid.max())
        if high - float(grid.min()) > 0.08 * high:
            coarse = np.maximum(_upsample(grid, paper.shape, block), 0.02)
            background = _follow_edges(paper, coarse, block)
        else:
            background = np.float32(max(_quantiles(grid, (0.5,))[0], 0.02))
    else:
        background = np.float32(max(_quantiles(paper, (0.75,))[0], 0.02))
    ink = paper / background
    np.subtract(1, ink, out=ink)
    return np.clip(ink, 0, 1, out=ink)


def _follow_edges(paper: np.ndarray, coarse: np.ndarray, block: int) -> np.ndarray:
    """The coarse paper brightness, replaced by a fine one where that is paper-like.

    The fine one is a grey closing of the picture at half resolution over a block, so it
    costs little; under ink wider than a block it is the ink's level, far below the
    coarse estimate (ink is at most about 40% of the paper's brightness; a shadow
    darkens it less), and the coarse estimate stays there.
    """
    height, width = paper.shape
    half = Image.fromarray(paper, mode="F").resize(
        (max(1, width // 2), max(1, height // 2)), Image.Resampling.BOX
    )
    closed = ndimage.grey_closing(np.asarray(half), size=max(3, block // 2 + 1), mode="nearest")
    fine = np.asarray(
        Image.fromarray(closed, mode="F").resize((width, height), Image.Resampling.BILINEAR),
        dtype=np.float32,
    )
    return np.where(fine > 0.45 * coarse, np.maximum(fine, 0.02), coarse)


# ---------------------------------------------------------------- finding the character


def _otsu(values: np.ndarray) -> tuple[float, float, float, float]:
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


def _grown(mask: np.ndarray, diagonal: bool = True) -> np.ndarray:
    """The mask dilated by one pixel in all eight directions, or only the four of a cross
    (shifted ORs: fast)."""
    tall = mask.copy()
    tall[1:] |= mask[:-1]
    tall[:-1] |= mask[1:]
    grown = tall.copy() if diagonal else tall
    source = tall if diagonal else mask
    grown[:, 1:] |= source[:, :-1]
    grown[:, :-1] |= source[:, 1:]
    return grown


def _without_rules(mask: np.ndarray, ink: np.ndarray, extent: tuple[int, int]) -> np.ndarray:
    """The mask without the printed rules of lined or squared paper.

    A rule is a straight horizontal or vertical run of ink across nearly the whole picture
    (90% covered over 85% of its width or height) that is fainter than the pen: only its
    faint pixels go, so a stroke that crosses a rule stays whole. `extent` is the height
    and width of the box of all ink.
    """
    spans = [max(3, round(0.85 * length)) for length in mask.shape]
    # Cheapest first: ink that spans less than a rule along both axes holds no rule.
    if all(length < 0.9 * span for length, span in zip(extent, spans, strict=True)):
        return mask
    lines = np.zeros_like(mask)
    dense = mask.astype(np.float32)
    for axis, span in enumerate(spans):
        # Cheap next: no row (column) holds that much ink, so none holds a rule.
        if extent[axis] < 0.9 * span or mask.sum(axis=axis).max() < 0.9 * span:
            continue
        covered = ndimage.uniform_filter1d(dense, span, axis=axis, mode="constant") >= 0.9
        if covered.any():
            lines |= mask & ndimage.maximum_filter1d(covered, span, axis=axis, mode="constant")
    if not lines.any():
        return mask
    rest = mask & ~lines
    if not rest.any():
        return mask
    pen = _quantiles(ink[rest], (0.9,))[0]
    faint = lines & (ink < 0.6 * pen)
    # Rules are mostly faint; a bar of the character itself is as dark as the rest of it.
    if faint.sum() < 0.5 * lines.sum():
        return mask
    return mask & ~faint


def ink_map(gray: np.ndarray) -> tuple[np.ndarray, str]:
    """A decoded gray picture → (how much ink each pixel holds, 0..1; the polarity):
    steps 2 and 3 of the module docstring, for any picture of one or many characters."""
    dark_ink = _dark_ink(gray)
    polarity = "dark-on-light" if dark_ink else "light-on-dark"
    return _ink_map(gray if dark_ink else 1 - gray), polarity


def ink_mask(
    ink: np.ndarray, min_contrast: float, *, rules: bool = True
) -> tuple[np.ndarray, float] | str:
    """The pixels that are ink (Otsu, above the paper's noise, the faint printed rules of
    lined paper removed unless `rules` is False) and the contrast; or why there is none
    (blank, too faint).

    A fine pen in strong sensor noise is a thin line the noise hides pixel by pixel; when
    the picture fails the test as it is, it is tested again smoothed (Gaussian, σ one
    pixel), which lowers the noise about three times and the line's ink far less.
    """
    found = _mask_above_noise(ink, min_contrast)
    if isinstance(found, str):
        found = _mask_above_noise(ndimage.gaussian_filter(ink, 1.0, truncate=2.0), min_contrast)
    if isinstance(found, str):
        return found
    mask, contrast = found
    return (without_rules(mask, ink) if rules else mask), contrast


def _mask_above_noise(ink: np.ndarray, min_contrast: float) -> tuple[np.ndarray, float] | str:
    """Otsu's ink, if it stands above the paper's noise (`ink_mask`)."""
    threshold, paper_mean, paper_std, ink_mean = _otsu(ink)
    contrast = ink_mean - paper_mean
    if contrast < max(min_contrast, 5 * paper_std):
        return "the image is blank or too faint"
    # Far above the paper's noise, whatever Otsu made of a nearly empty histogram.
    mask = ink > max(threshold, paper_mean + 4 * paper_std)
    if not mask.any():
        return "the image is blank or too faint"
    return mask, contrast


def without_rules(mask: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """The ink mask without the faint printed rules of lined or squared paper (step 5)."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return mask
    cols = np.flatnonzero(mask.any(axis=0))
    return _without_rules(mask, ink, (rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1))


def tight_margin(ink: np.ndarray) -> int:
    """The paper to lay around a picture cropped tightly to its character, or 0.

    Tightly cropped: strong ink (half the pen's darkness or more) touches all four edges
    but covers less than half of the picture's outline (a page edge or a frame around
    the picture covers all of its side), and its biggest part reaches from an edge at
    least 60% of the way across the picture.
    Such a picture (a cut-out of a scan, a bitmap stretched to fill its box) is nearly all
    stroke edges, which the threshold would take for the paper's noise, and its strokes
    lie along the edges as page borders do: with a margin of paper a quarter of its
    longer side it is a character on a page like any other.
    """
    strong = ink >= 0.5
    edges = (strong[0], strong[-1], strong[1:-1, 0], strong[1:-1, -1])
    if not all(edge.any() for edge in edges):
        return 0
    if sum(int(np.count_nonzero(edge)) for edge in edges) >= 0.5 * sum(e.size for e in edges):
        return 0
    labels, _ = ndimage.label(strong, structure=_EIGHT_CONNECTED)
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    # From an edge most of the way across is enough: the stem of an E drawn apart from
    # its bars stops short of the edge they touch, an i's stem short of its dot.
    rows, cols = ndimage.find_objects(labels)[int(np.argmax(sizes)) - 1]
    height, width = ink.shape
    # Its box reaches an edge where the part does.
    on_edge = rows.start == 0 or cols.start == 0 or rows.stop == height or cols.stop == width
    across = on_edge and (
        rows.stop - rows.start >= 0.6 * height or cols.stop - cols.start >= 0.6 * width
    )
    return math.ceil(0.25 * max(ink.shape)) if across else 0


def _find_character(
    ink: np.ndarray, cfg: PreprocessConfig
) -> tuple[np.ndarray, tuple[int, int, int, int], float, float] | str:
    """The character's mask, its box (top, bottom, left, right; exclusive ends), its ink
    level and contrast; or why there is none. A tightly cropped picture is searched with
    a margin of paper around it (`tight_margin`); what is returned is in its own pixels."""
    margin = tight_margin(ink)
    if not margin:
        return _find_in(ink, cfg)
    height, width = ink.shape
    padded = np.zeros((height + 2 * margin, width + 2 * margin), dtype=ink.dtype)
    padded[margin:-margin, margin:-margin] = ink
    found = _find_in(padded, cfg, margin)
    if isinstance(found, str):
        return found
    mask, (top, bottom, left, right), level, contrast = found
    box = (top - margin, bottom - margin, left - margin, right - margin)
    return mask[margin:-margin, margin:-margin], box, level, contrast


def _find_in(
    ink: np.ndarray, cfg: PreprocessConfig, margin: int = 0
) -> tuple[np.ndarray, tuple[int, int, int, int], float, float] | str:
    """`_find_character` in an ink map that may have `margin` pixels of paper added
    around the picture (printed rules are looked for within the picture itself)."""
    found = ink_mask(ink, cfg.min_contrast, rules=not margin)
    if isinstance(found, str):
        return found
    mask, contrast = found
    if margin:
        inside = (slice(margin, -margin), slice(margin, -margin))
        mask[inside] = without_rules(mask[inside], ink[inside])
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    height, width = ink.shape
    # Components are found within the box of all ink (a pixel wider, for the grouping):
    # on a picture mostly paper that is a fraction of the work.
    y0, y1 = max(rows[0] - 1, 0), min(rows[-1] + 2, height)
    x0, x1 = max(cols[0] - 1, 0), min(cols[-1] + 2, width)
    inked = mask[y0:y1, x0:x1]
    # Parts less than two pixels apart are one part: chalk, a dry pen or a faint scan
    # break a stroke into grains, which alone would count as specks.
    grouped, count = ndimage.label(_grown(inked), structure=_EIGHT_CONNECTED)
    part = (
        inked
        if count == 1
        else _character_part(inked, grouped, count, (y0, y1, x0, x1), ink.shape, cfg)
    )
    rows = np.flatnonzero(part.any(axis=1))
    cols = np.flatnonzero(part.any(axis=0))
    # Smaller than 3% of the picture: a speck of dust, not something one can read.
    if max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 < max(3, 0.03 * max(height, width)):
        return "only specks of dust or noise"
    character = np.zeros_like(mask)
    character[y0:y1, x0:x1] = part
    level = _quantiles(ink[y0:y1, x0:x1][part], (0.9,))[0]
    box = (y0 + int(rows[0]), y0 + int(rows[-1]) + 1, x0 + int(cols[0]), x0 + int(cols[-1]) + 1)
    return character, box, level, contrast


def _character_part(
    inked: np.ndarray,
    grouped: np.ndarray,
    count: int,
    box: tuple[int, int, int, int],
    shape: tuple[int, int],
    cfg: PreprocessConfig,
) -> np.ndarray:
    """Of several components (`grouped`, within `box` of a picture of `shape`), the
    character's: the biggest away from the border, and those near it big enough."""
    y0, y1, x0, x1 = box
    height, width = shape
    labels = np.where(inked, grouped, 0)
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    # Along the border: most of a component within a band 3% of the image wide.
    band = max(1, round(0.03 * max(height, width)))
    ring = np.zeros(count + 1, dtype=np.int64)
    for top, bottom, left, right in (
        (0, band, 0, width),
        (height - band, height, 0, width),
        (band, height - band, 0, band),
        (band, height - band, width - band, width),
    ):
        strip = labels[
            max(top, y0) - y0 : max(min(bottom, y1) - y0, 0),
            max(left, x0) - x0 : max(min(right, x1) - x0, 0),
        ]
        ring += np.bincount(strip.ravel(), minlength=count + 1)
    along_border = ring > 0.3 * sizes
    candidates = sizes * ~along_border
    if candidates.max() < 0.1 * sizes.max():
        # Nothing but specks away from the border: a character cropped tightly.
        candidates = sizes
    main = int(np.argmax(candidates))
    boxes = ndimage.find_objects(labels)
    main_rows, main_cols = boxes[main - 1]
    extent = max(main_rows.stop - main_rows.start, main_cols.stop - main_cols.start)
    least = max(3.0, 5e-5 * height * width, cfg.speck_fraction * sizes[main])
    keep = np.zeros(count + 1, dtype=bool)
    for index in np.flatnonzero(candidates >= least):
        rows, cols = boxes[index - 1]
        gap_y = max(0, rows.start - main_rows.stop, main_rows.start - rows.stop)
        gap_x = max(0, cols.start - main_cols.stop, main_cols.start - cols.stop)
        if gap_x < gap_y:
            # Above or below: measured against the larger of the two, since the part with
            # the most ink may be the dot (a ring drawn over a short stem).
            reach = cfg.near_stacked * max(extent, rows.stop - rows.start, cols.stop - cols.start)
        else:
            reach = cfg.near * extent
        keep[index] = math.hypot(gap_x, gap_y) <= reach
    keep[main] = True
    return keep[labels]


# ---------------------------------------------------------------- pen and frame


def _redraw(
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
        near = _grown(mask[y0:y1, x0:x1])
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


def _bordered(binary: np.ndarray, width: int) -> np.ndarray:
    """The binary image inside a border of False `width` pixels wide (np.pad, cheaper)."""
    height, breadth = binary.shape
    out = np.zeros((height + 2 * width, breadth + 2 * width), dtype=bool)
    out[width : width + height, width : width + breadth] = binary
    return out


def _to_bits(binary: np.ndarray) -> int:
    """A binary picture as one Python integer, a bit per pixel, row after row.

    Shifting it by 1 or by the width moves every pixel sideways or up and down at once,
    so that an erosion or a dilation is a few integer operations, much cheaper than as
    many NumPy calls on a picture of this size. A border of False keeps rows apart.
    """
    return int.from_bytes(np.packbits(binary, axis=None, bitorder="little").tobytes(), "little")


def _from_bits(bits: int, shape: tuple[int, int]) -> np.ndarray:
    """The binary picture of `shape` that `_to_bits` made `bits` of."""
    size = shape[0] * shape[1]
    packed = np.frombuffer(bits.to_bytes((size + 7) // 8, "little"), dtype=np.uint8)
    return np.unpackbits(packed, count=size, bitorder="little").view(bool).reshape(shape)


def _distance(binary: np.ndarray) -> np.ndarray:
    """Each True pixel's distance to the nearest False one, nearly Euclidean.

    The mean of the chessboard and city-block distances: exact along the axes, 6% long on
    diagonals. `binary` must have a border of False. Both are counted by peeling: a pixel's
    chessboard (city-block) distance is the number of 3×3 (cross) erosions it survives,
    plus one. The erosions are done on `_to_bits` integers and the layers summed in binary
    digits, one integer per digit: several times faster than scipy's distance transforms
    or NumPy on these small pictures.
    """
    width = binary.shape[1]
    bits = _to_bits(binary)
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
        twice += _from_bits(digit, binary.shape).astype(twice.dtype) << k
    return twice.astype(np.float32) / 2


def _thickened(binary: np.ndarray, layers: int) -> np.ndarray:
    """The paper pixels within `layers` of the ink (by `_distance`) added, on a canvas
    `layers` pixels wider: the same pixels as cutting a distance transform of the paper.

    A pixel is taken when its chessboard distance a and city-block distance b to the ink
    have a + b ≤ 2·layers, i.e. when it lies within a of the ink by one and within
    2·layers - a by the other, for some a; as b ≤ 2a, every a up to 2·layers/3 is covered
    by the square dilation alone. The dilations are grown a pixel at a time, on
    `_to_bits` integers (`binary` has a border of False, so the ink never reaches the
    canvas's edge).
    """
    canvas = _bordered(binary, layers)
    width = canvas.shape[1]
    squares = [_to_bits(canvas)]
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
    return _from_bits(thick, canvas.shape)


def _stroke_width(binary: np.ndarray) -> tuple[float, np.ndarray]:
    """Stroke width in pixels, and each pixel's depth (distance to the paper).

    The width is twice the median depth along the strokes' ridge (pixels as deep as any
    neighbour) less one: exact for straight strokes an odd number of pixels wide.
    `binary` must have a border of False.
    """
    depth = _distance(binary)
    # The 3×3 maximum of the interior by shifted maxima (the border is paper).
    rows = np.maximum(depth[:-2], depth[1:-1])
    np.maximum(rows, depth[2:], out=rows)
    most = np.maximum(rows[:, :-2], rows[:, 1:-1])
    np.maximum(most, rows[:, 2:], out=most)
    inner = depth[1:-1, 1:-1]
    ridge = inner[binary[1:-1, 1:-1] & (inner >= most)]
    return 2 * _quantiles(ridge, (0.5,))[0] - 1, depth


def _normalise_stroke(
    binary: np.ndarray, width_range: tuple[float, float], style: str
) -> np.ndarray:
    """Thicken or thin the strokes of a SOURCE_SIDE binary character into the range."""
    inner = 24 if style == "emnist" else 20
    # A margin of paper, so that depths are measured to the character's edge.
    binary = _bordered(binary, 1)
    width, depth = _stroke_width(binary)
    # Output pixels → source pixels, counting that the box grows or shrinks with the pen.
    low, high = (w * (SOURCE_SIDE - width) / (inner - w) for w in width_range)
    if low <= width <= high:
        return binary
    # Whole layers of pixels, as few as bring the width into the range.
    if width < low:
        return _thickened(binary, math.ceil((low - width) / 2))
    layers = math.ceil((width - high) / 2)
    # Strokes thinner than the layers removed elsewhere lose half their width instead of
    # vanishing; corners do not count as thin (their neighbourhood holds a deep stroke).
    local = ndimage.maximum_filter(depth, size=2 * layers + 1)
    return (depth > layers) | (depth > 0.5 * local)


def _emnist_frame(binary: np.ndarray, sigma: float) -> np.ndarray:
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


def _mnist_frame(binary: np.ndarray, sigma: float) -> np.ndarray:
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
