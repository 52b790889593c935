"""A folder of image files, one sub-folder per class (torchvision's ImageFolder layout).

    letters/
      A/ img1.png img2.jpg ...
      B/ ...

Class names are the sub-folder names, sorted; images are found at any depth below their
class folder. Each image is made canonical: grayscale (transparency laid on paper), ink
made white if it is darker than the paper (told as `charrec predict` tells it, so that a
picture cropped tight to its character keeps its polarity), the paper's gray removed,
then framed like EMNIST by
`charrec.data.resize.to_emnist_frame` (crop to the ink, centre, pad, 28×28). A fuller
preprocessing for photographs lives in `charrec.infer`.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from charrec.data.imageset import ImageSet
from charrec.data.resize import to_emnist_frame
from charrec.errors import DataError

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
# What Pillow raises on a damaged or foreign file.
_IMAGE_ERRORS = (
    UnidentifiedImageError,
    Image.DecompressionBombError,
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    IndexError,
    struct.error,
)
# Big photos are reduced first: a character needs no more pixels than this to be framed.
MAX_SIDE = 512


def _class_files(folder: Path) -> list[Path]:
    """Image files below a class folder, in a stable order, hidden files skipped."""
    found = []
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [
            Path(root) / f
            for f in sorted(files)
            if not f.startswith(".") and f.lower().endswith(EXTENSIONS)
        ]
    return found


def _gray(image: Image.Image) -> np.ndarray:
    """Grayscale float array in 0..255; transparent pixels become paper behind the ink."""
    image = ImageOps.exif_transpose(image)
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float32)
        gray = rgba[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        alpha = rgba[..., 3] / 255
        opaque = alpha > 0.5
        # Paper is the opposite of the ink: dark ink is laid on white, light ink on black.
        ink_level = float(np.median(gray[opaque])) if opaque.any() else 0.0
        paper = 255.0 if ink_level < 128 else 0.0
        return gray * alpha + paper * (1 - alpha)
    if image.mode in ("I", "F") or image.mode.startswith("I;16"):
        # 16-bit or float pixels: scale to 0..255 rather than let a conversion clip them.
        raw = np.asarray(image, dtype=np.float32)
        low, high = float(raw.min()), float(raw.max())
        return (raw - low) * (255 / (high - low)) if high > low else np.zeros_like(raw)
    return np.asarray(image.convert("L"), dtype=np.float32)


def _ink_white(gray: np.ndarray) -> np.ndarray:
    """uint8 image with white ink on a black background, the paper's level removed."""
    from charrec.infer.preprocess import ink_is_dark  # scipy: loaded only when reading

    # The polarity rule `charrec predict` uses: a picture cropped tight to its character
    # has ink, not paper, along most of its border.
    if ink_is_dark(gray / 255):
        gray = 255 - gray
    border = np.concatenate([gray[0], gray[-1], gray[1:-1, 0], gray[1:-1, -1]])
    paper = float(np.median(border))
    # Where the border is mostly ink (a tight crop), the paper is the picture's darkest
    # tenth instead.
    darkest = float(np.percentile(gray, 10))
    if paper - darkest > 0.5 * (float(gray.max()) - darkest):
        paper = darkest
    ink = float(np.percentile(gray, 99.9))
    if ink - paper < 16:  # no contrast: a blank page
        return np.zeros(gray.shape, dtype=np.uint8)
    # Stretch paper..ink to 0..255; paper texture below the midpoint becomes background,
    # so it does not count as ink when the character is cropped.
    level = np.clip((gray - paper) / (ink - paper), 0, 1)
    level[level < 0.5] = 0
    return np.round(level * 255).astype(np.uint8)


def read_image(path: str | os.PathLike[str], size: int = 28) -> np.ndarray:
    """One image file as a canonical size×size uint8 character image (white ink on black)."""
    path = Path(path)
    try:
        with Image.open(path) as image:
            image.load()
            gray = _gray(image)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except _IMAGE_ERRORS as exc:
        raise DataError(f"{path}: cannot read this image ({exc})") from None
    if min(gray.shape) < 2:
        raise DataError(f"{path}: image is {gray.shape[1]}×{gray.shape[0]}, too small")
    return to_emnist_frame(_ink_white(gray)[None], size=size)[0]


def read_image_folder(
    path: str | os.PathLike[str], size: int = 28, name: str | None = None
) -> ImageSet:
    """Read a folder with one sub-folder of images per class into an ImageSet (size×size)."""
    root = Path(path)
    if not root.exists():
        raise DataError(f"{root}: folder not found")
    if not root.is_dir():
        raise DataError(f"{root}: not a folder (expected one sub-folder of images per class)")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        raise DataError(f"{root}: no class sub-folders (expected one sub-folder per class)")
    files = {d.name: _class_files(d) for d in class_dirs}
    if not any(files.values()):
        raise DataError(
            f"{root}: no images in its class folders (extensions: {', '.join(EXTENSIONS)})"
        )
    empty = [c for c, found in files.items() if not found]
    if empty:
        raise DataError(f"{root}: no images in class folder(s) {', '.join(empty)}")
    paths = [p for found in files.values() for p in found]
    images = np.stack([read_image(p, size) for p in paths])
    labels = np.repeat(np.arange(len(files), dtype=np.int64), [len(f) for f in files.values()])
    return ImageSet(images, labels, tuple(files), name or root.name, tuple(map(str, paths)))
