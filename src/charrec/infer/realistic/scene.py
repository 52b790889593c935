"""Pictures of single characters that look like what people send, drawn from a seed.

Each picture is one character in one handwriting font, drawn under one named condition
(`CONDITIONS`): the thing that makes it hard, on top of mild variation every picture
has (canvas size, position, a slight tilt, the paper's shade, a little camera softness
and noise). A `Scene` holds every number a picture was drawn with, so a report can say
what a failure looked like, and `render(spec)` draws the same bytes for the same spec on
any machine with the same fonts.

    specs = plan({"A": ["A", "a"], "B": ["B", "b"]}, per_class=32, seed=0)
    sample = render(specs[0])      # .data is a PNG or JPEG file, .label its class
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
from PIL import Image
from scipy import ndimage

from charrec.errors import CharrecError, ConfigError, unknown_choice
from charrec.infer.realistic.fonts import Font, handwriting_fonts
from charrec.infer.realistic.render import glyph_coverage

# What each condition adds to the mild variation every picture has.
CONDITIONS: dict[str, str] = {
    "clean": "dark ink on white paper, nothing more",
    "paper": "tinted paper with a mottled texture",
    "ruled": "lined notebook paper (blue rules, sometimes a red margin)",
    "noise": "strong sensor noise and specks of dust",
    "shadow": "uneven lighting: a gradient and a hard shadow across the page",
    "blur": "out of focus (Gaussian blur 2-5% of the character's height)",
    "rotation": "tilted 8-20 degrees",
    "thin-pen": "a fine pen on a big canvas (strokes 1-3% of the character's height)",
    "thick-pen": "a fat marker (strokes 18-28% of the character's height)",
    "chalk": "grainy chalk on a dark board",
    "light-on-dark": "white ink on black, as drawn on a screen",
    "small": "a tiny picture, 20-40 pixels a side",
    "tight": "cropped to the ink, 16-64 pixels, some stretched towards a square, some two-level",
    "off-centre": "a small character anywhere on a big canvas (800-1600 pixels)",
    "jpeg": "heavy JPEG compression (quality 10-30)",
    "colour": "coloured ink on coloured paper",
    "photo": "a phone photo: big canvas, shadow, tint, blur, noise, tilt, JPEG",
}

# Ink and paper colours (RGB in [0, 1]) that people write with and on.
INKS = {
    "blue": (0.12, 0.2, 0.62),
    "red": (0.78, 0.12, 0.12),
    "green": (0.1, 0.45, 0.2),
    "purple": (0.42, 0.15, 0.55),
    "black": (0.08, 0.08, 0.1),
}
PAPERS = {
    "white": (0.97, 0.97, 0.96),
    "yellow": (1.0, 0.93, 0.55),
    "pink": (1.0, 0.82, 0.86),
    "blue": (0.82, 0.9, 1.0),
    "green": (0.86, 0.98, 0.8),
}


@dataclass(frozen=True)
class Scene:
    """Everything a picture is drawn with (sizes in pixels of the canvas)."""

    canvas: tuple[int, int]  # width, height
    height: float  # the character's ink height, fraction of the canvas height
    centre: tuple[float, float]  # where its box's centre is, fraction of (width, height)
    angle: float  # degrees, counter-clockwise
    stroke: float | None  # stroke width in pixels; None: the font's own
    ink: tuple[float, float, float]
    paper: tuple[float, float, float]
    texture: float = 0.0  # amplitude of the paper's mottling
    grain: float = 0.0  # share of the ink lost to chalk grain
    ruled: bool = False
    light: float = 1.0  # lighting at the darkest corner (1: even)
    shadow: float = 1.0  # lighting under a hard-edged shadow (1: none)
    blur: float = 0.0  # Gaussian σ
    noise: float = 0.0  # sensor noise σ
    specks: int = 0  # dust
    format: str = "png"
    quality: int = 95  # JPEG quality
    # Cropped to the ink (0: not): the crop's longer side made `crop` pixels, keeping
    # `margin` (a fraction of that side) of paper around the ink; `fill` stretches its
    # shorter side towards the longer one (2.5 times at most), as scanned digit sets do;
    # `binary` leaves two levels, as a scanner's line-art mode does.
    crop: int = 0
    margin: float = 0.0
    fill: bool = False
    binary: bool = False

    def to_dict(self) -> dict:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, float):
                data[key] = round(value, 4)
            elif isinstance(value, tuple):
                data[key] = [round(v, 4) if isinstance(v, float) else v for v in value]
        return data


@dataclass(frozen=True)
class Spec:
    """One picture to draw: the character, its class, the font, the condition, the seed."""

    index: int
    label: str  # the class it counts as (e.g. "A" for both "A" and "a" in a merged task)
    char: str  # the character drawn
    font: Font
    condition: str
    seed: tuple[int, ...]


@dataclass(frozen=True)
class Sample:
    """A drawn picture as a file (`data`), with its label and the conditions it shows."""

    index: int
    label: str
    char: str
    font: str
    condition: str
    scene: Scene
    data: bytes = field(repr=False)

    @property
    def name(self) -> str:
        """A file name that says what the picture is."""
        code = f"{ord(self.char):02x}"
        return f"{self.index:05d}-{self.condition}-{self.font}-u{code}.{self.scene.format}"

    def image(self) -> np.ndarray:
        """The picture as people see it (H×W or H×W×3 uint8)."""
        with Image.open(io.BytesIO(self.data)) as image:
            return np.asarray(image.convert("RGB" if image.mode != "L" else "L"))

    def to_dict(self) -> dict:
        return {
            "index": self.index,
            "name": self.name,
            "label": self.label,
            "char": self.char,
            "font": self.font,
            "condition": self.condition,
            "scene": self.scene.to_dict(),
        }


# ---------------------------------------------------------------- what gets drawn


def plan(
    classes: Mapping[str, Sequence[str]],
    per_class: int,
    seed: int = 0,
    conditions: Sequence[str] | None = None,
    fonts: Sequence[Font] | None = None,
) -> list[Spec]:
    """`per_class` pictures of each class, spread evenly over its characters, the
    conditions and the fonts that draw each character; the same list for the same seed.

    `classes` maps a class name to the characters that count as it (["A", "a"]).
    """
    conditions = list(CONDITIONS) if conditions is None else list(conditions)
    for name in conditions:
        if name not in CONDITIONS:
            raise unknown_choice("condition", name, list(CONDITIONS))
    if not conditions:
        raise ConfigError("choose at least one condition")
    if per_class < 1:
        raise ConfigError(f"per-class must be at least 1, got {per_class}")
    fonts = handwriting_fonts() if fonts is None else list(fonts)
    if not fonts:
        raise CharrecError(
            "no handwriting fonts found; install the Debian packages fonts-dkg-handwriting, "
            "fonts-breip, fonts-bwht, fonts-klee, fonts-rufscript, fonts-humor-sans"
        )
    specs: list[Spec] = []
    # Fonts are drawn at random (seeded), so that no font goes with one condition.
    choose = np.random.default_rng([seed, len(conditions), per_class])
    for class_index, (label, chars) in enumerate(classes.items()):
        chars = [c for c in chars if any(f.draws(c) for f in fonts)]
        if not chars:
            raise CharrecError(f"no installed handwriting font draws class {label!r}")
        for k in range(per_class):
            char = chars[k % len(chars)]
            condition = conditions[(k // len(chars) + class_index) % len(conditions)]
            able = [f for f in fonts if f.draws(char)]
            font = able[int(choose.integers(len(able)))]
            index = len(specs)
            specs.append(Spec(index, label, char, font, condition, (seed, index)))
    return specs


def render(spec: Spec) -> Sample:
    """Draw one planned picture."""
    rng = np.random.default_rng(list(spec.seed))
    scene = draw_scene(spec.condition, rng)
    pixels = compose(spec.char, spec.font, scene, rng)
    data = encode(pixels, scene)
    return Sample(spec.index, spec.label, spec.char, spec.font.name, spec.condition, scene, data)


# ---------------------------------------------------------------- the conditions


def _pick(rng: np.random.Generator, table: Mapping[str, tuple[float, float, float]]):
    return table[list(table)[int(rng.integers(len(table)))]]


def draw_scene(condition: str, rng: np.random.Generator) -> Scene:
    """The scene of one picture: mild variation, then what `condition` adds."""
    if condition not in CONDITIONS:
        raise unknown_choice("condition", condition, list(CONDITIONS))
    side = int(rng.integers(96, 257))
    aspect = math.exp(rng.uniform(-0.25, 0.25))
    shade = rng.uniform(0.88, 1.0)
    ink = rng.uniform(0.03, 0.2)
    base = dict(
        canvas=(side, max(24, round(side * aspect))),
        height=rng.uniform(0.5, 0.75),
        centre=(0.5 + rng.uniform(-0.06, 0.06), 0.5 + rng.uniform(-0.06, 0.06)),
        angle=rng.uniform(-4, 4),
        stroke=None,
        ink=(ink, ink, ink),
        paper=(shade, shade, shade),
        blur=rng.uniform(0.0, 0.6),
        noise=rng.uniform(0.0, 0.012),
    )
    extra: dict = {}
    if condition == "paper":
        tint = _pick(rng, {"cream": (1.0, 0.96, 0.86), "grey": (0.9, 0.9, 0.88), **PAPERS})
        extra = dict(paper=tuple(shade * c for c in tint), texture=rng.uniform(0.04, 0.1))
    elif condition == "ruled":
        extra = dict(ruled=True, centre=(0.5 + rng.uniform(-0.1, 0.1), 0.5))
    elif condition == "noise":
        extra = dict(noise=rng.uniform(0.05, 0.12), specks=int(rng.integers(5, 30)))
    elif condition == "shadow":
        extra = dict(light=rng.uniform(0.35, 0.7), shadow=rng.uniform(0.45, 0.75))
    elif condition == "blur":
        extra = dict(blur=-rng.uniform(0.02, 0.05))  # negative: a fraction of the height
    elif condition == "rotation":
        extra = dict(angle=float(rng.choice([-1, 1]) * rng.uniform(8, 20)))
    elif condition == "thin-pen":
        side = int(rng.integers(300, 700))
        extra = dict(canvas=(side, side), stroke=-rng.uniform(0.01, 0.03))
    elif condition == "thick-pen":
        extra = dict(stroke=-rng.uniform(0.18, 0.28), height=rng.uniform(0.45, 0.6))
    elif condition == "chalk":
        board = rng.uniform(0.1, 0.25)
        chalk = rng.uniform(0.8, 0.95)
        extra = dict(
            paper=(board * 0.8, board, board * 0.85),
            ink=(chalk, chalk, chalk * 0.97),
            grain=rng.uniform(0.25, 0.5),
            texture=rng.uniform(0.05, 0.12),
            noise=rng.uniform(0.01, 0.03),
        )
    elif condition == "light-on-dark":
        dark, light = rng.uniform(0.0, 0.1), rng.uniform(0.85, 1.0)
        extra = dict(paper=(dark, dark, dark), ink=(light, light, light), blur=0.0, noise=0.0)
    elif condition == "small":
        side = int(rng.integers(20, 41))
        extra = dict(canvas=(side, side), height=rng.uniform(0.6, 0.85), blur=0.0)
    elif condition == "tight":
        extra = dict(
            crop=int(rng.integers(16, 65)),
            margin=rng.uniform(0.0, 0.04),
            fill=bool(rng.random() < 0.5),
            binary=bool(rng.random() < 0.5),
        )
    elif condition == "off-centre":
        width = int(rng.integers(800, 1601))
        extra = dict(
            canvas=(width, round(width * rng.uniform(0.6, 1.0))),
            height=rng.uniform(0.08, 0.25),
            centre=(rng.uniform(0.15, 0.85), rng.uniform(0.15, 0.85)),
        )
    elif condition == "jpeg":
        extra = dict(
            format="jpeg",
            quality=int(rng.integers(10, 31)),
            ink=INKS["blue"],
            paper=PAPERS["white"],
        )
    elif condition == "colour":
        extra = dict(ink=_pick(rng, INKS), paper=_pick(rng, PAPERS))
    elif condition == "photo":
        width = int(rng.integers(600, 1401))
        ink_colour = INKS["blue"] if rng.random() < 0.5 else INKS["black"]
        tint = (shade, shade * rng.uniform(0.95, 1.0), shade * rng.uniform(0.85, 0.97))
        extra = dict(
            canvas=(width, round(width * rng.choice([0.75, 1.33]))),
            height=rng.uniform(0.15, 0.4),
            centre=(rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7)),
            angle=rng.uniform(-8, 8),
            ink=ink_colour,
            paper=tint,
            texture=rng.uniform(0.01, 0.04),
            light=rng.uniform(0.5, 0.85),
            shadow=rng.uniform(0.6, 1.0),
            blur=rng.uniform(0.8, 2.0),
            noise=rng.uniform(0.02, 0.04),
            format="jpeg",
            quality=int(rng.integers(60, 91)),
        )
    values = {**base, **extra}
    # Relative sizes (negative numbers) become pixels of this canvas.
    glyph_px = values["height"] * values["canvas"][1]
    if values["blur"] < 0:
        values["blur"] = -values["blur"] * glyph_px
    if values["stroke"] is not None and values["stroke"] < 0:
        values["stroke"] = max(1.2, -values["stroke"] * glyph_px)
    values = {k: float(v) if isinstance(v, np.floating) else v for k, v in values.items()}
    values["ink"] = tuple(float(c) for c in values["ink"])
    values["paper"] = tuple(float(c) for c in values["paper"])
    values["centre"] = tuple(float(c) for c in values["centre"])
    return Scene(**values)


# ---------------------------------------------------------------- drawing


def _stroke_width(coverage: np.ndarray) -> float:
    """The glyph's stroke width: twice the median depth along the ridge."""
    depth = ndimage.distance_transform_edt(coverage >= 0.5)
    ridge = (depth > 0) & (depth >= ndimage.maximum_filter(depth, size=3))
    if not ridge.any():
        return 1.0
    return 2 * float(np.median(depth[ridge]))


