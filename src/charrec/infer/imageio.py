"""Reading any image people have into one gray float array.

Sources: a path, the file's bytes, an open binary file, a PIL image, or a NumPy array
(H×W or H×W×C with C = 1..4, uint8, uint16, bool, or float in [0, 1]). Files: anything
Pillow reads (PNG, JPEG, BMP, TIFF, WebP, GIF and more); the first frame of an animation
or a multi-page file; every mode (1-bit, L, LA, P with or without transparency, RGB,
RGBA, CMYK, 16-bit and 32-bit gray). EXIF orientation is applied, so the array is the
picture as people see it.

Transparent pixels are paper. What the paper looks like is decided from the opaque
pixels: when they are a minority they are the ink (a drawing on a transparent canvas),
and the paper is the opposite of the ink (white behind dark ink, black behind light ink);
when they are the majority they are mostly paper, and transparent pixels take its level.

Big images are reduced while they are decoded (JPEG's DCT scaling via `Image.draft`, then
an area-averaging resize), so no step after decoding ever sees more than `max_side`
pixels along a side. A pixel limit guards against decompression bombs.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from charrec.errors import CharrecError

ImageSource = (
    str | os.PathLike | bytes | bytearray | memoryview | BinaryIO | Image.Image | np.ndarray
)

# More than any phone camera's full-resolution photo; a declared size beyond it is
# refused before a byte of pixels is decoded.
MAX_PIXELS = 100_000_000
# What Pillow raises on a damaged or foreign file.
_DECODE_ERRORS = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    IndexError,
    KeyError,
    struct.error,
    zlib.error,
)
_EXIF_ORIENTATION = 0x0112
# EXIF orientations that turn the picture by 90°, swapping width and height.
_SWAPS_AXES = (5, 6, 7, 8)


class ImageError(CharrecError):
    """An image that cannot be read or used: the message names it and says why."""


class BlankImageError(ImageError):
    """An image in which no character could be found."""


@dataclass(frozen=True)
class Decoded:
    """A decoded picture: `gray` (H×W float32 in [0, 1], 0 black) and where it came from."""

    gray: np.ndarray
    name: str
    # The upright source's size in pixels (width, height), before any reduction.
    source_size: tuple[int, int]

    @property
    def scale(self) -> tuple[float, float]:
        """Source pixels per pixel of `gray`, along x and y."""
        return (self.source_size[0] / self.gray.shape[1], self.source_size[1] / self.gray.shape[0])


def source_name(source: object) -> str:
    """How messages name a source: its path, or what kind of thing it is."""
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "<bytes>"
    if isinstance(source, np.ndarray):
        return "<array>"
    if isinstance(source, Image.Image):
        return getattr(source, "filename", "") or "<image>"
    name = getattr(source, "name", None)
    return name if isinstance(name, str) else "<stream>"


def load_image(
    source: ImageSource,
    max_side: int | None = None,
    *,
    max_pixels: int = MAX_PIXELS,
    name: str | None = None,
) -> np.ndarray:
    """The picture as an H×W float32 array in [0, 1] (0 black), transparency laid on paper.

    With `max_side`, a bigger picture is reduced (area-averaged) to fit it.
    """
    return decode(source, max_side, max_pixels=max_pixels, name=name).gray


def decode(
    source: ImageSource,
    max_side: int | None = None,
    *,
    max_pixels: int = MAX_PIXELS,
    name: str | None = None,
) -> Decoded:
    """Like `load_image`, keeping the source's name and size for diagnostics."""
    name = name or source_name(source)
    handle = None
    try:
        if isinstance(source, np.ndarray):
            return _decoded(_from_array(source, name), name, max_side, max_pixels, owned=True)
        if isinstance(source, Image.Image):
            return _decoded(source, name, max_side, max_pixels, owned=False)
        handle = _open_handle(source, name)
        with warnings.catch_warnings():
            # Our own pixel limit applies; Pillow's warning below its hard limit is noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(handle) as image:
                return _decoded(image, name, max_side, max_pixels, owned=True)
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(f"{name}: not an image PIL can read") from None
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{name}: image too large ({exc})") from None
    except MemoryError:
        raise ImageError(f"{name}: image too large to decode in memory") from None
    except _DECODE_ERRORS as exc:
        raise ImageError(f"{name}: damaged or truncated image ({exc})") from None
    finally:
        if isinstance(handle, io.BufferedReader):
            handle.close()


def _open_handle(source: object, name: str) -> BinaryIO:
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise ImageError(f"{name}: empty, not an image")
        return io.BytesIO(bytes(source))
    if hasattr(source, "read"):
        return source  # type: ignore[return-value]
    if not isinstance(source, (str, os.PathLike)):
        raise ImageError(
            f"cannot read an image from a {type(source).__name__}: "
            "give a path, bytes, a PIL image or a NumPy array"
        )
    path = Path(source)
    try:
        return open(path, "rb")  # closed by decode()
    except FileNotFoundError:
        raise ImageError(f"{name}: file not found") from None
    except OSError as exc:
        # Asked only now: a stat before every open costs more than the rare folder.
        if path.is_dir():
            raise ImageError(f"{name}: is a folder, not an image") from None
        raise ImageError(f"{name}: cannot open ({exc.strerror or exc})") from None


