"""Lines of block characters drawn with a round pen, for the reading tests.

Each letter is strokes in a unit box (x, y in 0..1, y down); `draw_line` lays letters
out left to right with the gaps asked for, optionally in printed boxes or on a comb.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

STROKES = {
    "L": [((0.1, 0.0), (0.1, 1.0)), ((0.1, 1.0), (0.9, 1.0))],
    "T": [((0.0, 0.0), (1.0, 0.0)), ((0.5, 0.0), (0.5, 1.0))],
    "H": [((0.1, 0.0), (0.1, 1.0)), ((0.9, 0.0), (0.9, 1.0)), ((0.1, 0.5), (0.9, 0.5))],
    "E": [
        ((0.15, 0.0), (0.15, 1.0)),
        ((0.15, 0.0), (0.9, 0.0)),
        ((0.15, 0.5), (0.75, 0.5)),
        ((0.15, 1.0), (0.9, 1.0)),
    ],
    "I": [((0.5, 0.0), (0.5, 1.0))],
    "V": [((0.0, 0.0), (0.5, 1.0)), ((0.5, 1.0), (1.0, 0.0))],
    "X": [((0.05, 0.0), (0.95, 1.0)), ((0.95, 0.0), (0.05, 1.0))],
    "1": [((0.3, 0.2), (0.6, 0.0)), ((0.6, 0.0), (0.6, 1.0))],
    "7": [((0.05, 0.0), (0.95, 0.0)), ((0.95, 0.0), (0.35, 1.0))],
    # A lower-case i: a stem and, apart from it, a dot above.
    "i": [((0.5, 0.35), (0.5, 1.0)), ((0.5, 0.05), (0.5, 0.05))],
}


def draw_line(
    text: str,
    *,
    height: int = 60,
    width: float = 0.6,
    gap: float = 0.35,
    space: float = 1.4,
    pen: int = 6,
    boxes: bool = False,
    comb: bool = False,
    specks: int = 0,
    light_on_dark: bool = False,
) -> np.ndarray:
    """A uint8 gray picture of `text` (letters of STROKES and spaces); sizes are fractions
    of the letter height, `gap` between letters and `space` for a space."""
    margin = height
    pitch = (width + gap) * height
    canvas_w = int(2 * margin + len(text) * pitch + text.count(" ") * space * height)
    image = Image.new("L", (canvas_w, 3 * height), 255)
    draw = ImageDraw.Draw(image)
    x = float(margin)
    top = height
    lefts = []
    for char in text:
        if char == " ":
            x += space * height
            continue
        lefts.append(x)
        for (x0, y0), (x1, y1) in STROKES[char]:
            a = (x + x0 * width * height, top + y0 * height)
            b = (x + x1 * width * height, top + y1 * height)
            if a == b:
                draw.ellipse((a[0] - pen, a[1] - pen, a[0] + pen, a[1] + pen), fill=0)
            else:
                draw.line((a, b), fill=0, width=pen)
                for end in (a, b):
                    r = pen / 2
                    draw.ellipse((end[0] - r, end[1] - r, end[0] + r, end[1] + r), fill=0)
        x += pitch
    if boxes or comb:
        # Printed boxes (or a comb) around each character, a third of a gap outside it.
        cell = pitch
        first = lefts[0] - gap * height / 2
        y0, y1 = top - 0.25 * height, top + 1.25 * height
        count = len(lefts)
        draw.line((first, y1, first + count * cell, y1), fill=40, width=2)
        if boxes:
            draw.line((first, y0, first + count * cell, y0), fill=40, width=2)
        for k in range(count + 1):
            xk = first + k * cell
            draw.line((xk, y0 if boxes else y1 - 0.3 * height, xk, y1), fill=40, width=2)
    if specks:
        rng = np.random.default_rng(0)
        for _ in range(specks):
            cx = rng.uniform(margin, canvas_w - margin)
            cy = rng.uniform(top - 0.5 * height, top + 1.5 * height)
            draw.ellipse((cx - 1, cy - 1, cx + 1, cy + 1), fill=0)
    pixels = np.asarray(image)
    return 255 - pixels if light_on_dark else pixels
