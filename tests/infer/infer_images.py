"""Pictures of characters drawn by the tests: fonts, pens, paper, shadows and noise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

# Handwriting fonts from Debian packages first (fonts-dkg-handwriting, fonts-femkeklaver,
# fonts-humor-sans), then DejaVu, which nearly every Linux has.
FONT_FILES = (
    "/usr/share/fonts/truetype/fifthhorseman/dkg.ttf",
    "/usr/share/fonts/truetype/femkeklaver/femkeklaver.ttf",
    "/usr/share/fonts/truetype/humor-sans/Humor-Sans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)


def find_font() -> Path | None:
    """The first TrueType font found, or None."""
    return next((Path(p) for p in FONT_FILES if Path(p).is_file()), None)


def render_text(
    char: str,
    font: Path,
    canvas: tuple[int, int] = (128, 128),
    height: float = 0.7,
    centre: tuple[float, float] = (0.5, 0.5),
    ink: int = 0,
    paper: int = 255,
    stroke: int = 0,
) -> np.ndarray:
    """A uint8 gray picture of `char`, its ink box `height` of the canvas tall, at `centre`.

    `centre` is a fraction of the canvas (x, y); `stroke` thickens the glyph's outline.
    """
    width, tall = canvas
    size = max(8, round(height * tall))
    face = ImageFont.truetype(str(font), size)
    left, top, right, bottom = face.getbbox(char, stroke_width=stroke)
    # Scale the font so that the ink box is the asked height.
    size = max(8, round(size * height * tall / max(1, bottom - top)))
    face = ImageFont.truetype(str(font), size)
    left, top, right, bottom = face.getbbox(char, stroke_width=stroke)
    image = Image.new("L", canvas, paper)
    x = centre[0] * width - (left + right) / 2
    y = centre[1] * tall - (top + bottom) / 2
    ImageDraw.Draw(image).text(
        (x, y), char, fill=ink, font=face, stroke_width=stroke, stroke_fill=ink
    )
    return np.asarray(image)


# A letter K drawn with three strokes, in units of its own box (x, y in 0..1).
K_STROKES = (((0.2, 0.0), (0.2, 1.0)), ((0.85, 0.0), (0.2, 0.55)), ((0.4, 0.4), (0.9, 1.0)))


def render_pen(
    pen: int,
    canvas: tuple[int, int] = (800, 800),
    box: tuple[int, int, int, int] = (150, 100, 650, 700),
    strokes=K_STROKES,
) -> np.ndarray:
    """A uint8 picture of strokes drawn with a round pen `pen` pixels wide, dark on white."""
    image = Image.new("L", canvas, 255)
    draw = ImageDraw.Draw(image)
    x0, y0, x1, y1 = box
    for (ax, ay), (bx, by) in strokes:
        a = (x0 + ax * (x1 - x0), y0 + ay * (y1 - y0))
        b = (x0 + bx * (x1 - x0), y0 + by * (y1 - y0))
        draw.line([a, b], fill=0, width=pen)
        for px, py in (a, b):  # round pen ends
            r = pen / 2
            draw.ellipse([px - r, py - r, px + r, py + r], fill=0)
    return np.asarray(image)


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