def _from_array(array: np.ndarray, name: str) -> Image.Image:
    """A PIL image holding a NumPy image, after checking its shape and values."""
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (2, 3, 4)):
        raise ImageError(f"{name}: expected H×W or H×W×C (C = 1..4), got shape {array.shape}")
    if min(array.shape[:2]) == 0:
        raise ImageError(f"{name}: empty image, shape {array.shape}")
    kind = array.dtype.kind
    if kind == "b":
        array = array.astype(np.uint8) * 255
    elif kind == "f":
        if not np.isfinite(array).all():
            raise ImageError(f"{name}: the array holds NaN or infinite values")
        low, high = float(array.min()), float(array.max())
        if low < 0 or high > 1:
            raise ImageError(
                f"{name}: float pixel values must lie in [0, 1], got {low:g}..{high:g}"
            )
        if array.ndim == 2:
            # Gray floats stay floats: no rounding of faint strokes to 8 bits.
            return Image.fromarray(np.ascontiguousarray(array, dtype=np.float32), mode="F")
        array = np.round(array * 255).astype(np.uint8)
    elif kind in "iu":
        low, high = int(array.min()), int(array.max())
        if low < 0 or high > 65535:
            raise ImageError(
                f"{name}: integer pixel values must lie in 0..65535, got {low}..{high}"
            )
        if array.dtype.itemsize > 1 and high > 255:
            # 16-bit: keep the precision as floats in [0, 1].
            scaled = array.astype(np.float32) / 65535
            if array.ndim == 2:
                return Image.fromarray(scaled, mode="F")
            array = np.round(scaled * 255).astype(np.uint8)
        array = array.astype(np.uint8, copy=False)
    else:
        raise ImageError(f"{name}: pixel values must be numbers, got {array.dtype}")
    mode = {2: "L"}.get(array.ndim) or {2: "LA", 3: "RGB", 4: "RGBA"}[array.shape[2]]
    return Image.fromarray(np.ascontiguousarray(array), mode=mode)


def _decoded(
    image: Image.Image, name: str, max_side: int | None, max_pixels: int, owned: bool
) -> Decoded:
    width, height = image.size
    if width * height > max_pixels:
        raise ImageError(
            f"{name}: image is {width}×{height} = {width * height:,} pixels, "
            f"over the limit of {max_pixels:,} (a decompression bomb?)"
        )
    if width < 1 or height < 1:
        raise ImageError(f"{name}: empty image ({width}×{height})")
    orientation = image.getexif().get(_EXIF_ORIENTATION, 1)
    if owned and max_side and image.format in ("JPEG", "MPO") and image.mode in ("L", "RGB"):
        # Decode JPEG at 1/2, 1/4 or 1/8 scale straight from the DCT: the big win for photos.
        factor = max_side / max(width, height)
        if factor < 1:
            image.draft("L", (max(1, int(width * factor)), max(1, int(height * factor))))
    image.load()
    if orientation in range(2, 9):
        image = ImageOps.exif_transpose(image)
    if orientation in _SWAPS_AXES:
        width, height = height, width
    gray = _gray(image, max_side)
    return Decoded(gray, name, (width, height))


def _fit(image: Image.Image, max_side: int | None) -> Image.Image:
    """The image reduced to fit max_side (area-averaging keeps thin strokes as gray)."""
    if not max_side or max(image.size) <= max_side:
        return image
    factor = max_side / max(image.size)
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    return image.resize(size, Image.Resampling.BOX)


def _gray(image: Image.Image, max_side: int | None) -> np.ndarray:
    """Float32 gray in [0, 1], transparency laid on paper, reduced to fit max_side."""
    mode = image.mode
    if (mode == "P" and "transparency" in image.info) or mode == "PA":
        image, mode = image.convert("RGBA"), "RGBA"
    if mode in ("RGBA", "RGBa", "LA", "La"):
        gray_alpha = _fit(image.convert("LA"), max_side)
        array = np.asarray(gray_alpha, dtype=np.float32) / 255
        return _lay_on_paper(array[..., 0], array[..., 1])
    if mode in ("I", "F") or mode.startswith("I;16"):
        raw = np.asarray(image, dtype=np.float32)
        high = float(raw.max()) if raw.size else 0.0
        # Pixel values in the range their type suggests: 16-bit, 8-bit, or [0, 1].
        top = 65535.0 if high > 255 or mode.startswith("I;16") else 255.0 if high > 1 else 1.0
        if mode == "I" and high > 65535:
            top = high
        gray = np.clip(raw / top, 0, 1).astype(np.float32)
        resized = _fit(Image.fromarray(gray, mode="F"), max_side)
        return np.asarray(resized, dtype=np.float32)
    if mode != "L":
        image = image.convert("L")
    return np.asarray(_fit(image, max_side), dtype=np.float32) / 255


def _lay_on_paper(gray: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Composite gray-with-alpha over paper (see the module docstring for the paper's level)."""
    opaque = alpha > 0.5
    count = int(opaque.sum())
    if count == 0:
        paper = 1.0
    elif count < opaque.size / 2:
        # Opaque pixels are the ink: the paper is its opposite.
        paper = 1.0 if float(np.median(gray[opaque])) < 0.5 else 0.0
    else:
        paper = float(np.median(gray[opaque]))
    return (gray * alpha + paper * (1 - alpha)).astype(np.float32)