def set_stroke(coverage: np.ndarray, width: float) -> np.ndarray:
    """The glyph redrawn with strokes `width` pixels wide (thinned or thickened)."""
    current = _stroke_width(coverage)
    if width < current:
        from skimage.morphology import skeletonize  # half a second to import: only here

        # A fine pen follows the strokes' centre lines: a round pen `width` wide drawn along
        # the glyph's skeleton. (Eroding the glyph instead would erase every stroke thinner
        # than the erosion, such as the hairline bars beside a brush font's thick stems.)
        along = ndimage.distance_transform_edt(~skeletonize(coverage >= 0.5))
        return np.clip(width / 2 + 0.5 - along, 0, 1).astype(np.float32)
    grow = (width - current) / 2
    pad = math.ceil(grow) + 2
    padded = np.pad(coverage, pad)
    outside = ndimage.distance_transform_edt(padded < 0.5)
    return np.maximum(padded, np.clip(grow + 0.5 - outside, 0, 1)).astype(np.float32)


def _field(rng: np.random.Generator, shape: tuple[int, int], cell: float) -> np.ndarray:
    """Smooth random field, zero mean, unit-ish amplitude, features about `cell` pixels."""
    height, width = shape
    rows, cols = max(2, math.ceil(height / cell) + 1), max(2, math.ceil(width / cell) + 1)
    grid = rng.normal(0, 1, (rows, cols)).astype(np.float32)
    image = Image.fromarray(grid, mode="F").resize((width, height), Image.Resampling.BICUBIC)
    return np.asarray(image, dtype=np.float32)


