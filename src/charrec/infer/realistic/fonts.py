"""Handwriting fonts to draw characters with, and which characters each can draw.

The fonts come from Debian packages (fonts-dkg-handwriting, fonts-breip, fonts-bwht,
fonts-klee, fonts-rufscript, fonts-humor-sans) and are found by file name under the
usual font folders. A font draws a character only when its character map has it and
the glyph leaves ink. Several of these fonts draw lower case as small capitals; such a
font would teach nothing about lower case (its 'a' is an 'A'), so it is used for capitals
and digits only: `Font.caps_only` is measured from the glyphs themselves.

fonts-femkeklaver is left out: it draws letters as hollow double outlines, which no pen
makes. fonts-breip ships one design twice (Breip.ttf and breipfont.ttf), and one is
enough; of dkg's four faces the bold oblique is left out, so that one hand does not
weigh as much as all the others in lower case.
"""

from __future__ import annotations

import functools
import string
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont

FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts")
# File names of the handwriting fonts, with the short name reports use for each.
HANDWRITING_FONTS = {
    "dkg.ttf": "dkg",
    "dkgBd.ttf": "dkg-bold",
    "dkgIt.ttf": "dkg-oblique",
    "Breip.ttf": "breip",
    "BecauseWeBuild-Regular.otf": "bwht-build",
    "BecauseWeConnect-Regular.otf": "bwht-connect",
    "BecauseWeCreate-Regular.otf": "bwht-create",
    "BecauseWeLearn-Regular.otf": "bwht-learn",
    "BecauseWeMentor-Regular.otf": "bwht-mentor",
    "BecauseWeOrganize-Regular.otf": "bwht-organize",
    "KleeOne-Regular.ttf": "klee",
    "KleeOne-SemiBold.ttf": "klee-semibold",
    "Rufscript010.ttf": "rufscript",
    "Humor-Sans.ttf": "humor-sans",
}
# Lower-case letters whose written shape differs from the capital's in any real hand.
_DISTINCT_LOWER = "abdeghnqrt"
# A font whose distinct lower case correlates with its capitals this much (on average)
# draws small capitals. Measured: true lower case 0.1-0.35, small capitals 0.6-0.8.
_CAPS_ONLY_CORRELATION = 0.5


@dataclass(frozen=True)
class Font:
    """One handwriting font file and what it can draw."""

    name: str
    path: Path
    # The characters it has a visible glyph for.
    covers: frozenset[str]
    # Its lower case letters are small capitals.
    caps_only: bool

    def draws(self, char: str) -> bool:
        """Whether this font gives a faithful picture of `char`."""
        if char not in self.covers:
            return False
        return not (self.caps_only and char.islower())


def _glyph(face: ImageFont.FreeTypeFont, char: str, size: int = 32) -> np.ndarray | None:
    """The glyph's ink, cropped and resized to size×size; None when it leaves none."""
    left, top, right, bottom = face.getbbox(char)
    if right <= left or bottom <= top:
        return None
    image = Image.new("L", (right - left + 4, bottom - top + 4), 0)
    ImageDraw.Draw(image).text((2 - left, 2 - top), char, fill=255, font=face)
    box = image.getbbox()
    if box is None:
        return None
    return np.asarray(image.crop(box).resize((size, size), Image.Resampling.BILINEAR), float)


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel() - a.mean(), b.ravel() - b.mean()
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-9))


@functools.cache
def inspect_font(path: Path, name: str) -> Font:
    """Measure a font: its visible glyphs among 0-9A-Za-z and whether it is caps-only."""
    # Without a glyph of its own, a character is drawn as the font's "missing" box.
    with TTFont(str(path), lazy=True) as font:
        mapped = set(font.getBestCmap() or {})
    face = ImageFont.truetype(str(path), 64)
    glyphs = {
        c: _glyph(face, c) if ord(c) in mapped else None
        for c in string.digits + string.ascii_letters
    }
    covers = frozenset(c for c, g in glyphs.items() if g is not None)
    likeness = [
        _correlation(glyphs[c], glyphs[c.upper()])  # type: ignore[arg-type]
        for c in _DISTINCT_LOWER
        if c in covers and c.upper() in covers
    ]
    caps_only = bool(likeness) and float(np.mean(likeness)) > _CAPS_ONLY_CORRELATION
    return Font(name, path, covers, caps_only)


@functools.lru_cache(maxsize=1)
def _font_files() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder in FONT_DIRS:
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                if path.name in HANDWRITING_FONTS and path.name not in found:
                    found[path.name] = path
    return found


def handwriting_fonts() -> list[Font]:
    """The handwriting fonts installed on this machine, in a fixed order."""
    files = _font_files()
    return [
        inspect_font(files[file], name) for file, name in HANDWRITING_FONTS.items() if file in files
    ]


# Fonts for tests that need one font: handwriting first, then DejaVu, which nearly every
# Linux has.
_ANY_FONT_FILES = (
    "/usr/share/fonts/truetype/fifthhorseman/dkg.ttf",
    "/usr/share/fonts/truetype/femkeklaver/femkeklaver.ttf",
    "/usr/share/fonts/truetype/humor-sans/Humor-Sans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)


def find_font() -> Path | None:
    """The first TrueType font found of a short list (handwriting first), or None."""
    return next((Path(p) for p in _ANY_FONT_FILES if Path(p).is_file()), None)
