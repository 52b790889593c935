"""A picture of what reading a line found: the boxes in reading order, and each 28×28 input.

Top: the line as it was read (at the working scale), printed rules and box sides that were
removed tinted red, each character's box in blue with its number. Below: each character's
28×28 model input enlarged, with its number, answer and confidence.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from charrec.fileio import atomic_path
from charrec.infer.read import Reading

# Each 28×28 input is shown this many times bigger.
SEEN_SCALE = 3
_BOX = (40, 90, 230)
_REMOVED = (235, 80, 80)


def explain_reading(reading: Reading, output: str | Path) -> Path:
    """Write the picture of `reading` (from `read_line`) as a PNG; returns its path."""
    if reading.gray is None or reading.segmentation is None:
        raise ValueError("explain_reading needs a Reading made by read_line")
    gray = np.round(reading.gray * 255).astype(np.uint8)
    line = np.repeat(gray[:, :, None], 3, axis=2)
    removed = reading.segmentation.lines
    if removed.any():
        line[removed] = _REMOVED
    picture = Image.fromarray(line, mode="RGB")
    font = ImageFont.load_default()
    draw = ImageDraw.Draw(picture)
    sx, sy = reading.scale
    for number, character in enumerate(reading.characters, start=1):
        left, top, right, bottom = character.box
        box = (left / sx, top / sy, right / sx - 1, bottom / sy - 1)
        draw.rectangle(box, outline=_BOX, width=2)
        draw.text((box[0] + 2, max(0, box[1] - 11)), str(number), fill=_BOX, font=font)
    cell = 28 * SEEN_SCALE
    strip_w = max(picture.width, len(reading.characters) * (cell + 6) + 6)
    canvas = Image.new("RGB", (strip_w, picture.height + cell + 40), (255, 255, 255))
    canvas.paste(picture, (0, 0))
    draw = ImageDraw.Draw(canvas)
    y = picture.height + 6
    for index, character in enumerate(reading.characters):
        x = 6 + index * (cell + 6)
        seen = Image.fromarray(character.seen, mode="L").resize((cell, cell), Image.NEAREST)
        canvas.paste(seen, (x, y))
        caption = f"{index + 1}:{character.label} {100 * character.confidence:.0f}%"
        draw.text((x, y + cell + 3), caption, fill=(0, 0, 0), font=font)
    output = Path(output)
    with atomic_path(output) as tmp:
        canvas.save(tmp, format="PNG")
    return output
