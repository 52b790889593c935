from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from charrec.data.readers.image_folder import read_image, read_image_folder
from charrec.errors import DataError


def glyph(kind: str, size: tuple[int, int] = (60, 40)) -> np.ndarray:
    """A white-on-black 'I' (a tall bar) or '-' (a wide bar), off centre, as uint8."""
    image = np.zeros(size, dtype=np.uint8)
    if kind == "I":
        image[5:45, 4:12] = 255
    else:
        image[40:48, 2:30] = 255
    return image


def save(path: Path, array: np.ndarray, mode: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(array)
    (image.convert(mode) if mode else image).save(path)
    return path


def ink_box(image: np.ndarray) -> tuple[float, float, int, int]:
    rows = np.flatnonzero((image >= 64).any(axis=1))
    cols = np.flatnonzero((image >= 64).any(axis=0))
    return (
        (rows[0] + rows[-1] + 1) / 2,
        (cols[0] + cols[-1] + 1) / 2,
        int(rows[-1] - rows[0] + 1),
        int(cols[-1] - cols[0] + 1),
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "mine"
    # Dark ink on light paper (a scan), white ink on black, and a nested folder.
    save(root / "I" / "scan.png", (230 - glyph("I") * 0.8).astype(np.uint8))
    save(root / "I" / "sub" / "dark.jpg", glyph("I"), mode="L")
    save(root / "dash" / "a.bmp", glyph("-"))
    save(root / "dash" / "b.gif", 255 - glyph("-"))
    (root / "dash" / "notes.txt").write_text("not an image, ignored")
    (root / "dash" / ".hidden.png").write_bytes(b"ignored")
    (root / ".git").mkdir()
    return root


def test_reads_classes_sorted_and_canonical(folder: Path) -> None:
    data = read_image_folder(folder)
    assert data.classes == ("I", "dash")
    assert data.labels.tolist() == [0, 0, 1, 1]
    assert data.images.shape == (4, 28, 28) and data.images.dtype == np.uint8
    assert data.name == "mine"
    assert [Path(s).name for s in data.sources] == ["scan.png", "dark.jpg", "a.bmp", "b.gif"]
    for image, tall in zip(data.images, [True, True, False, False], strict=True):
        # White ink on black whatever the input's polarity; the frame border is background.
        assert image.max() == 255
        assert image[0].max() == image[-1].max() == image[:, 0].max() == image[:, -1].max() == 0
        cy, cx, height, width = ink_box(image)
        assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1
        assert max(height, width) == 24
        assert (height > width) == tall


def test_a_pictures_own_file_follows_it_into_a_subset(folder: Path) -> None:
    data = read_image_folder(folder)
    dashes = data.subset(data.labels == 1)
    assert [Path(s).name for s in dashes.sources] == ["a.bmp", "b.gif"]
    assert [Path(s).name for s in data.subset(np.array([3, 0])).sources] == ["b.gif", "scan.png"]


def test_same_glyph_either_polarity_gives_the_same_image(tmp_path: Path) -> None:
    light = read_image(save(tmp_path / "light.png", 255 - glyph("I")))
    dark = read_image(save(tmp_path / "dark.png", glyph("I")))
    np.testing.assert_array_equal(light, dark)


@pytest.mark.parametrize("light_on_dark", [False, True])
def test_a_ring_cropped_tight_keeps_its_polarity(tmp_path: Path, light_on_dark: bool) -> None:
    # A 0 cropped to its ink and stretched to a 16×16 two-level bitmap: its ring runs
    # along most of the border, so the border's level is the ink's, not the paper's.
    large = Image.new("L", (160, 160), 255)
    ImageDraw.Draw(large).rounded_rectangle([0, 0, 159, 159], radius=50, outline=0, width=14)
    ring = np.where(np.asarray(large.resize((16, 16), Image.Resampling.BOX)) < 128, 0, 255)
    border = np.concatenate([ring[0], ring[-1], ring[:, 0], ring[:, -1]])
    assert (border == 0).mean() > 0.5
    picture = (255 - ring if light_on_dark else ring).astype(np.uint8)
    image = read_image(save(tmp_path / "zero.png", picture))
    # White ring on black: the frame's corners and the ring's middle are background.
    assert image.max() == 255
    assert image[:3, :3].max() == 0 and image[-3:, -3:].max() == 0
    assert image[12:16, 12:16].max() == 0
    assert image[14, :].max() > 127 and image[:, 14].max() > 127


def test_transparent_background(tmp_path: Path) -> None:
    rgba = np.zeros((60, 40, 4), dtype=np.uint8)  # black ink drawn on a transparent sheet
    rgba[..., 3] = glyph("I")
    image = read_image(save(tmp_path / "t.png", rgba))
    expected = read_image(save(tmp_path / "d.png", glyph("I")))
    np.testing.assert_array_equal(image, expected)


def test_blank_image_is_empty(tmp_path: Path) -> None:
    image = read_image(save(tmp_path / "blank.png", np.full((30, 30), 240, dtype=np.uint8)))
    assert image.shape == (28, 28) and not image.any()


def test_unreadable_image_is_named(folder: Path) -> None:
    (folder / "dash" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(DataError, match=r"broken\.png: cannot read this image"):
        read_image_folder(folder)


def test_truncated_image_is_named(folder: Path) -> None:
    path = save(folder / "dash" / "cut.png", glyph("-"))
    path.write_bytes(path.read_bytes()[:60])
    with pytest.raises(DataError, match=r"cut\.png: cannot read this image"):
        read_image_folder(folder)


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nowhere: folder not found"):
        read_image_folder(tmp_path / "nowhere")
    (tmp_path / "file.png").write_bytes(b"")
    with pytest.raises(DataError, match=r"file\.png: not a folder"):
        read_image_folder(tmp_path / "file.png")


def test_no_class_folders(tmp_path: Path) -> None:
    save(tmp_path / "flat" / "a.png", glyph("I"))
    with pytest.raises(DataError, match=r"flat: no class sub-folders"):
        read_image_folder(tmp_path / "flat")


def test_no_images_at_all(tmp_path: Path) -> None:
    (tmp_path / "root" / "A").mkdir(parents=True)
    (tmp_path / "root" / "B").mkdir()
    (tmp_path / "root" / "B" / "readme.txt").write_text("no images here")
    with pytest.raises(DataError, match=r"root: no images in its class folders"):
        read_image_folder(tmp_path / "root")


def test_empty_class_folder(folder: Path) -> None:
    (folder / "empty").mkdir()
    with pytest.raises(DataError, match=r"no images in class folder\(s\) empty"):
        read_image_folder(folder)
