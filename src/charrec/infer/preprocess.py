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

Steps 2 to 5 live in `charrec.infer.ink` (shared with reading a line), step 6 in
`charrec.infer.pen`, step 7 in `charrec.infer.frame`; this module finds the character
and runs the steps in turn.

Speed (`charrec bench infer` times the whole path from file to answer): most arrays here
are small, where each NumPy or scipy call's fixed cost outweighs its arithmetic, so the
steps avoid calls rather than arithmetic (`charrec.infer.preprocess_kernels`). The pen's
erosions and dilations work on the bitmap held as one Python integer (a shift moves every
pixel at once); the blur and the bicubic reduction are folded into one cached 28×n matrix
per axis; components are labelled within the ink's box only. Each gives the pixels of the
plain scipy or Pillow operation it replaces, the frame within one gray level
(tests/infer/test_preprocess_kernels.py).

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
from charrec.infer.frame import BLURS, OUTPUT_SIZE, emnist_frame, mnist_frame
from charrec.infer.imageio import (
    MAX_PIXELS,
    BlankImageError,
    ImageError,
    ImageSource,
    decode,
    load_image,
    source_name,
)
from charrec.infer.ink import ink_map, ink_mask, tight_margin, without_rules
from charrec.infer.pen import STROKE_WIDTHS, normalise_stroke, redraw
from charrec.infer.preprocess_kernels import EIGHT_CONNECTED, grown, quantiles

__all__ = [
    "OUTPUT_SIZE",
    "BlankImageError",
    "ImageError",
    "PreprocessConfig",
    "PreprocessResult",
    "Preprocessor",
    "explain",
    "load_image",
    "preprocess",
]

STYLES = ("emnist", "mnist")


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
        level = quantiles(ink[top:bottom, left:right][mask[top:bottom, left:right]], (0.9,))[0]
        return self._framed(ink, mask, level, box)

    def _framed(
        self, ink: np.ndarray, mask: np.ndarray, level: float, box: tuple[int, int, int, int]
    ) -> np.ndarray:
        """Redraw, pen and frame: the character's mask and ink → the 28×28 input."""
        cfg = self.config
        binary = redraw(ink, mask, level, box)
        if cfg.stroke_width is not None:
            binary = normalise_stroke(binary, cfg.stroke_width, cfg.style)
        if cfg.style == "emnist":
            return emnist_frame(binary, cfg.blur_sigma)
        return mnist_frame(binary, cfg.blur_sigma)

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
    grouped, count = ndimage.label(grown(inked), structure=EIGHT_CONNECTED)
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
    level = quantiles(ink[y0:y1, x0:x1][part], (0.9,))[0]
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