def _lighting(rng: np.random.Generator, scene: Scene, shape: tuple[int, int]) -> np.ndarray:
    """Multiplicative light: a linear falloff to `light`, and a soft-edged shadow.

    Light varies slowly, so it is computed on a grid 4 pixels apart and interpolated.
    """
    height, width = shape
    rows, cols = math.ceil(height / 4) + 1, math.ceil(width / 4) + 1
    y, x = np.mgrid[0:rows, 0:cols].astype(np.float32)
    x, y = x / max(cols - 1, 1), y / max(rows - 1, 1)
    light = np.ones((rows, cols), dtype=np.float32)
    if scene.light < 1:
        theta = rng.uniform(0, 2 * math.pi)
        ramp = (x - 0.5) * math.cos(theta) + (y - 0.5) * math.sin(theta)
        ramp = (ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1e-6)
        light *= 1 - (1 - scene.light) * ramp
    if scene.shadow < 1:
        # A straight shadow edge (a hand or a phone) through a random point near the middle.
        theta = rng.uniform(0, 2 * math.pi)
        px, py = rng.uniform(0.2, 0.8, 2)
        signed = (x - px) * math.cos(theta) + (y - py) * math.sin(theta)
        softness = rng.uniform(0.01, 0.05)
        inside = 1 / (1 + np.exp(-signed / softness))
        light *= 1 - (1 - scene.shadow) * inside
    image = Image.fromarray(light, mode="F").resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.float32)


