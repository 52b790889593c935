from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from charrec.data.readers.alphadigits import read_binary_alphadigits
from charrec.data.resize import to_emnist_frame
from charrec.errors import DataError


def ink_box(image: np.ndarray, threshold: int = 32) -> tuple[float, float, int, int]:
    """(centre row, centre column, height, width) of the pixels >= threshold."""
    rows = np.flatnonzero((image >= threshold).any(axis=1))
    cols = np.flatnonzero((image >= threshold).any(axis=0))
    height, width = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
    return (rows[0] + rows[-1] + 1) / 2, (cols[0] + cols[-1] + 1) / 2, int(height), int(width)


def rectangle(shape: tuple[int, int], top: int, left: int, height: int, width: int) -> np.ndarray:
    image = np.zeros(shape, dtype=np.uint8)
    image[top : top + height, left : left + width] = 1
    return image


def test_output_shape_and_range() -> None:
    images = np.stack([rectangle((20, 16), 2, 3, 12, 6), rectangle((20, 16), 0, 0, 20, 16)])
    out = to_emnist_frame(images)
    assert out.shape == (2, 28, 28) and out.dtype == np.uint8
    assert (out.max(axis=(1, 2)) == 255).all()


def test_off_centre_ink_is_centred_and_scaled() -> None:
    # A 10×5 block in a corner: after framing it is centred and 24 pixels tall.
    out = to_emnist_frame(rectangle((40, 40), 1, 30, 10, 5)[None])[0]
    cy, cx, height, width = ink_box(out)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5
    assert height == 24
    assert abs(width - 12) <= 1  # aspect ratio 1:2 kept


def test_wide_ink_fills_the_width() -> None:
    out = to_emnist_frame(rectangle((20, 30), 8, 2, 4, 24)[None])[0]
    _, _, height, width = ink_box(out)
    assert width == 24 and abs(height - 4) <= 1


def test_large_image_is_reduced_the_same_way() -> None:
    out = to_emnist_frame((rectangle((300, 200), 40, 50, 200, 100) * 255)[None])[0]
    cy, cx, height, width = ink_box(out)
    assert (height, abs(width - 12) <= 1) == (24, True)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5


def test_empty_image_stays_empty() -> None:
    images = np.zeros((2, 20, 16), dtype=np.uint8)
    images[1, 5, 5] = 1
    out = to_emnist_frame(images)
    assert not out[0].any()
    assert out[1].max() == 255


def test_sigma_blurs() -> None:
    # σ is in working-image pixels (about 4 per output pixel here): σ=4 must show.
    image = rectangle((20, 16), 2, 2, 16, 12)[None]

    def soft_fraction(sigma: float) -> float:
        out = to_emnist_frame(image, sigma=sigma)[0]
        return np.count_nonzero((out > 0) & (out < 200)) / np.count_nonzero(out)

    assert soft_fraction(4) > soft_fraction(1) + 0.1


def test_custom_size_and_padding() -> None:
    out = to_emnist_frame(rectangle((20, 16), 0, 0, 20, 10)[None], size=32, pad=4)
    assert out.shape == (1, 32, 32)
    assert ink_box(out[0])[2] == 24


def test_rejects_bad_input() -> None:
    with pytest.raises(DataError, match="N×H×W"):
        to_emnist_frame(np.zeros((20, 16)))
    with pytest.raises(DataError, match="padding"):
        to_emnist_frame(np.zeros((1, 20, 16)), size=4, pad=2)


def test_real_binary_alphadigits(real_data_dir: Path) -> None:
    data = read_binary_alphadigits(real_data_dir / "binaryalphadigits" / "binaryalphadigs.mat")
    out = to_emnist_frame(data.images)
    assert out.shape == (1404, 28, 28) and out.dtype == np.uint8
    for source, framed in zip(data.images, out, strict=True):
        cy, cx, height, width = ink_box(framed)
        assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1
        assert max(height, width) == 28 - 2 * 2
        _, _, src_height, src_width = ink_box(source, threshold=1)
        # The aspect ratio is kept: the shorter side is the scaled source side, to the pixel
        # (each of the box's two edges is measured in whole pixels, hence 1.5).
        scale = 24 / max(src_height, src_width)
        assert abs(height - src_height * scale) <= 1.5
        assert abs(width - src_width * scale) <= 1.5
