"""Handwriting drawn anew from its pen strokes: more varied real writing to learn from.

On-line handwriting (UNIPEN's tablet writing) keeps each character's pen strokes in
`strokes.jsonl.gz` beside its `labels.csv`, one JSON object a line:

    {"path": "lower_a/lower_a_000123.png", "label": "a",
     "x_points_per_unit": 10.0, "y_points_per_unit": 10.0, "y_axis": "up",
     "strokes": [[[x, y], [x, y], ...], ...]}

The pictures beside it were drawn from those strokes with one pen. Drawing each character
again with another pen width, and each stroke a little moved, turned and sheared, gives
the same writers' shapes as other pens and hands would leave them: the loop of a letter
stays where it is, the lead-in stroke moves. `data.extra` of a recipe asks for them with
`renders: k` (k drawings of every picture of the part it names, in place of the
pictures). The drawings are framed as `charrec predict` frames a user's picture and kept
in the per-user cache, so a recipe draws them once.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path

import numpy as np
import platformdirs
from PIL import Image, ImageDraw

from charrec.data.imageset import ImageSet
from charrec.data.readers.pictures import LABELS_FILE, class_of
from charrec.errors import DataError

STROKES_FILE = "strokes.jsonl.gz"
# Bump when the drawing changes, so that cached drawings are made again.
RENDER_VERSION = 1
# The pictures' own form (the UNIPEN set's SOURCE.md): 64×64, the longer side 56 px.
CANVAS = 64
LONGER_SIDE = 56
# Drawn this many times larger and reduced, for smooth edges.
SUPERSAMPLE = 4
# Pen widths in pixels of the 64×64 picture (the pictures' own pen is ~2.5 px): from a
# fine stylus to a felt pen.
PEN_WIDTHS = (1.2, 4.5)
# How far each stroke is turned and sheared (spread of its 2×2 matrix around the
# identity); each stroke also moves by 0.3 of this times the character's size.
STROKE_JITTER = 0.08


Stroke = np.ndarray  # n×2 points, in tablet units scaled to equal x and y resolution


def cache_dir() -> Path:
    """Where drawings are kept between runs (e.g. ~/.cache/charrec/renders)."""
    return Path(platformdirs.user_cache_dir("charrec")) / "renders"


def read_strokes(folder: str | os.PathLike[str]) -> Iterator[tuple[str, str, list[Stroke]]]:
    """(picture path relative to the folder, label, strokes) of every line of its
    strokes file, with y pointing up and x and y in the same unit."""
    path = Path(folder) / STROKES_FILE
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                try:
                    record = json.loads(line)
                    scale = np.array(
                        [record["x_points_per_unit"], record["y_points_per_unit"]], dtype=float
                    )
                    strokes = [np.asarray(s, dtype=float) / scale for s in record["strokes"] if s]
                    if record.get("y_axis", "up") == "down":
                        strokes = [s * [1.0, -1.0] for s in strokes]
                    if not strokes or any(s.ndim != 2 or s.shape[1] != 2 for s in strokes):
                        raise ValueError("strokes must be lists of [x, y] points")
                except (ValueError, KeyError, TypeError) as exc:
                    raise DataError(
                        f"{path}: line {number} is not a character's strokes ({exc})"
                    ) from None
                yield str(record["path"]), str(record["label"]), strokes
    except FileNotFoundError:
        raise _no_strokes(path) from None
    except (OSError, EOFError, UnicodeError) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None


def _no_strokes(path: Path) -> DataError:
    return DataError(
        f"{path}: file not found; drawing anew needs the pen strokes of on-line handwriting"
    )


def vary(strokes: Sequence[Stroke], jitter: float, rng: np.random.Generator) -> list[Stroke]:
    """Each stroke turned, sheared and moved a little about its own centre."""
    points = np.vstack(strokes)
    size = float((points.max(axis=0) - points.min(axis=0)).max())
    varied = []
    for stroke in strokes:
        matrix = np.eye(2) + rng.normal(0.0, jitter, (2, 2))
        centre = stroke.mean(axis=0)
        shift = rng.normal(0.0, jitter * 0.3 * size, 2)
        varied.append((stroke - centre) @ matrix.T + centre + shift)
    return varied


def draw(strokes: Sequence[Stroke], pen_width: float) -> np.ndarray:
    """The strokes in a 64×64 picture, dark ink on white: the longer side 56 px, centred,
    a round pen `pen_width` pixels wide."""
    points = np.vstack(strokes)
    low, high = points.min(axis=0), points.max(axis=0)
    scale = LONGER_SIDE / max(float((high - low).max()), 1e-6)
    margin = (CANVAS - (high - low) * scale) / 2
    big = CANVAS * SUPERSAMPLE
    picture = Image.new("L", (big, big), 255)
    pen = ImageDraw.Draw(picture)
    width = max(1, round(pen_width * SUPERSAMPLE))
    radius = pen_width * SUPERSAMPLE / 2
    for stroke in strokes:
        placed = (stroke - low) * scale + margin
        placed[:, 1] = CANVAS - placed[:, 1]  # y up → rows down
        line = [(float(x), float(y)) for x, y in placed * SUPERSAMPLE]
        if len(line) == 1:
            line = line * 2
        pen.line(line, fill=0, width=width, joint="curve")
        # Round ends: a line of PIL's ends square.
        for x, y in (line[0], line[-1]):
            pen.ellipse([x - radius, y - radius, x + radius, y + radius], fill=0)
    small = picture.resize((CANVAS, CANVAS), Image.Resampling.LANCZOS)
    return np.asarray(small, dtype=np.uint8)


def drawings(
    strokes: Sequence[Stroke], copies: int, rng: np.random.Generator
) -> Iterator[np.ndarray]:
    """`copies` drawings of one character, each with its own pen width and stroke moves."""
    for _ in range(copies):
        width = rng.uniform(*PEN_WIDTHS)
        yield draw(vary(strokes, STROKE_JITTER, rng), width)


def pen_rendered(
    folder: str | os.PathLike[str],
    classes: Sequence[str],
    copies: int,
    *,
    only: Collection[Path] | None = None,
    seed: int = 0,
    name: str | None = None,
) -> ImageSet:
    """`copies` new drawings of every character of the folder's strokes file whose label
    the classes hold (case merged as `class_of` merges it), framed as model inputs.

    `only` keeps the pictures it names (one writers' part of a split); the same folder,
    part, classes, copies and seed give the same images, read from the cache after the
    first time.
    """
    folder = Path(folder)
    classes = tuple(classes)
    strokes_path = folder / STROKES_FILE
    key = _cache_key(strokes_path, classes, copies, only, seed)
    cached = cache_dir() / f"{key}.npz"
    label = name or f"{folder.name} drawn anew"
    if cached.is_file():
        try:
            with np.load(cached) as held:
                return ImageSet(held["images"], held["labels"], classes, label)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, DataError):
            pass  # a damaged cache file: draw again
    images, labels = _draw_all(folder, classes, copies, only, seed)
    if not labels:
        raise DataError(f"{strokes_path}: no character has a label among {', '.join(classes)}")
    dataset = ImageSet(np.stack(images), np.array(labels, dtype=np.int64), classes, label)
    _keep(cached, dataset)
    return dataset


def _draw_all(
    folder: Path,
    classes: tuple[str, ...],
    copies: int,
    only: Collection[Path] | None,
    seed: int,
) -> tuple[list[np.ndarray], list[int]]:
    from charrec.infer.preprocess import Preprocessor

    frame = Preprocessor()
    rng = np.random.default_rng(seed)
    images: list[np.ndarray] = []
    labels: list[int] = []
    for path, label, strokes in read_strokes(folder):
        index = class_of(label, classes)
        if index is None or (only is not None and folder / path not in only):
            continue
        for picture in drawings(strokes, copies, rng):
            images.append(frame(picture, allow_blank=True).image)
            labels.append(index)
    return images, labels


def _cache_key(
    strokes_path: Path,
    classes: tuple[str, ...],
    copies: int,
    only: Collection[Path] | None,
    seed: int,
) -> str:
    """A digest of everything the drawings depend on, the strokes file's bytes included."""
    from charrec.infer.preprocess import PreprocessConfig

    digest = hashlib.sha256()
    try:
        digest.update(strokes_path.read_bytes())
    except FileNotFoundError:
        raise _no_strokes(strokes_path) from None
    except OSError as exc:
        raise DataError(f"{strokes_path}: cannot read ({exc.strerror or exc})") from None
    chosen = None if only is None else sorted(str(p.relative_to(strokes_path.parent)) for p in only)
    settings = {
        "version": RENDER_VERSION,
        "classes": classes,
        "copies": copies,
        "seed": seed,
        "only": chosen,
        "frame": PreprocessConfig().to_dict(),
    }
    digest.update(json.dumps(settings, sort_keys=True).encode())
    return digest.hexdigest()[:32]


def _keep(path: Path, dataset: ImageSet) -> None:
    """Write the drawings to the cache whole or not at all; a cache that cannot be
    written only costs drawing them again next time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(dir=path.parent, suffix=".npz")
    except OSError:
        return
    try:
        with os.fdopen(handle, "wb") as out:
            np.savez(out, images=dataset.images, labels=dataset.labels)
        os.replace(partial, path)
    except OSError:
        Path(partial).unlink(missing_ok=True)


def has_strokes(folder: str | os.PathLike[str]) -> bool:
    """Whether a picture folder carries its pen strokes (and a labels file beside them)."""
    folder = Path(folder)
    return (folder / STROKES_FILE).is_file() and (folder / LABELS_FILE).is_file()


def drawn_part(
    name: str,
    split: str | None,
    data_dir: str | os.PathLike[str] | None,
    copies: int,
    classes: Sequence[str],
) -> ImageSet:
    """`copies` new drawings of each character of one part of the set `name` that keeps
    its pen strokes: a named set of on-line handwriting (`unipen-letters`: its train
    writers unless `split` says otherwise), or a user's picture folder with a labels.csv
    and a strokes file (every character in it; `classes` are those it may use)."""
    from charrec.data.realworld_sets import split_pictures
    from charrec.data.registry import get_spec, is_path, resolve_data_dir

    if is_path(name):
        folder = Path(name).expanduser()
        if not has_strokes(folder):
            raise DataError(
                f"{name}: renders needs a folder of pictures with {LABELS_FILE} and the "
                f"pen strokes in {STROKES_FILE} beside it"
            )
        return pen_rendered(folder, classes, copies, name=f"{folder.name} drawn anew")
    spec = get_spec(name)
    split = split or "train"
    if split not in spec.files:
        raise DataError(f"{spec.name} has no {split!r} part to draw anew")
    folder = spec.path(resolve_data_dir(data_dir), spec.files[split][0]).parent
    if not has_strokes(folder):
        raise DataError(
            f"{spec.name}: renders needs on-line handwriting; its folder {folder} holds no "
            f"pen strokes ({STROKES_FILE})"
        )
    only = split_pictures(spec.name, folder, split)
    return pen_rendered(
        folder, spec.classes, copies, only=only, name=f"{spec.name}:{split} drawn anew"
    )