def compose(char: str, font: Font, scene: Scene, rng: np.random.Generator) -> np.ndarray:
    """The picture as an H×W×C float32 array in [0, 1] (C = 1 when gray, else 3)."""
    width, height = scene.canvas
    coverage = glyph_coverage(char, font.path, scene.height * height)
    if scene.stroke is not None:
        coverage = set_stroke(coverage, scene.stroke)
    if scene.angle:
        image = Image.fromarray(coverage, mode="F")
        coverage = np.asarray(
            image.rotate(scene.angle, Image.Resampling.BILINEAR, expand=True), dtype=np.float32
        )
    # Fit inside the canvas (a fat pen or a tilt can make the glyph too big), then place it.
    fit = min(1.0, (width - 2) / coverage.shape[1], (height - 2) / coverage.shape[0])
    if fit < 1:
        size = (max(1, int(coverage.shape[1] * fit)), max(1, int(coverage.shape[0] * fit)))
        coverage = np.asarray(
            Image.fromarray(coverage, mode="F").resize(size, Image.Resampling.BOX), np.float32
        )
    gh, gw = coverage.shape
    left = min(max(round(scene.centre[0] * width - gw / 2), 1), width - gw - 1)
    top = min(max(round(scene.centre[1] * height - gh / 2), 1), height - gh - 1)
    ink = np.clip(coverage, 0, 1)[..., None]
    if scene.grain:
        # Chalk leaves the board showing through in small grains along the stroke.
        grains = _field(rng, (gh, gw), max(1.5, 0.012 * gh))
        ink *= np.clip(1 - scene.grain * (1 + grains), 0, 1)[..., None]
    # A gray scene is drawn in one channel (and saved gray, as a scanner's gray mode).
    channels = 1 if _is_gray(scene) else 3
    paper = np.empty((height, width, channels), dtype=np.float32)
    paper[:] = np.asarray(scene.paper[:channels], np.float32)
    if scene.texture:
        mottle = _field(rng, (height, width), max(4.0, 0.08 * max(height, width)))
        fibre = _field(rng, (height, width), 2.0)
        paper *= (1 + scene.texture * (0.7 * mottle + 0.3 * fibre))[..., None]
    if scene.ruled:
        _rule(paper, top + gh, gh, rng)
    colour = np.asarray(scene.ink[:channels], np.float32)
    # Ink laid on the paper within the glyph's box (outside it, there is none).
    picture = paper
    box = picture[top : top + gh, left : left + gw]
    box[:] = box * (1 - ink) + colour * ink
    if scene.specks:
        _specks(picture, scene.specks, colour, rng)
    if scene.light < 1 or scene.shadow < 1:
        picture *= _lighting(rng, scene, (height, width))[..., None]
    if scene.blur > 0:
        picture = ndimage.gaussian_filter(picture, (scene.blur, scene.blur, 0), truncate=3.0)
    if scene.noise > 0:
        picture += scene.noise * rng.standard_normal(picture.shape, dtype=np.float32)
    picture = np.clip(picture, 0, 1)
    if scene.crop:
        rows, cols = np.nonzero(coverage >= 0.5)
        if not len(rows):  # ink too faint to have a box: the glyph's whole box
            rows, cols = np.array([0, gh - 1]), np.array([0, gw - 1])
        box = (top + rows.min(), left + cols.min(), top + rows.max() + 1, left + cols.max() + 1)
        picture = crop_to_ink(picture, box, scene)
    return picture


