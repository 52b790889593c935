"""A folder of image files, one sub-folder per class (torchvision's ImageFolder layout).

    letters/
      A/ img1.png img2.jpg ...
      B/ ...

Class names are the sub-folder names, sorted; images are found at any depth below their
class folder. Each picture becomes the 28×28 image `charrec predict` would give the model
(`charrec.infer.preprocess`): ink told from paper, lighting, specks and ruled lines
removed, the character found, its pen brought to the training data's width, framed as
EMNIST is. So a folder scores in `charrec evaluate` as its pictures read one by one,
and a model trained on it sees what it will be shown. A picture with no character in it
is an empty image.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from charrec.data.imageset import ImageSet
from charrec.errors import DataError

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


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


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """One image file as the 28×28 uint8 model input `charrec predict` makes of it (white
    ink on black; all zeros when no character is found)."""
    # scipy and the image decoder: loaded only when a folder is read.
    from charrec.infer.imageio import ImageError
    from charrec.infer.preprocess import Preprocessor

    path = Path(path)
    try:
        return Preprocessor()(path, name=str(path), allow_blank=True).image
    except ImageError as exc:
        reason = str(exc).removeprefix(f"{path}: ")
        if reason == "file not found":
            raise DataError(f"{path}: file not found") from None
        raise DataError(f"{path}: cannot read this image ({reason})") from None


def read_image_folder(path: str | os.PathLike[str], name: str | None = None) -> ImageSet:
    """Read a folder with one sub-folder of images per class into an ImageSet (28×28)."""
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
    images = np.stack([read_image(p) for p in paths])
    labels = np.repeat(np.arange(len(files), dtype=np.int64), [len(f) for f in files.values()])
    return ImageSet(images, labels, tuple(files), name or root.name, tuple(map(str, paths)))
