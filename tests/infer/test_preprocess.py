"""Preprocessing of people's pictures into EMNIST's 28×28 form."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from infer_images import (
    centre_of_mass,
    correlation,
    find_font,
    ink_box,
    render_pen,
    render_text,
)
from PIL import Image, ImageDraw, features
from scipy import ndimage

from charrec.errors import CharrecError, ConfigError
from charrec.infer.ink import ink_map, mask_above_noise
from charrec.infer.preprocess import (
    BlankImageError,
    ImageError,
    PreprocessConfig,
    Preprocessor,
    explain,
    load_image,
    preprocess,
)


@pytest.fixture(scope="module")
def letter() -> np.ndarray:
    """A dark R on white paper, 200×200 (a pen-drawn K where no font is installed)."""
    font = find_font()
    if font is None:
        return render_pen(14, canvas=(200, 200), box=(50, 30, 150, 170))
    return render_text("R", font, canvas=(200, 200))


@pytest.fixture(scope="module")
def reference(letter: np.ndarray) -> np.ndarray:
    return preprocess(letter).image


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def transparent_drawing(letter: np.ndarray, ink_rgb: tuple[int, int, int]) -> Image.Image:
    """The letter's ink as opaque colour on a fully transparent canvas (RGB zero there)."""
    alpha = 255 - letter
    rgba = np.zeros((*letter.shape, 4), dtype=np.uint8)
    rgba[..., :3] = np.where(alpha[..., None] > 0, np.array(ink_rgb, dtype=np.uint8), 0)
    rgba[..., 3] = alpha
    return Image.fromarray(rgba, mode="RGBA")


# ------------------------------------------------------------------ formats and modes


def _sources(letter: np.ndarray) -> dict[str, object]:
    gray = Image.fromarray(letter, mode="L")
    binary = gray.point(lambda v: 255 if v > 127 else 0).convert("1", dither=Image.Dither.NONE)
    rgb = Image.merge("RGB", [gray, gray.point(lambda v: v * 0.9), gray])
    gray_alpha = Image.merge("LA", [Image.new("L", gray.size, 0), gray.point(lambda v: 255 - v)])
    sixteen = Image.fromarray(letter.astype(np.uint16) * 257)
    sources = {
        "png-L": encoded(gray, "PNG"),
        "png-1bit": encoded(binary, "PNG"),
        "png-P": encoded(gray.convert("P"), "PNG"),
        "png-LA": encoded(gray_alpha, "PNG"),
        "png-RGBA": encoded(transparent_drawing(letter, (10, 20, 200)), "PNG"),
        "png-16bit": encoded(sixteen, "PNG"),
        "jpeg-RGB": encoded(rgb, "JPEG", quality=90),
        "jpeg-CMYK": encoded(rgb.convert("CMYK"), "JPEG", quality=90),
        "bmp": encoded(rgb, "BMP"),
        "tiff": encoded(gray, "TIFF"),
        "tiff-float": encoded(Image.fromarray(letter.astype(np.float32) / 255, mode="F"), "TIFF"),
        "gif": encoded(gray, "GIF"),
        "pil-image": rgb,
        "array-uint8": letter,
        "array-float": letter.astype(np.float64) / 255,
        "array-rgb": np.asarray(rgb),
        "array-uint16": letter.astype(np.uint16) * 257,
    }
    if features.check("webp"):
        sources["webp"] = encoded(rgb, "WEBP", quality=90)
    return sources


def test_every_format_and_mode_gives_the_same_character(
    letter: np.ndarray, reference: np.ndarray
) -> None:
    preprocessor = Preprocessor()
    for kind, source in _sources(letter).items():
        result = preprocessor(source)
        assert result.image.shape == (28, 28) and result.image.dtype == np.uint8, kind
        assert result.image.max() == 255, kind
        assert correlation(result.image, reference) > 0.95, kind
        assert result.polarity == "dark-on-light", kind


def test_reads_paths_and_open_files(tmp_path: Path, letter: np.ndarray, reference: np.ndarray):
    path = tmp_path / "letter.png"
    Image.fromarray(letter).save(path)
    assert np.array_equal(preprocess(path).image, reference)
    assert np.array_equal(preprocess(str(path)).image, reference)
    with open(path, "rb") as handle:
        assert np.array_equal(preprocess(handle).image, reference)


