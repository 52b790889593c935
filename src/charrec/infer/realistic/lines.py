"""Lines of handprinted characters that look like what people send, drawn from a seed,
and how well `Recognizer.read` reads them.

Each line is 4 to 10 characters of a model's classes (some with a space between two
words), written in one hand: a handwriting font (`fonts`), or real handwritten characters
from UNIPEN (tablets, 272 writers) and, for digits, Semeion and optdigits (scanned forms),
read from `realworld/` in the data folder. The characters vary in size and baseline and
are spaced as people space them; each line is drawn under one condition (`LINE_CONDITIONS`)
with the paper, lighting, blur, noise and JPEG effects of the single-character scenes
(`charrec.infer.realistic.scene`).

    samples = [render_line(spec) for spec in plan_lines("0123456789", 80, seed=0)]
    result = evaluate_lines(charrec.load("digits"), samples)
"""

from __future__ import annotations

import csv
import functools
import io
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from charrec.errors import CharrecError, ConfigError, unknown_choice
from charrec.infer.realistic.fonts import Font, handwriting_fonts
from charrec.infer.realistic.render import glyph_coverage
from charrec.infer.realistic.scene import INKS, PAPERS, Scene, _field, _lighting, _rule, encode

LINE_CONDITIONS: dict[str, str] = {
    "clean": "dark ink on white paper",
    "tight": "letters nearly touching (gaps 3-10% of their height), some touching",
    "wide": "letters far apart (gaps 50-80% of their height)",
    "baseline": "a wandering baseline and sizes that vary by a quarter",
    "boxes": "one character per printed box, as on a form",
    "comb": "a comb field: a printed line with short teeth between the characters",
    "ruled": "lined notebook paper",
    "light-on-dark": "white ink on black, as drawn on a screen",
    "photo": "a phone photo: tinted paper, uneven light, a shadow, blur, noise, JPEG",
}
# Hands a line can be written in besides the fonts, and the classes each has.
REAL_SETS = {"unipen": None, "semeion": "0123456789", "optdigits": "0123456789"}
# The length of the line whose reading time is reported.
LATENCY_LENGTH = 10


@dataclass(frozen=True)
class LineSpec:
    """One line to draw: its text, the hand (a font or a real set), the condition, the seed."""

    index: int
    text: str
    hand: str  # "font:<name>" or a REAL_SETS name
    condition: str
    seed: tuple[int, ...]


@dataclass(frozen=True)
class LineSample:
    """A drawn line as a file (`data`, PNG or JPEG) with its text."""

    index: int
    text: str
    hand: str
    condition: str
    data: bytes = field(repr=False)


# ---------------------------------------------------------------- the hands


def _data_dir() -> Path:
    from charrec.data.location import resolve_data_dir

    return resolve_data_dir()


