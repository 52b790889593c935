"""Pictures the server tests send."""

from __future__ import annotations

import io
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