def test_load_image_is_gray_float_with_paper_behind_transparency(letter: np.ndarray) -> None:
    for ink in ((0, 0, 0), (255, 255, 255)):
        gray = load_image(encoded(transparent_drawing(letter, ink), "PNG"))
        assert gray.dtype == np.float32 and gray.shape == letter.shape
        paper = gray[letter == 255]
        # Transparent pixels become the opposite of the ink: white behind black ink.
        assert np.all(paper == (1.0 if ink == (0, 0, 0) else 0.0))
    reduced = load_image(letter, max_side=50)
    assert reduced.shape == (50, 50)


def test_transparent_canvas_drawings_work_in_either_ink(
    letter: np.ndarray, reference: np.ndarray
) -> None:
    # Canvas apps leave transparent pixels black (RGB 0): they must still count as paper.
    for ink in ((0, 0, 0), (255, 255, 255), (200, 30, 30)):
        result = preprocess(encoded(transparent_drawing(letter, ink), "PNG"))
        assert correlation(result.image, reference) > 0.95, ink


def test_gif_gives_its_first_frame(font: Path) -> None:
    frames = [Image.fromarray(render_text(c, font, canvas=(120, 120))) for c in "AB"]
    data = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert Image.open(io.BytesIO(data)).n_frames == 2
    first, second = (preprocess(np.asarray(f)).image for f in frames)
    result = preprocess(data).image
    assert correlation(result, first) > 0.95
    assert correlation(result, second) < 0.8