@functools.lru_cache(maxsize=8)
def real_characters(name: str, root: str) -> dict[str, list[Path]]:
    """The image files of a real set, by label (empty when the set is not there); of a set
    split by writer (UNIPEN), the test writers' only, since shipped models learn from the
    others."""
    from charrec.data.realworld_sets import split_pictures

    folder = Path(root) / "realworld" / name
    labels = folder / "labels.csv"
    if not labels.is_file():
        return {}
    test = split_pictures(name, folder, "test")
    found: dict[str, list[Path]] = {}
    with open(labels, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            path = folder / row["path"]
            if test is None or path in test:
                found.setdefault(row["label"], []).append(path)
    return found


def _real_ink(path: Path) -> np.ndarray:
    """A real character's ink (0..1), cropped to it (the files are dark ink on white)."""
    with Image.open(path) as image:
        ink = 1 - np.asarray(image.convert("L"), dtype=np.float32) / 255
    rows = np.flatnonzero(ink.max(axis=1) > 0.2)
    cols = np.flatnonzero(ink.max(axis=0) > 0.2)
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _hands(alphabet: str, fonts: Sequence[Font], root: Path) -> list[str]:
    """Every hand that can write each character of the alphabet."""
    hands = [f"font:{f.name}" for f in fonts if all(f.draws(c) for c in alphabet)]
    for name, only in REAL_SETS.items():
        if only is not None and not set(alphabet) <= set(only):
            continue
        have = real_characters(name, str(root))
        if have and all(c in have for c in alphabet):
            hands.append(name)
    return hands


# ---------------------------------------------------------------- planning


def plan_lines(
    alphabet: str,
    count: int,
    seed: int = 0,
    conditions: Sequence[str] | None = None,
    fonts: Sequence[Font] | None = None,
    data_dir: Path | None = None,
) -> list[LineSpec]:
    """`count` lines of characters from `alphabet`, spread evenly over the conditions and
    the hands; the same list for the same arguments."""
    conditions = list(LINE_CONDITIONS) if conditions is None else list(conditions)
    for name in conditions:
        if name not in LINE_CONDITIONS:
            raise unknown_choice("line condition", name, list(LINE_CONDITIONS))
    if count < 1:
        raise ConfigError(f"the number of lines must be at least 1, got {count}")
    fonts = handwriting_fonts() if fonts is None else list(fonts)
    hands = _hands(alphabet, fonts, data_dir or _data_dir())
    if not hands:
        raise CharrecError(
            "no handwriting font nor real handwriting set can write these characters; install "
            "the Debian handwriting fonts (fonts-dkg-handwriting, fonts-bwht, fonts-klee) or "
            "point CHARREC_DATA at the data folder with realworld/"
        )
    rng = np.random.default_rng([seed, count, len(alphabet)])
    specs = []
    for index in range(count):
        condition = conditions[index % len(conditions)]
        # A third of the lines in real handwriting where a real set can write them.
        real = [h for h in hands if not h.startswith("font:")]
        fonts_only = [h for h in hands if h.startswith("font:")] or real
        pool = real if real and rng.random() < 1 / 3 else fonts_only
        hand = pool[int(rng.integers(len(pool)))]
        length = int(rng.integers(4, LATENCY_LENGTH + 1))
        text = "".join(alphabet[int(i)] for i in rng.integers(len(alphabet), size=length))
        # Some free-written lines are two words; boxes and combs hold one field.
        if condition not in ("boxes", "comb") and length >= 6 and rng.random() < 0.4:
            cut = int(rng.integers(2, length - 1))
            text = text[:cut] + " " + text[cut:]
        specs.append(LineSpec(index, text, hand, condition, (seed, index)))
    return specs


# ---------------------------------------------------------------- drawing


def _glyph(char: str, hand: str, height: float, fonts: dict[str, Font], rng) -> np.ndarray:
    if hand.startswith("font:"):
        return glyph_coverage(char, fonts[hand[5:]].path, height)
    files = real_characters(hand, str(_data_dir()))[char]
    ink = _real_ink(files[int(rng.integers(len(files)))])
    # Real sets scale each glyph to fill its box: narrow it back for thin characters.
    width = max(1, round(ink.shape[1] * height / ink.shape[0]))
    resized = Image.fromarray(ink, mode="F").resize((width, round(height)), Image.Resampling.BOX)
    return np.clip(np.asarray(resized, dtype=np.float32), 0, 1)


def render_line(spec: LineSpec, fonts: Sequence[Font] | None = None) -> LineSample:
    """Draw one planned line."""
    by_name = {f.name: f for f in (handwriting_fonts() if fonts is None else fonts)}
    rng = np.random.default_rng(list(spec.seed))
    condition = spec.condition
    height = float(rng.uniform(36, 64))
    size_jitter = 0.25 if condition == "baseline" else 0.08
    drift = 0.15 if condition == "baseline" else 0.04
    gap_range = {"tight": (0.03, 0.1), "wide": (0.5, 0.8)}.get(condition, (0.2, 0.4))
    glyphs, offsets = [], []
    for char in spec.text:
        if char == " ":
            glyphs.append(None)
            offsets.append(0.0)
            continue
        scale = 1 + rng.uniform(-size_jitter, size_jitter)
        glyphs.append(_glyph(char, spec.hand, height * scale, by_name, rng))
        offsets.append(rng.uniform(-drift, drift) * height)
    boxed = condition in ("boxes", "comb")
    widest = max(g.shape[1] for g in glyphs if g is not None)
    pitch = max(widest, 0.6 * height) + 0.5 * height
    margin = round(rng.uniform(0.6, 1.2) * height)
    positions, x = [], float(margin)
    for glyph in glyphs:
        if glyph is None:
            x += rng.uniform(1.0, 1.5) * height
            positions.append(0)
            continue
        if boxed:
            positions.append(round(x + (pitch - glyph.shape[1]) / 2))
            x += pitch
        else:
            positions.append(round(x))
            x += glyph.shape[1] + rng.uniform(*gap_range) * height
    width = round(x + margin)
    tall = round(height * 2.6)
    baseline = round(tall / 2 + height / 2)
    ink = np.zeros((tall, width), dtype=np.float32)
    for glyph, left, offset in zip(glyphs, positions, offsets, strict=True):
        if glyph is None:
            continue
        gh, gw = glyph.shape
        top = min(max(round(baseline + offset - gh), 0), tall - gh)
        region = ink[top : top + gh, left : left + gw]
        np.maximum(region, glyph[: region.shape[0], : region.shape[1]], out=region)
    if boxed:
        _print_boxes(
            ink,
            margin,
            pitch,
            len([g for g in glyphs if g is not None]),
            baseline,
            height,
            comb=condition == "comb",
        )
    scene = _scene(condition, (width, tall), height, rng)
    picture = _finish(ink, scene, rng, ruled_at=baseline if condition == "ruled" else None)
    return LineSample(spec.index, spec.text, spec.hand, condition, encode(picture, scene))


def _print_boxes(
    ink: np.ndarray,
    left: float,
    pitch: float,
    count: int,
    baseline: int,
    height: float,
    *,
    comb: bool,
) -> None:
    """Printed boxes (or a comb) of `count` cells `pitch` wide, drawn into the ink map."""
    thick = max(1, round(0.04 * height))
    level = 0.75  # printed in gray, lighter than the pen
    bottom = min(ink.shape[0] - thick, round(baseline + 0.3 * height))
    top = max(0, round(baseline - 1.3 * height))
    right = round(left + count * pitch)
    ink[bottom : bottom + thick, round(left) : right + thick] = level
    if not comb:
        ink[top : top + thick, round(left) : right + thick] = level
    tooth_top = round(bottom - 0.35 * height) if comb else top
    for k in range(count + 1):
        x = round(left + k * pitch)
        ink[tooth_top:bottom, x : x + thick] = level


def _scene(condition: str, canvas: tuple[int, int], height: float, rng) -> Scene:
    """The paper, ink and camera of one line."""
    shade = float(rng.uniform(0.9, 1.0))
    tone = float(rng.uniform(0.03, 0.2))
    values: dict = dict(
        canvas=canvas,
        height=height / canvas[1],
        centre=(0.5, 0.5),
        angle=0.0,
        stroke=None,
        ink=(tone, tone, tone),
        paper=(shade, shade, shade),
        blur=float(rng.uniform(0.0, 0.6)),
        noise=float(rng.uniform(0.0, 0.012)),
    )
    if condition == "ruled":
        values.update(ruled=True, ink=INKS["blue"])
    elif condition == "light-on-dark":
        dark, light = float(rng.uniform(0.0, 0.1)), float(rng.uniform(0.85, 1.0))
        values.update(paper=(dark,) * 3, ink=(light,) * 3, blur=0.0, noise=0.0)
    elif condition == "photo":
        paper = PAPERS["white"] if rng.random() < 0.5 else PAPERS["yellow"]
        values.update(
            ink=INKS["blue"] if rng.random() < 0.5 else INKS["black"],
            paper=tuple(shade * c for c in paper),
            texture=float(rng.uniform(0.01, 0.04)),
            light=float(rng.uniform(0.5, 0.85)),
            shadow=float(rng.uniform(0.6, 1.0)),
            blur=float(rng.uniform(0.6, 1.5)),
            noise=float(rng.uniform(0.02, 0.04)),
            format="jpeg",
            quality=int(rng.integers(60, 91)),
        )
    return Scene(**values)


def _finish(ink: np.ndarray, scene: Scene, rng, ruled_at: int | None) -> np.ndarray:
    """Ink laid on the paper, then the scene's lighting, blur and noise (as for one
    character in `scene.compose`)."""
    from scipy import ndimage

    height, width = ink.shape
    gray = len(set(scene.ink)) == 1 and len(set(scene.paper)) == 1 and not scene.ruled
    channels = 1 if gray else 3
    paper = np.empty((height, width, channels), dtype=np.float32)
    paper[:] = np.asarray(scene.paper[:channels], np.float32)
    if scene.texture:
        mottle = _field(rng, (height, width), max(4.0, 0.08 * max(height, width)))
        paper *= (1 + scene.texture * mottle)[..., None]
    if ruled_at is not None:
        _rule(paper, ruled_at, round(scene.height * height), rng)
    colour = np.asarray(scene.ink[:channels], np.float32)
    picture = paper * (1 - ink[..., None]) + colour * ink[..., None]
    if scene.light < 1 or scene.shadow < 1:
        picture *= _lighting(rng, scene, (height, width))[..., None]
    if scene.blur > 0:
        picture = ndimage.gaussian_filter(picture, (scene.blur, scene.blur, 0), truncate=3.0)
    if scene.noise > 0:
        picture += scene.noise * rng.standard_normal(picture.shape, dtype=np.float32)
    return np.clip(picture, 0, 1)


# ---------------------------------------------------------------- scoring


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions and substitutions each cost 1)."""
    previous = np.arange(len(b) + 1)
    for i, char in enumerate(a, start=1):
        current = np.empty_like(previous)
        current[0] = i
        substitution = previous[:-1] + (np.frombuffer(b.encode("utf-32-le"), "<u4") != ord(char))
        current[1:] = np.minimum(previous[1:] + 1, substitution)
        # Insertions chain along the row: a running minimum of (value - index) + index.
        offsets = np.arange(len(b) + 1)
        current = np.minimum.accumulate(current - offsets) + offsets
        previous = current
    return int(previous[-1])


@dataclass
class LineResult:
    """How a recognizer read a set of lines."""

    model: str
    rows: list[dict] = field(default_factory=list)

    def _rate(self, rows: list[dict], key: str) -> float | None:
        chars = sum(len(r["text"]) for r in rows)
        return None if not chars else 1 - sum(r[key] for r in rows) / chars

    def character_accuracy(self, rows: list[dict] | None = None) -> float | None:
        """1 − (edits to turn what was read into the truth) / (characters of the truth),
        case ignored; spaces count as characters."""
        return self._rate(self.rows if rows is None else rows, "edits")

    def line_accuracy(self, rows: list[dict] | None = None) -> float | None:
        """The share of lines read exactly (case ignored, spaces included)."""
        rows = self.rows if rows is None else rows
        return None if not rows else sum(r["exact"] for r in rows) / len(rows)

    def table(self, key: str) -> list[dict]:
        """Character and line accuracy per condition or hand."""
        groups: dict[str, list[dict]] = {}
        for row in self.rows:
            groups.setdefault(row[key], []).append(row)
        return [
            {
                key: name,
                "lines": len(rows),
                "character_accuracy": self.character_accuracy(rows),
                "line_accuracy": self.line_accuracy(rows),
            }
            for name, rows in groups.items()
        ]


def evaluate_lines(
    recognizer,
    samples: Sequence[LineSample],
    progress: Callable[[int, int], None] | None = None,
) -> LineResult:
    """Read every line (as a file, the path `charrec read` takes) and score it."""
    from charrec.infer.imageio import ImageError

    result = LineResult(recognizer.name)
    for done, sample in enumerate(samples, start=1):
        try:
            read = recognizer.read(sample.data).text
        except ImageError:
            read = ""  # nothing read: every character counts as missed
        truth, got = sample.text.upper(), read.upper()
        result.rows.append(
            {
                "index": sample.index,
                "text": sample.text,
                "read": read,
                "hand": sample.hand.removeprefix("font:"),
                "source": "font" if sample.hand.startswith("font:") else sample.hand,
                "condition": sample.condition,
                "edits": edit_distance(got, truth),
                "exact": got == truth,
            }
        )
        if progress is not None:
            progress(done, len(samples))
    return result


def line_latency(recognizer, alphabet: str, repeat: int, seed: int = 0) -> dict[str, Any]:
    """Milliseconds to read a clean 10-character line from its PNG bytes (p50, p90, and
    the fastest), after one untimed read."""
    rng = np.random.default_rng([seed, LATENCY_LENGTH])
    text = "".join(alphabet[int(i)] for i in rng.integers(len(alphabet), size=LATENCY_LENGTH))
    fonts = handwriting_fonts()
    hands = [f for f in fonts if all(f.draws(c) for c in text)]
    if not hands:
        raise CharrecError("no installed handwriting font draws the latency line")
    spec = LineSpec(0, text, f"font:{hands[0].name}", "clean", (seed, 0))
    data = render_line(spec, fonts).data
    recognizer.read(data)
    times = []
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        recognizer.read(data)
        times.append(1000 * (time.perf_counter() - start))
    with Image.open(io.BytesIO(data)) as image:
        size = image.size
    return {
        "line": text,
        "font": hands[0].name,
        "picture": f"{size[0]}×{size[1]} PNG",
        "repeat": len(times),
        "p50_ms": float(np.percentile(times, 50)),
        "p90_ms": float(np.percentile(times, 90)),
        "fastest_ms": float(np.min(times)),
    }
