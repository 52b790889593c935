"""Where the ink is: polarity, lighting, threshold and printed rules (steps 2 to 5 of
`charrec.infer.preprocess`), for pictures of one character or of a line of them."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image
from scipy import ndimage

from charrec.infer.pen import stroke_width
from charrec.infer.preprocess_kernels import (
    EIGHT_CONNECTED,
    block_stat,
    closing,
    extend,
    otsu,
    quantiles,
    upsample,
)

# Pictures with both sides shorter than this (pixels) are small cut-outs (`_dark_ink`).
SMALL_PICTURE = 48


def ink_map(gray: np.ndarray) -> tuple[np.ndarray, str]:
    """A decoded gray picture → (how much ink each pixel holds, 0..1; the polarity):
    steps 2 and 3 of the module docstring, for any picture of one or many characters."""
    dark_ink = _dark_ink(gray)
    polarity = "dark-on-light" if dark_ink else "light-on-dark"
    return _ink_map(gray if dark_ink else 1 - gray), polarity


def ink_mask(
    ink: np.ndarray, min_contrast: float, *, rules: bool = True
) -> tuple[np.ndarray, float] | str:
    """The pixels that are ink (Otsu, above the paper's noise, the faint printed rules of
    lined paper removed unless `rules` is False) and the contrast; or why there is none
    (blank, too faint).

    A fine pen in strong sensor noise is a thin line the noise hides pixel by pixel; when
    the picture fails the test as it is, it is tested again smoothed (Gaussian, σ one
    pixel), which lowers the noise about three times and the line's ink far less.
    """
    found = mask_above_noise(ink, min_contrast)
    if isinstance(found, str):
        found = mask_above_noise(ndimage.gaussian_filter(ink, 1.0, truncate=2.0), min_contrast)
    if isinstance(found, str):
        return found
    mask, contrast = found
    return (without_rules(mask, ink) if rules else mask), contrast


def mask_above_noise(ink: np.ndarray, min_contrast: float) -> tuple[np.ndarray, float] | str:
    """Otsu's ink, if it stands above the paper's noise (`ink_mask`)."""
    threshold, paper_mean, paper_std, ink_mean = otsu(ink)
    contrast = ink_mean - paper_mean
    if contrast < max(min_contrast, 5 * paper_std):
        return "the image is blank or too faint"
    # Far above the paper's noise, whatever Otsu made of a nearly empty histogram.
    mask = ink > max(threshold, paper_mean + 4 * paper_std)
    if not mask.any():
        return "the image is blank or too faint"
    return mask, contrast


def without_rules(mask: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """The ink mask without the faint printed rules of lined or squared paper (step 5)."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return mask
    cols = np.flatnonzero(mask.any(axis=0))
    return _without_rules(mask, ink, (rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1))


def _without_rules(mask: np.ndarray, ink: np.ndarray, extent: tuple[int, int]) -> np.ndarray:
    """The mask without the printed rules of lined or squared paper.

    A rule is a straight horizontal or vertical run of ink across nearly the whole picture
    (90% covered over 85% of its width or height) that is fainter than the pen: only its
    faint pixels go, so a stroke that crosses a rule stays whole. `extent` is the height
    and width of the box of all ink.
    """
    spans = [max(3, round(0.85 * length)) for length in mask.shape]
    # Cheapest first: ink that spans less than a rule along both axes holds no rule.
    if all(length < 0.9 * span for length, span in zip(extent, spans, strict=True)):
        return mask
    lines = np.zeros_like(mask)
    dense = mask.astype(np.float32)
    for axis, span in enumerate(spans):
        # Cheap next: no row (column) holds that much ink, so none holds a rule.
        if extent[axis] < 0.9 * span or mask.sum(axis=axis).max() < 0.9 * span:
            continue
        covered = ndimage.uniform_filter1d(dense, span, axis=axis, mode="constant") >= 0.9
        if covered.any():
            lines |= mask & ndimage.maximum_filter1d(covered, span, axis=axis, mode="constant")
    if not lines.any():
        return mask
    rest = mask & ~lines
    if not rest.any():
        return mask
    pen = quantiles(ink[rest], (0.9,))[0]
    faint = lines & (ink < 0.6 * pen)
    # Rules are mostly faint; a bar of the character itself is as dark as the rest of it.
    if faint.sum() < 0.5 * lines.sum():
        return mask
    return mask & ~faint