def test_sixteen_bit_png_keeps_faint_contrast(letter: np.ndarray, reference: np.ndarray) -> None:
    # Ink and paper 3% of the range apart: invisible at 8 bits after a careless conversion,
    # plain in 16 bits.
    values = (30000 + (letter.astype(np.float64) / 255) * 2000).astype(np.uint16)
    data = encoded(Image.fromarray(values), "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    gray = load_image(data)
    assert 0.45 < gray.min() < gray.max() < 0.5
    result = preprocess(data, PreprocessConfig(min_contrast=0.02))
    assert correlation(result.image, reference) > 0.95


def test_exif_orientation_is_honoured(letter: np.ndarray, reference: np.ndarray) -> None:
    # Orientation 6: the stored pixels are turned 90° anticlockwise; viewers turn them back.
    stored = Image.fromarray(letter).rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encoded(stored.convert("RGB"), "JPEG", quality=92, exif=exif)
    ignored = preprocess(np.asarray(stored)).image
    result = preprocess(data)
    assert correlation(result.image, reference) > 0.95
    assert correlation(result.image, reference) > correlation(ignored, reference) + 0.2


# ------------------------------------------------------------------ what the character looks like


def test_polarity_either_way_gives_the_same_image(letter: np.ndarray) -> None:
    dark = preprocess(letter)
    light = preprocess(255 - letter)
    assert (dark.polarity, light.polarity) == ("dark-on-light", "light-on-dark")
    assert correlation(dark.image, light.image) > 0.9


def test_fat_character_covering_most_of_the_picture(font: Path) -> None:
    # A marker letter filling a tight crop: more ink than paper, yet the paper is white.
    fat = render_text("e", font, canvas=(120, 130), height=0.95, stroke=6)
    assert (fat < 128).mean() > 0.3
    result = preprocess(fat)
    assert result.polarity == "dark-on-light"
    # The frame's corners stay paper (a wrong polarity would frame the paper as ink).
    assert result.image[:3, :3].max() == 0 and result.image[-3:, -3:].max() == 0


def thick_eight_cropped_tight(size: int = 16) -> Image.Image:
    """A thick 8 drawn large, cropped to its ink and shrunk to size×size (smoothly, as a
    scanner or a data set's bitmap does): ink touching every edge, 41% of the pixels."""
    large = Image.new("L", (160, 160), 255)
    draw = ImageDraw.Draw(large)
    draw.ellipse([30, 10, 130, 82], outline=0, width=14)
    draw.ellipse([20, 78, 140, 150], outline=0, width=14)
    inked = np.asarray(large) < 128
    rows, cols = np.flatnonzero(inked.any(axis=1)), np.flatnonzero(inked.any(axis=0))
    crop = large.crop((cols[0], rows[0], cols[-1] + 1, rows[-1] + 1))
    return crop.resize((size, size), Image.Resampling.BILINEAR)


@pytest.mark.parametrize("size", [16, 100])
@pytest.mark.parametrize("light_on_dark", [False, True])
def test_thick_digit_cropped_tight_is_found(size: int, light_on_dark: bool) -> None:
    picture = thick_eight_cropped_tight(size)
    if light_on_dark:
        picture = Image.eval(picture, lambda v: 255 - v)
    ink = (np.asarray(picture) < 128) != light_on_dark
    assert ink[0].any() and ink[-1].any() and ink[:, 0].any() and ink[:, -1].any()
    # At 16 pixels nearly every paper pixel is a soft stroke edge: without a margin of
    # paper the threshold took them for noise and refused the picture as blank. At 100
    # the strokes fill most neighbourhoods, so the local paper level was the ink's and
    # the paper was framed as the character.
    result = preprocess(picture)
    assert result.polarity == ("light-on-dark" if light_on_dark else "dark-on-light")
    assert result.bbox == (0, 0, size, size)
    image = result.image
    assert image.max() == 255 and image[0].max() == 0 and image[:, 0].max() == 0
    # Framed like any 8: 24-26 px tall, both loops open (paper inside each).
    assert 24 <= ink_box(image, 0)[0] <= 26
    _, holes = ndimage.label(image < 64)
    assert holes == 3  # the paper around it and the two loops


def binary_bitmap(draw_on, size: int) -> Image.Image:
    """A character drawn large by `draw_on(draw)` on 160×160, shrunk to a size×size binary
    bitmap (as Semeion's and optdigits' scans are)."""
    large = Image.new("L", (160, 160), 255)
    draw_on(ImageDraw.Draw(large))
    small = np.asarray(large.resize((size, size), Image.Resampling.BOX)) < 128
    return Image.fromarray(np.where(small, 0, 255).astype(np.uint8))


def fat_zero(draw) -> None:
    # Stretched to fill its box: the ring reaches every edge, more ink than paper.
    draw.ellipse([0, 0, 159, 159], outline=0, width=52)


def fat_eight(draw) -> None:
    # Slanted and so fat that its loops are pin holes: it reaches the top and bottom
    # edges only, and covers half the picture.
    draw.ellipse([60, 0, 160, 84], fill=0)
    draw.ellipse([0, 74, 100, 159], fill=0)
    draw.ellipse([104, 30, 116, 54], fill=255)
    draw.ellipse([44, 106, 56, 130], fill=255)


@pytest.mark.parametrize(("draw_on", "size"), [(fat_zero, 16), (fat_eight, 32)])
@pytest.mark.parametrize("light_on_dark", [False, True])
def test_fat_character_filling_a_small_bitmap_keeps_its_polarity(
    draw_on, size: int, light_on_dark: bool
) -> None:
    picture = binary_bitmap(draw_on, size)
    if draw_on is fat_zero:
        assert (np.asarray(picture) < 128).mean() > 0.5
    if light_on_dark:
        picture = Image.eval(picture, lambda v: 255 - v)
    # The local paper level of a coarse block is the fat stroke's: before the ink was
    # told by its shape here, the paper was framed as the character.
    result = preprocess(picture)
    assert result.polarity == ("light-on-dark" if light_on_dark else "dark-on-light")
    image = result.image
    assert image[:3, :3].max() == 0 and image[-3:, -3:].max() == 0


def n_cropped_tight(pen: int, width: int) -> Image.Image:
    """An N drawn with a `pen` wide stroke on 160×200, cropped to its ink and shrunk to a
    binary bitmap `width` pixels wide: its two sides run along the whole left and right
    edges, more than half of the outline."""
    large = Image.new("L", (160, 200), 255)
    draw = ImageDraw.Draw(large)
    for stroke in ([(6, 0), (6, 199)], [(6, 0), (153, 199)], [(153, 0), (153, 199)]):
        draw.line(stroke, fill=0, width=pen)
    small = large.resize((width, round(width * 1.25)), Image.Resampling.BOX)
    return Image.fromarray(np.where(np.asarray(small) < 128, 0, 255).astype(np.uint8))


@pytest.mark.parametrize(("pen", "width"), [(20, 30), (32, 20)])
@pytest.mark.parametrize("light_on_dark", [False, True])
def test_a_thin_character_cropped_tight_along_its_sides_keeps_its_polarity(
    pen: int, width: int, light_on_dark: bool
) -> None:
    picture = n_cropped_tight(pen, width)
    if light_on_dark:
        picture = Image.eval(picture, lambda v: 255 - v)
    result = preprocess(picture)
    assert result.polarity == ("light-on-dark" if light_on_dark else "dark-on-light")
    # Framed as strokes: most of the frame stays dark (the paper framed as the character
    # would fill it).
    assert (result.image > 127).mean() < 0.3


def strokes_apart_cropped_tight(strokes: list[list[tuple[int, int]]]) -> Image.Image:
    """Pen strokes that do not meet, drawn 4 pixels wide on 160×160 and cropped to their ink."""
    large = Image.new("L", (160, 160), 255)
    draw = ImageDraw.Draw(large)
    for stroke in strokes:
        draw.line(stroke, fill=0, width=4)
    inked = np.asarray(large) < 128
    rows, cols = np.flatnonzero(inked.any(axis=1)), np.flatnonzero(inked.any(axis=0))
    return large.crop((cols[0], rows[0], cols[-1] + 1, rows[-1] + 1))


@pytest.mark.parametrize(
    "strokes",
    [
        # An E: its stem and bottom bar one stroke, its top and middle bars apart: the
        # biggest part stops short of the top and right edges.
        [[(24, 40), (18, 140), (110, 136)], [(34, 22), (120, 14)], [(36, 84), (92, 78)]],
        # A slanted i: its stem two thirds of the height, its dot along the top edge.
        [[(60, 60), (95, 150)], [(58, 18), (62, 18)]],
    ],
    ids=["E", "i"],
)
def test_strokes_apart_cropped_tight_are_all_kept(strokes: list[list[tuple[int, int]]]) -> None:
    picture = strokes_apart_cropped_tight(strokes)
    # Before, the parts along the edges were taken for a page's border and left out:
    # the E was framed as its stem and bottom bar, the i as its stem.
    result = preprocess(picture)
    assert result.bbox == (0, 0, picture.width, picture.height)
    assert result.ink_fraction == pytest.approx((np.asarray(picture) < 128).mean(), rel=0.2)


def test_only_a_character_cropped_to_its_ink_counts_as_tightly_cropped() -> None:
    from charrec.infer.ink import tight_margin

    eight = 1 - np.asarray(thick_eight_cropped_tight(), dtype=np.float32) / 255
    assert tight_margin(eight) == 4  # a quarter of 16 pixels
    # The same 8 with paper around it; a frame along the whole outline (a table around
    # the page); speckle noise touching every edge: none is a tight crop.
    assert tight_margin(np.pad(eight, 3)) == 0
    framed = np.pad(eight, 3)
    framed[:2], framed[-2:], framed[:, :2], framed[:, -2:] = 1, 1, 1, 1
    assert tight_margin(framed) == 0
    noise = (np.random.default_rng(0).random((40, 40)) > 0.9).astype(np.float32)
    assert tight_margin(noise) == 0


def test_big_off_centre_character_is_centred_and_sized(font: Path) -> None:
    canvas = render_text("O", font, canvas=(1000, 800), height=0.6, centre=(0.28, 0.35))
    result = preprocess(canvas)
    row, col = centre_of_mass(result.image)
    assert abs(row - 13.5) < 1.5 and abs(col - 13.5) < 1.5
    # EMNIST: the box of pixels above half intensity is 22 px along its longer side (median).
    assert 20 <= max(ink_box(result.image, 127)) <= 25
    left, top, right, bottom = result.bbox
    drawn_rows = np.flatnonzero((canvas < 128).any(axis=1))
    drawn_cols = np.flatnonzero((canvas < 128).any(axis=0))
    assert abs(top - drawn_rows[0]) <= 8 and abs(bottom - drawn_rows[-1]) <= 8
    assert abs(left - drawn_cols[0]) <= 8 and abs(right - drawn_cols[-1]) <= 8


def test_gradient_shadow_does_not_break_it(font: Path) -> None:
    # Real ink reflects some light (gray 60); the light falls off to a fifth across the
    # page and a little down it, on ink and paper alike.
    clean = render_text("K", font, canvas=(600, 500), height=0.6, centre=(0.45, 0.5), ink=60)
    light = np.linspace(1.0, 0.2, 600)[None, :] * np.linspace(1.0, 0.8, 500)[:, None]
    shadowed = (clean * light).astype(np.uint8)
    # No single threshold separates ink from paper any more.
    assert shadowed[clean == 255].min() < shadowed[clean == 60].max()
    reference = preprocess(clean).image
    assert correlation(preprocess(shadowed).image, reference) > 0.85
    with pytest.raises(BlankImageError):
        preprocess((230 * light).astype(np.uint8))


def test_noise_specks_and_border_junk_are_ignored(letter: np.ndarray, reference: np.ndarray):
    rng = np.random.default_rng(0)
    big = np.asarray(Image.fromarray(letter).resize((600, 600)))
    clean = preprocess(big)
    speckled = big.copy()
    speckled[rng.random(big.shape) < 0.002] = 0  # pepper: ink-coloured specks
    speckled[rng.random(big.shape) < 0.002] = 255  # salt
    speckled = ndimage.minimum_filter(speckled, size=2)  # specks of 2×2 pixels
    result = preprocess(speckled)
    assert correlation(result.image, clean.image) > 0.95
    assert result.bbox == pytest.approx(clean.bbox, abs=12)
    edged = big.copy()
    edged[:, :30] = 30  # the table beside the page
    edged[-20:, :] = 60
    assert correlation(preprocess(edged).image, clean.image) > 0.95


def test_separate_parts_of_a_character_are_kept() -> None:
    # An i: a stem and, apart from it, a dot no wider than the pen.
    image = Image.new("L", (300, 300), 255)
    draw = ImageDraw.Draw(image)
    draw.line([(150, 120), (150, 260)], fill=0, width=14)
    draw.ellipse([141, 72, 159, 90], fill=0)
    result = preprocess(image)
    _, parts = ndimage.label(result.image > 64)
    assert parts == 2
    assert result.bbox[1] <= 74  # the box reaches up to the dot


def test_a_high_dot_is_kept_and_a_mark_as_far_beside_is_not() -> None:
    # A fine-pen i whose dot is drawn high, 0.9 of the stem's length above it (a little to
    # the right, as with a slanted hand), and a mark as far to the side of the stem.
    def picture(dot: tuple[int, int]) -> Image.Image:
        image = Image.new("L", (400, 400), 255)
        draw = ImageDraw.Draw(image)
        draw.line([(200, 230), (200, 330)], fill=0, width=4)
        draw.ellipse([dot[0] - 5, dot[1] - 5, dot[0] + 5, dot[1] + 5], fill=0)
        return image

    dotted = preprocess(picture((215, 135)))
    assert dotted.bbox[1] <= 132  # the box reaches up to the dot
    beside = preprocess(picture((300, 280)))
    assert beside.bbox[2] <= 205  # the mark 100 pixels to the right is left out
    assert ndimage.label(beside.image > 64)[1] == 1


def test_an_i_whose_ring_dot_has_more_ink_than_its_stem_keeps_the_stem() -> None:
    # A short stem and, well above it, a dot drawn as a ring with more ink than the stem:
    # the ring is the biggest part, and the stem, farther from it than the ring is tall,
    # is still the character's.
    image = Image.new("L", (400, 400), 255)
    draw = ImageDraw.Draw(image)
    draw.line([(200, 250), (200, 330)], fill=0, width=6)
    draw.ellipse([170, 110, 230, 170], outline=0, width=6)
    _, parts = ndimage.label(np.asarray(image) < 128)
    assert parts == 2
    result = preprocess(image)
    assert result.bbox[1] <= 112 and result.bbox[3] >= 328  # ring and stem both kept
    assert ndimage.label(result.image > 64)[1] == 2


def test_thin_and_thick_pens_give_similar_strokes() -> None:
    thin, thick = render_pen(3), render_pen(90)
    normalised = [preprocess(image).image.mean() for image in (thin, thick)]
    assert max(normalised) / min(normalised) < 1.6
    kept = PreprocessConfig(stroke_width=None)
    raw = [preprocess(image, kept).image.mean() for image in (thin, thick)]
    assert max(raw) / min(raw) > 2  # without the pen step they differ a lot


def test_looks_like_emnist_after_a_round_trip(real_data_dir: Path) -> None:
    from charrec.data import load_dataset

    emnist = load_dataset("letters-dev", "test", real_data_dir).images
    sample = emnist[np.random.default_rng(0).choice(len(emnist), 40, replace=False)]
    preprocessor = Preprocessor()
    correlations, mass_ratios = [], []
    for image in sample:
        # As someone would draw it: dark on light, 280×280, saved as PNG.
        drawn = 255 - np.asarray(Image.fromarray(image).resize((280, 280), Image.BICUBIC))
        result = preprocessor(encoded(Image.fromarray(drawn), "PNG")).image
        correlations.append(correlation(result, image))
        mass_ratios.append(result.mean() / image.mean())
    assert np.median(correlations) > 0.9
    assert np.mean(np.array(correlations) > 0.9) > 0.6
    assert 0.85 < np.median(mass_ratios) < 1.15


def test_mnist_style_centres_by_mass_in_20_pixels(font: Path) -> None:
    image = render_text("7", font, canvas=(300, 300), centre=(0.6, 0.4))
    result = preprocess(image, PreprocessConfig(style="mnist")).image
    row, col = centre_of_mass(result)
    assert abs(row - 14) <= 0.5 and abs(col - 14) <= 0.5
    assert max(ink_box(result)) == 20


# ------------------------------------------------------------------ errors and blanks


def test_blank_pictures_are_refused_not_guessed(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    paper = np.clip(rng.normal(215, 6, (300, 400)), 0, 255).astype(np.uint8)
    path = tmp_path / "photo.jpg"
    Image.fromarray(paper).save(path, quality=85)
    with pytest.raises(BlankImageError, match=r"photo\.jpg: no character found"):
        preprocess(path)
    result = preprocess(path, allow_blank=True)
    assert result.blank and result.bbox is None and not result.image.any()
    dusty = np.full((300, 300), 230, dtype=np.uint8)
    dusty[100:103, 50:53] = 0
    with pytest.raises(BlankImageError, match="specks"):
        preprocess(dusty)
    with pytest.raises(BlankImageError):
        preprocess(np.zeros((64, 64), dtype=np.uint8))


def test_a_fine_pen_in_strong_noise_is_found_and_noise_alone_is_not() -> None:
    # An f drawn with a 2-pixel pen on a phone's noisy picture (noise σ 28 of 255): pixel by
    # pixel the noise hides the line (the unsmoothed test calls it blank); smoothed, it is
    # found where it was drawn. The same noise with no ink stays blank.
    for seed in range(3):
        rng = np.random.default_rng(seed)
        page = Image.new("L", (140, 120), 240)
        draw = ImageDraw.Draw(page)
        draw.line([(60, 100), (60, 40), (66, 30), (76, 30)], fill=45, width=2)
        draw.line([(52, 62), (68, 62)], fill=45, width=2)
        noisy = np.asarray(page, np.float32) + rng.normal(0, 28, (120, 140))
        picture = np.clip(noisy, 0, 255).astype(np.uint8)
        ink, _ = ink_map(picture.astype(np.float32) / 255)
        assert isinstance(mask_above_noise(ink, 0.15), str)
        left, top, right, bottom = preprocess(picture).bbox
        assert abs(left - 51) <= 3 and abs(top - 29) <= 3
        assert abs(right - 77) <= 3 and abs(bottom - 101) <= 3
        paper = np.clip(240 + rng.normal(0, 28, (120, 140)), 0, 255).astype(np.uint8)
        with pytest.raises(BlankImageError):
            preprocess(paper)


def test_unreadable_files_give_clear_errors(tmp_path: Path, letter: np.ndarray) -> None:
    text = tmp_path / "x.txt"
    text.write_text("not a picture\n")
    with pytest.raises(ImageError, match=r"x\.txt: not an image PIL can read"):
        preprocess(text)
    with pytest.raises(ImageError, match="not an image PIL can read"):
        preprocess(b"\x00\x01garbage" * 20)
    with pytest.raises(ImageError, match=r"missing\.png: file not found"):
        preprocess(tmp_path / "missing.png")
    with pytest.raises(ImageError, match="is a folder"):
        preprocess(tmp_path)
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(encoded(Image.fromarray(letter), "PNG")[:300])
    with pytest.raises(ImageError, match=r"cut\.png: damaged or truncated"):
        preprocess(truncated)
    with pytest.raises(ImageError, match="float pixel values"):
        preprocess(np.full((10, 10), 2.0))
    with pytest.raises(ImageError, match="shape"):
        preprocess(np.zeros((2, 3, 4, 5), dtype=np.uint8))
    # A user error: the CLI prints it on one line with exit code 2.
    assert issubclass(BlankImageError, ImageError) and issubclass(ImageError, CharrecError)


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares its size and holds no pixels: all a decompression bomb needs."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def test_huge_images_are_refused_before_decoding(letter: np.ndarray) -> None:
    with pytest.raises(ImageError, match="over the limit of 100,000,000"):
        preprocess(_png_header(12000, 12000))
    with pytest.raises(ImageError, match="too large"):
        preprocess(_png_header(60000, 60000))
    with pytest.raises(ImageError, match="40,000 pixels"):
        preprocess(letter, PreprocessConfig(max_pixels=30000))


# ------------------------------------------------------------------ the API around it


def test_explain_saves_what_the_model_sees(tmp_path: Path, letter: np.ndarray, reference):
    path = tmp_path / "my letter.jpg"
    Image.fromarray(letter).save(path, quality=95)
    written = explain(path)
    assert written == tmp_path / "my letter.seen.png"
    seen = np.asarray(Image.open(written))
    assert seen.shape == (280, 280)
    assert np.array_equal(seen[::10, ::10], preprocess(path).image)
    chosen = explain(letter, tmp_path / "out" / "seen.png", scale=4)
    assert np.asarray(Image.open(chosen)).shape == (112, 112)
    with pytest.raises(ImageError, match="give an output path"):
        explain(letter)


def test_batch_and_diagnostics(letter: np.ndarray, reference: np.ndarray) -> None:
    blank = np.full((50, 50), 255, dtype=np.uint8)
    preprocessor = Preprocessor()
    results = preprocessor.batch([letter, 255 - letter, blank], allow_blank=True)
    assert [r.blank for r in results] == [False, False, True]
    assert np.array_equal(results[0].image, reference)
    info = results[0].to_dict()
    assert info["polarity"] == "dark-on-light" and info["name"] == "<array>"
    assert 0 < info["ink_fraction"] < 0.3 and info["contrast"] > 0.8
    stacked = preprocessor.images([letter, letter])
    assert stacked.shape == (2, 28, 28) and stacked.dtype == np.uint8
    with pytest.raises(BlankImageError, match="<array>"):
        preprocessor.batch([letter, blank])


def test_config_round_trips_and_rejects_nonsense() -> None:
    config = PreprocessConfig(style="mnist", stroke_width=(2.0, 3.0))
    again = PreprocessConfig.from_dict(config.to_dict())
    assert again == config
    assert PreprocessConfig().stroke_width == (2.25, 3.25)
    assert PreprocessConfig(style="mnist").blur_sigma == 0.5
    assert PreprocessConfig.from_dict({"stroke_width": None}).stroke_width is None
    with pytest.raises(ConfigError, match="unknown preprocessing style"):
        PreprocessConfig(style="fancy")
    with pytest.raises(ConfigError, match="unknown preprocessing option"):
        PreprocessConfig.from_dict({"blur": 1})
    with pytest.raises(ConfigError, match="stroke_width"):
        PreprocessConfig(stroke_width=(3.0, 2.0))
    with pytest.raises(ConfigError, match="blur_sigma"):
        PreprocessConfig(blur_sigma="soft")


def test_pen_drawing_without_fonts() -> None:
    # The drawing helpers need no font: the pipeline is tested even on a bare system.
    image = Image.new("L", (256, 256), 255)
    ImageDraw.Draw(image).ellipse([60, 40, 200, 220], outline=0, width=12)
    result = preprocess(image)
    row, col = centre_of_mass(result.image)
    assert abs(row - 13.5) < 1 and abs(col - 13.5) < 1
    assert result.image[13, 13] == 0  # the ring's hole stays open