def crop_to_ink(picture: np.ndarray, box: tuple[int, int, int, int], scene: Scene) -> np.ndarray:
    """The picture cut to the ink's box (top, left, bottom, right) and a margin, resized as
    `scene` says (see `Scene.crop`)."""
    top, left, bottom, right = box
    pad = round(scene.margin * max(bottom - top, right - left))
    cut = picture[max(0, top - pad) : bottom + pad, max(0, left - pad) : right + pad]
    long_side = max(cut.shape[:2])
    sides = [max(1, round(scene.crop * n / long_side)) for n in cut.shape[:2]]
    if scene.fill:
        sides = [min(scene.crop, round(n * 2.5)) for n in sides]
    size = (sides[1], sides[0])
    channels = [
        np.asarray(Image.fromarray(cut[..., c], mode="F").resize(size, Image.Resampling.BOX))
        for c in range(cut.shape[2])
    ]
    small = np.stack(channels, axis=-1).astype(np.float32)
    if scene.binary:
        light = small.mean(axis=2)
        dark = light < (float(light.min()) + float(light.max())) / 2
        inked = dark if sum(scene.ink) < sum(scene.paper) else ~dark  # chalk: light ink
        ink = np.asarray(scene.ink[: small.shape[2]], np.float32)
        paper = np.asarray(scene.paper[: small.shape[2]], np.float32)
        small = np.where(inked[..., None], ink, paper).astype(np.float32)
    return np.clip(small, 0, 1)