def tight_margin(ink: np.ndarray) -> int:
    """The paper to lay around a picture cropped tightly to its character, or 0.

    Tightly cropped: strong ink (half the pen's darkness or more) touches all four edges
    but covers less than half of the picture's outline (a page edge or a frame around
    the picture covers all of its side), and its biggest part reaches from an edge at
    least 60% of the way across the picture.
    Such a picture (a cut-out of a scan, a bitmap stretched to fill its box) is nearly all
    stroke edges, which the threshold would take for the paper's noise, and its strokes
    lie along the edges as page borders do: with a margin of paper a quarter of its
    longer side it is a character on a page like any other.
    """
    strong = ink >= 0.5
    edges = (strong[0], strong[-1], strong[1:-1, 0], strong[1:-1, -1])
    if not all(edge.any() for edge in edges):
        return 0
    if sum(int(np.count_nonzero(edge)) for edge in edges) >= 0.5 * sum(e.size for e in edges):
        return 0
    labels, _ = ndimage.label(strong, structure=EIGHT_CONNECTED)
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    # From an edge most of the way across is enough: the stem of an E drawn apart from
    # its bars stops short of the edge they touch, an i's stem short of its dot.
    rows, cols = ndimage.find_objects(labels)[int(np.argmax(sizes)) - 1]
    height, width = ink.shape
    # Its box reaches an edge where the part does.
    on_edge = rows.start == 0 or cols.start == 0 or rows.stop == height or cols.stop == width
    across = on_edge and (
        rows.stop - rows.start >= 0.6 * height or cols.stop - cols.start >= 0.6 * width
    )
    return math.ceil(0.25 * max(ink.shape)) if across else 0


def _dark_ink(gray: np.ndarray) -> bool:
    """Whether the ink is darker than the paper.

    The ink is the side with the larger mass of strong deviations from the paper. Where the
    border is even, the paper is the border's level (this holds for a fat character that
    covers most of the picture); otherwise (shadows, vignetting) it is a coarse local
    median, which is paper wherever the ink covers less than half of a neighbourhood.
    Two neighbourhoods are tried, 3×3 and 5×5 blocks: the small one follows the light
    closely but a fat character fills it, the big one the reverse. Unless the small one's
    verdict is clear (one mass three times the other), the clearer verdict decides.
    A picture cropped tightly to its character has neither paper along its border nor
    in most neighbourhoods; its ink is told by its shape (`_tightly_cropped_ink`).
    """
    height, width = gray.shape
    band = max(1, round(0.03 * max(height, width)))
    border = np.concatenate(
        [gray[:band].ravel(), gray[-band:].ravel(), gray[:, :band].ravel(), gray[:, -band:].ravel()]
    )
    low, paper, high = quantiles(border, (0.1, 0.5, 0.9))
    if high - low < 0.15:
        darker, lighter = _ink_masses(gray, np.float32(paper))
    elif (tight := _tightly_cropped_ink(gray)) is not None:
        return tight
    elif (small := _small_cutout_ink(gray)) is not None:
        return small
    elif min(gray.shape) >= 16:
        grid, block = block_stat(gray, 8, 50)
        verdicts = []
        for size in (3, 5):
            median = ndimage.median_filter(grid, size=size, mode="nearest")
            darker, lighter = _ink_masses(gray, upsample(median, gray.shape, block))
            clarity = abs(math.log((darker + 1) / (lighter + 1)))
            verdicts.append((clarity, darker, lighter))
            if clarity > math.log(3):
                break
        _, darker, lighter = max(verdicts)
    else:
        darker, lighter = _ink_masses(gray, np.float32(quantiles(gray, (0.5,))[0]))
    return darker >= lighter


def _tightly_cropped_ink(gray: np.ndarray) -> bool | None:
    """Whether the ink is dark, for a picture cropped tightly to its character; None
    when the picture does not look like one.

    Split in two by Otsu's threshold (a cut-out is small and evenly lit), a character
    cropped to its ink shows its strokes as one part that touches all four edges where
    they end or turn, covering less than half of the picture's outline, and the ink is
    the smaller side (the paper is cut into pieces around and inside it). A fat character
    stretched to fill its box (a 16×16 scan) can cover as much of the picture as its
    paper or more: either side is then the ink when it is such a part, on half of the
    outline or less, and the other side is in pieces (corners and holes). Paper around
    a character is one part touching every edge, but all along the outline, as is the lit
    part of a page under a shadow or between dark corners: neither is taken for the ink.
    When the picture does not look so, the caller decides.
    """
    dark = gray < otsu(gray)[0]
    sides = {True: dark, False: ~dark}
    outline = {is_dark: _outline_share(side) for is_dark, side in sides.items()}
    parts: dict[bool, np.ndarray | None] = {}  # each side's main part, labelled once

    def part(is_dark: bool) -> np.ndarray | None:
        if is_dark not in parts:
            parts[is_dark] = _main_part(sides[is_dark])
        return parts[is_dark]

    def on_every_edge(is_dark: bool, most_of_outline: float) -> bool:
        """One part (the dot of an i aside) reaching all four edges, on less than
        `most_of_outline` of the outline."""
        if outline[is_dark] >= most_of_outline:
            return False
        main = part(is_dark)
        return main is not None and bool(
            main[0].any() and main[-1].any() and main[:, 0].any() and main[:, -1].any()
        )

    smaller = bool(np.count_nonzero(dark) < 0.5 * dark.size)  # whether it is the dark side
    if on_every_edge(smaller, 0.5):
        return smaller
    # Strokes along whole edges (the sides of an N or a U) cover more of the outline; they
    # are still the ink where they are thin, as no lit part of a page is.
    if on_every_edge(smaller, 0.8) and _thin(sides[smaller]):
        return smaller
    # Half the outline or less, against paper in pieces: either side may be the ink.
    for is_dark in (True, False):
        if on_every_edge(is_dark, 0.5 + 1e-6) and part(not is_dark) is None:
            return is_dark
    return None


