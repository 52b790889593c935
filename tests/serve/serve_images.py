"""Pictures the server tests send."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def png_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def digit_png(real_data_dir: Path, index: int = 0) -> tuple[bytes, str]:
    """A real MNIST test digit, drawn dark on light at 112×112 like a scan, and its label."""
    from charrec.data import load_dataset

    test = load_dataset("mnist", split="test", data_dir=real_data_dir)
    image = Image.fromarray(255 - test.images[index]).resize((112, 112), Image.Resampling.BICUBIC)
    return png_bytes(np.asarray(image)), test.classes[int(test.labels[index])]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(width: int, height: int) -> bytes:
    """A small PNG that declares width×height gray pixels (its data stops early)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (width + 1) * 4)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", rows)
        + _chunk(b"IEND", b"")
    )


def zeros_png(side: int) -> bytes:
    """A complete, valid PNG of side×side black pixels: tiny on disk, big when decoded."""
    return png_bytes(np.zeros((side, side), dtype=np.uint8))
