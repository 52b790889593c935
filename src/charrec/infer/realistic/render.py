"""Drawing characters: a font's glyph as ink coverage, or strokes of a round pen.

`glyph_coverage` is what the scene generator builds on (a float mask, anti-aliased);
`render_text` and `render_pen` give finished gray pictures for tests and benchmarks.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont


def _face(font: Path, char: str, height_px: float, stroke: int = 0) -> ImageFont.FreeTypeFont:
    """The font at the size whose glyph for `char` is `height_px` tall (ink box)."""
    size = max(8, round(height_px))
    face = ImageFont.truetype(str(font), size)
    _, top, _, bottom = face.getbbox(char, stroke_width=stroke)
    size = max(8, round(size * height_px / max(1, bottom - top)))
    return ImageFont.truetype(str(font), size)


def glyph_coverage(char: str, font: Path, height_px: float) -> np.ndarray:
    """The glyph's ink as a float32 array in [0, 1], cropped to it, `height_px` tall.

    A small glyph is drawn bigger and area-averaged down, so its edges are anti-aliased
    the way a camera or scanner sees a pen line (a big one is smooth as it is).
    """
    factor = 4 if height_px < 64 else 2 if height_px < 256 else 1
    face = _face(font, char, height_px * factor)
    left, top, right, bottom = face.getbbox(char)
    image = Image.new("L", (right - left + 2 * factor, bottom - top + 2 * factor), 0)
    ImageDraw.Draw(image).text((factor - left, factor - top), char, fill=255, font=face)
    box = image.getbbox() or (0, 0, image.width, image.height)
    image = image.crop(box)
    size = (max(1, round(image.width / factor)), max(1, round(image.height / factor)))
    return np.asarray(image.resize(size, Image.Resampling.BOX), dtype=np.float32) / 255


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


Stroke = tuple[tuple[float, float], tuple[float, float]]
# A letter K drawn with three strokes, in units of its own box (x, y in 0..1).
K_STROKES: tuple[Stroke, ...] = (
    ((0.2, 0.0), (0.2, 1.0)),
    ((0.85, 0.0), (0.2, 0.55)),
    ((0.4, 0.4), (0.9, 1.0)),
)


def render_pen(
    pen: int,
    canvas: tuple[int, int] = (800, 800),
    box: tuple[int, int, int, int] = (150, 100, 650, 700),
    strokes: Sequence[Stroke] = K_STROKES,
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