def _small_cutout_ink(gray: np.ndarray) -> bool | None:
    """Whether the ink is dark, for a small cut-out (a box of a form, a scanned bitmap)
    whose character reaches some of its edges; None when the picture is not one.

    Its blocks are too coarse for a local median (a fat stroke fills them), but its ink
    is plain: the side of Otsu's split that is one part on less than a third of the
    outline (the paper holds the rest, cut into pieces where a stroke reaches an edge),
    even where a fat character covers more of the picture than its paper.
    """
    if max(gray.shape) >= SMALL_PICTURE:
        return None
    dark = gray < otsu(gray)[0]
    for side, is_dark in ((dark, True), (~dark, False)):
        if _outline_share(side) < 1 / 3 and _main_part(side) is not None:
            return is_dark
    return None


def _thin(side: np.ndarray) -> bool:
    """Whether `side` is strokes thinner than a fifth of the picture's shorter side."""
    width, _ = stroke_width(np.pad(side, 1))
    return width <= 0.2 * min(side.shape)


def _outline_share(side: np.ndarray) -> float:
    """The fraction of the picture's outline (its edge pixels) that `side` covers."""
    edges = (side[0], side[-1], side[1:-1, 0], side[1:-1, -1])
    return sum(int(np.count_nonzero(e)) for e in edges) / sum(e.size for e in edges)


def _main_part(side: np.ndarray) -> np.ndarray | None:
    """The biggest part of `side` if it holds nearly all of it (80%), else None."""
    labels, count = ndimage.label(side, structure=EIGHT_CONNECTED)
    if count == 0:
        return None
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    main = int(np.argmax(sizes))
    return labels == main if sizes[main] >= 0.8 * sizes.sum() else None


def _ink_masses(gray: np.ndarray, background: np.ndarray | np.float32) -> tuple[float, float]:
    """The masses of deviations darker and lighter than the paper, beyond its noise."""
    deviation = gray - background
    sample = deviation[::2, ::2]
    noise = 1.4826 * quantiles(np.abs(sample - quantiles(sample, (0.5,))[0]), (0.5,))[0]
    margin = max(0.03, 3 * noise)
    beyond = np.negative(deviation)
    beyond -= margin
    darker = float(np.maximum(beyond, 0, out=beyond).sum())
    np.subtract(deviation, margin, out=beyond)
    lighter = float(np.maximum(beyond, 0, out=beyond).sum())
    return darker, lighter


def _ink_map(paper: np.ndarray) -> np.ndarray:
    """How much ink each pixel holds, 0 (paper) to 1 (black), with the lighting divided out.

    `paper` is light with dark ink. Its brightness is a high percentile per block, closed
    (max then min over 5×5 blocks) so that blocks covered by ink take their neighbours'
    paper; when it varies by less than 8% the paper is taken as uniform. Where it varies,
    the blocks blur a hard shadow's edge into a band that looks like ink, so the paper is
    also measured finely (a closing of the picture a block wide: it follows the edge and
    fills every stroke thinner than a block) and the fine measure is taken wherever it
    is paper-like, i.e. not far darker than the coarse one (under a fat blot it is ink).
    """
    if min(paper.shape) >= 24:
        grid, block = block_stat(paper, 12, 90)
        # Grey closing on a grid extended linearly, so that a ramp stays a ramp at the edges.
        # A closing over 5×5 blocks fills an ink blot up to 4 blocks wide (a fat marker).
        grid = closing(extend(extend(grid)), 5)[2:-2, 2:-2]
        high = float(grid.max())
        if high - float(grid.min()) > 0.08 * high:
            coarse = np.maximum(upsample(grid, paper.shape, block), 0.02)
            background = _follow_edges(paper, coarse, block)
        else:
            background = np.float32(max(quantiles(grid, (0.5,))[0], 0.02))
    else:
        background = np.float32(max(quantiles(paper, (0.75,))[0], 0.02))
    ink = paper / background
    np.subtract(1, ink, out=ink)
    return np.clip(ink, 0, 1, out=ink)


def _follow_edges(paper: np.ndarray, coarse: np.ndarray, block: int) -> np.ndarray:
    """The coarse paper brightness, replaced by a fine one where that is paper-like.

    The fine one is a grey closing of the picture at half resolution over a block, so it
    costs little; under ink wider than a block it is the ink's level, far below the
    coarse estimate (ink is at most about 40% of the paper's brightness; a shadow
    darkens it less), and the coarse estimate stays there.
    """
    height, width = paper.shape
    half = Image.fromarray(paper, mode="F").resize(
        (max(1, width // 2), max(1, height // 2)), Image.Resampling.BOX
    )
    closed = ndimage.grey_closing(np.asarray(half), size=max(3, block // 2 + 1), mode="nearest")
    fine = np.asarray(
        Image.fromarray(closed, mode="F").resize((width, height), Image.Resampling.BILINEAR),
        dtype=np.float32,
    )
    return np.where(fine > 0.45 * coarse, np.maximum(fine, 0.02), coarse)