def _is_gray(scene: Scene) -> bool:
    return not scene.ruled and len(set(scene.ink)) == 1 and len(set(scene.paper)) == 1


def _rule(paper: np.ndarray, baseline: int, glyph_height: int, rng: np.random.Generator) -> None:
    """Blue rules of a notebook, one on the character's baseline, and maybe a red margin."""
    height, width = paper.shape[:2]
    spacing = max(6, round(glyph_height * rng.uniform(1.1, 1.5)))
    thick = max(1, round(0.025 * spacing))
    blue = np.asarray((0.55, 0.7, 0.95), np.float32)
    for y in range(baseline % spacing, height, spacing):
        paper[y : y + thick] *= blue
    if rng.random() < 0.4:
        x = int(rng.uniform(0.05, 0.2) * width)
        paper[:, x : x + thick] *= np.asarray((0.95, 0.55, 0.55), np.float32)


def _specks(picture: np.ndarray, count: int, colour: np.ndarray, rng: np.random.Generator) -> None:
    """Dust: small dots of the ink's colour anywhere on the picture."""
    height, width = picture.shape[:2]
    radius = max(1, round(0.004 * max(height, width)))
    for _ in range(count):
        cy, cx = int(rng.integers(height)), int(rng.integers(width))
        r = int(rng.integers(1, radius + 1))
        picture[max(0, cy - r) : cy + r, max(0, cx - r) : cx + r] = colour


def encode(picture: np.ndarray, scene: Scene) -> bytes:
    """The picture as a PNG or JPEG file, gray or colour as drawn."""
    pixels = np.round(picture * 255).astype(np.uint8)
    if pixels.shape[2] == 1:
        image = Image.fromarray(np.ascontiguousarray(pixels[..., 0]), mode="L")
    else:
        image = Image.fromarray(pixels, mode="RGB")
    buffer = io.BytesIO()
    if scene.format == "jpeg":
        image.save(buffer, format="JPEG", quality=scene.quality)
    else:
        image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
