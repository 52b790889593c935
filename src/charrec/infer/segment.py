"""A line of handprinted characters → one mask per character, left to right, with spaces.

Works on the binary ink mask of a whole line (`preprocess.ink_mask`), in four steps:

1. Printed boxes and comb fields: long thin horizontal runs of ink (far longer than the
   line is tall) are rules; once they are found, the thin straight vertical strokes that
   touch them (box sides, comb teeth) go too. Handwriting is never that straight or long.
2. Components: 8-connected, parts less than two pixels apart counting as one (chalk and
   dry pens break strokes into grains). Pieces standing over one another belong together:
   a small part (the dot of i or j, a broken-off stroke) joins the tall one below or above
   it whose centre is nearest; tall parts that overlap mostly are one character.
   Small parts that stand alone are specks or punctuation and are dropped.
3. Touching neighbours: a piece much wider than the line is tall is cut where the ink is
   thinnest (the column profile's minimum) near where an even split would cut it.
4. Spaces: a gap wider than half the line's height and than twice the usual gap between
   letters is a space between words. In boxes or on a comb each cell holds one character
   (none is cut), and only an empty cell makes a space.

Everything is NumPy and scipy.ndimage over whole arrays; the only Python loops are over
components (a few dozen), never over pixels.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = ["Piece", "Segmentation", "segment_line"]

_EIGHT = np.ones((3, 3), dtype=bool)
# A rule is at least this many times as long as the ink left without it is tall.
RULE_LENGTH = 1.5
# Parts shorter and narrower than this fraction of the line height are small (dots, specks).
SMALL = 0.35
# A piece wider than this many times its height holds touching characters.
TOUCHING = 1.25
# The usual width of a character, as a fraction of the line height, to count the cuts.
CHAR_WIDTH = 0.75


@dataclass(frozen=True)
class Piece:
    """One character: its box in the mask (top, bottom, left, right; exclusive ends) and its
    pixels within that box."""

    box: tuple[int, int, int, int]
    mask: np.ndarray
    # Pieces cut from one wide piece share its number here (-1: not cut).
    cut_from: int = -1


@dataclass(frozen=True)
class Segmentation:
    """The characters of a line, left to right, and what was found on the way."""

    pieces: list[Piece]
    # spaces[i]: a space between words comes before pieces[i] (spaces[0] is always False).
    spaces: list[bool]
    # The line's character height in pixels (the median height of its tall parts).
    height: float
    # Pixels removed as printed rules, box sides and comb teeth.
    lines: np.ndarray
    # The wide pieces that were cut, by number (`Piece.cut_from`): a reader may keep one
    # whole when it reads better as one character (a wide W or M) than as its parts.
    wholes: dict[int, Piece] = field(default_factory=dict)

    def joined(self, number: int) -> Segmentation:
        """This segmentation with the pieces cut from `wholes[number]` put back as one."""
        whole = self.wholes[number]
        pieces, spaces, placed = [], [], False
        for piece, space in zip(self.pieces, self.spaces, strict=True):
            if piece.cut_from != number:
                pieces.append(piece)
                spaces.append(space)
            elif not placed:
                pieces.append(whole)
                spaces.append(space)
                placed = True
        wholes = {k: v for k, v in self.wholes.items() if k != number}
        return Segmentation(pieces, spaces, self.height, self.lines, wholes)

    def text(self, labels: list[str]) -> str:
        """The labels of the pieces joined, with the spaces between words."""
        pairs = zip(self.spaces, labels, strict=True)
        return "".join((" " if gap else "") + label for gap, label in pairs)


def segment_line(mask: np.ndarray, ruled: np.ndarray | None = None) -> Segmentation:
    """Cut the ink `mask` (H×W bool) of one line of text into its characters.

    `ruled`: pixels already taken out of the mask as printed rules (the faint lines of
    lined paper, `preprocess.without_rules`); teeth and box sides standing on them go too.
    """
    mask = np.asarray(mask, dtype=bool)
    ruled = np.zeros_like(mask) if ruled is None else np.asarray(ruled, dtype=bool)
    lines = _box_lines(mask, ruled)
    ink = mask & ~lines if lines.any() else mask
    boxes, labels, sizes = _components(ink)
    if not boxes:
        return Segmentation([], [], 0.0, lines)
    heights = np.array([b[1] - b[0] for b in boxes], dtype=float)
    tall = sizes >= 0.2 * sizes.max()
    height = float(np.median(heights[tall]))
    groups = _groups(boxes, height)
    pieces: list[Piece] = []
    wholes: dict[int, Piece] = {}
    for members in groups:
        piece = _piece(labels, boxes, members)
        top, bottom, left, right = piece.box
        # Alone and small, or flat: a speck, a dash or a leftover of a rule.
        if max(bottom - top, right - left) < SMALL * height or bottom - top < 0.2 * height:
            continue
        # In printed boxes or on a comb each cell holds one character: nothing to cut.
        parts = [piece] if lines.any() else _split(piece, height)
        if len(parts) > 1:
            number = len(wholes)
            wholes[number] = piece
            parts = [replace(part, cut_from=number) for part in parts]
        pieces.extend(parts)
    pieces.sort(key=lambda p: (p.box[2] + p.box[3]) / 2)
    spaces = _cell_spaces(pieces) if lines.any() else _spaces(pieces, height)
    return Segmentation(pieces, spaces, height, lines, wholes)


# ---------------------------------------------------------------- boxes and combs


def _runs(mask: np.ndarray, length: int, axis: int) -> np.ndarray:
    """The pixels of `mask` on straight runs along `axis` at least `length` long (90% ink:
    a printed line broken here and there by the threshold still counts)."""
    covered = ndimage.uniform_filter1d(mask.astype(np.float32), length, axis=axis) >= 0.9
    if not covered.any():
        return covered
    return mask & ndimage.maximum_filter1d(covered, length, axis=axis)


def _box_lines(mask: np.ndarray, ruled: np.ndarray) -> np.ndarray:
    """The printed rules of boxes and comb fields, with the box sides and teeth on them
    (and the rules already removed, `ruled`, so that the sides on them go too)."""
    cols = np.flatnonzero(mask.any(axis=0))
    none = ruled
    if cols.size == 0:
        return none
    width = int(cols[-1] - cols[0] + 1)
    dark = _runs(mask, max(8, width // 2), axis=1)
    rest = mask & ~dark
    rows = np.flatnonzero(rest.any(axis=1))
    rest_height = rows[-1] - rows[0] + 1 if rows.size else 0
    if dark.any():
        dark_cols = np.flatnonzero(dark.any(axis=0))
        if dark_cols[-1] - dark_cols[0] + 1 < RULE_LENGTH * rest_height:
            dark = np.zeros_like(mask)  # long bars of the characters (a lone E), not rules
            rest = mask
    rules = dark | ruled
    if not rules.any():
        return none
    # The rules' thickness: the median run of rule rows.
    rule_rows = rules.any(axis=1)
    starts = np.flatnonzero(rule_rows & ~np.r_[False, rule_rows[:-1]])
    ends = np.flatnonzero(rule_rows & ~np.r_[rule_rows[1:], False])
    thick = float(np.median(ends - starts + 1))
    # Boxes are dark rules above and below; the faint rules of lined paper are not boxes.
    dark_rows = dark.any(axis=1)
    dark_starts = np.flatnonzero(dark_rows & ~np.r_[False, dark_rows[:-1]])
    dark_ends = np.flatnonzero(dark_rows & ~np.r_[dark_rows[1:], False])
    # Box sides and comb teeth: thin, straight, vertical, touching a rule.
    labels, count = ndimage.label(rest, structure=_EIGHT)
    sides = np.zeros(count + 1, dtype=bool)
    teeth = 0
    if count:
        touching = np.zeros(count + 1, dtype=bool)
        touching[np.unique(labels[ndimage.binary_dilation(rules, _EIGHT) & rest])] = True
        found = ndimage.find_objects(labels)
        sizes = np.bincount(labels.ravel(), minlength=count + 1)
        for index in np.flatnonzero(touching[1:]) + 1:
            rows_slice, cols_slice = found[index - 1]
            tall = rows_slice.stop - rows_slice.start
            wide = cols_slice.stop - cols_slice.start
            # As thin as the rules (a printed line), and at least as tall as several of them.
            sides[index] = (
                wide <= 2 * thick + 2 and sizes[index] <= (thick + 1.5) * tall and tall >= 3 * thick
            )
            teeth += bool(sides[index] and tall <= 0.6 * rest_height)
    # Boxes have rules above and below the characters; a comb has one, with short teeth.
    # One long bar with full-height strokes on it is handwriting (touching Ls, a T's top).
    boxed = len(dark_starts) >= 2 and dark_starts[-1] - dark_ends[0] >= 0.5 * rest_height
    if not boxed and teeth < 2:
        return none
    return rules | sides[labels]


# ---------------------------------------------------------------- components and groups


def _components(
    ink: np.ndarray,
) -> tuple[list[tuple[int, int, int, int]], np.ndarray, np.ndarray]:
    """(boxes, labels, sizes) of the ink's parts; parts under 2 pixels apart are one."""
    grown = ndimage.binary_dilation(ink, _EIGHT)
    labels, count = ndimage.label(grown, structure=_EIGHT)
    labels[~ink] = 0
    sizes = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    boxes = [
        (s[0].start, s[0].stop, s[1].start, s[1].stop) if s is not None else (0, 0, 0, 0)
        for s in ndimage.find_objects(labels, max_label=count)
    ]
    # A label whose pixels were all bridges of the dilation has no ink: its box is empty
    # and its size 0, and it is skipped when parts are grouped.
    return boxes, labels, sizes


def _groups(boxes: list[tuple[int, int, int, int]], height: float) -> list[list[int]]:
    """The parts that make one character each, as lists of label indices (0-based)."""
    box = np.array(boxes, dtype=float).reshape(-1, 4)
    top, bottom, left, right = box.T
    n = len(box)
    exists = (bottom > top) & (right > left)
    widths = np.maximum(right - left, 1)
    centre = (left + right) / 2
    overlap = np.minimum(right[:, None], right[None, :]) - np.maximum(left[:, None], left[None, :])
    small = exists & ((bottom - top) < SMALL * height * 1.5) & (widths < SMALL * height * 1.5)
    big = exists & ~small
    narrower = np.minimum(widths[:, None], widths[None, :])
    # Tall parts that overlap mostly: one character broken in two.
    join = big[:, None] & big[None, :] & (overlap >= 0.6 * narrower)
    # A small part joins the tall one over or under it whose centre is nearest its own.
    above_below = big[None, :] & small[:, None] & (overlap >= 0.5 * widths[:, None])
    distance = np.where(above_below, np.abs(centre[:, None] - centre[None, :]), np.inf)
    gap = np.maximum(top[None, :] - bottom[:, None], top[:, None] - bottom[None, :])
    distance[gap > height] = np.inf  # too far above or below to belong
    nearest = np.argmin(distance, axis=1)
    has = np.isfinite(distance[np.arange(n), nearest])
    rows = np.r_[np.flatnonzero(join.ravel()) // max(n, 1), np.flatnonzero(has)]
    cols = np.r_[np.flatnonzero(join.ravel()) % max(n, 1), nearest[has]]
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    _, group = connected_components(graph, directed=False)
    members: dict[int, list[int]] = {}
    for index in np.flatnonzero(exists):
        members.setdefault(int(group[index]), []).append(int(index))
    return list(members.values())


def _piece(labels: np.ndarray, boxes: list[tuple[int, int, int, int]], members: list[int]) -> Piece:
    """The character made of the parts `members`: their joint box and pixels."""
    top = min(boxes[m][0] for m in members)
    bottom = max(boxes[m][1] for m in members)
    left = min(boxes[m][2] for m in members)
    right = max(boxes[m][3] for m in members)
    window = labels[top:bottom, left:right]
    return Piece((top, bottom, left, right), np.isin(window, np.asarray(members) + 1))


# ---------------------------------------------------------------- touching neighbours


def _split(piece: Piece, height: float) -> list[Piece]:
    """A piece cut into the characters it holds, where its column profile is thinnest."""
    top, bottom, left, right = piece.box
    width = right - left
    tall = max(bottom - top, 0.6 * height)
    if width <= TOUCHING * tall:
        return [piece]
    count = max(2, round(width / (CHAR_WIDTH * max(tall, height))))
    profile = piece.mask.sum(axis=0).astype(float)
    step = width / count
    reach = max(1, round(0.3 * step))
    cuts = [0]
    for k in range(1, count):
        expected = round(k * step)
        lo, hi = max(cuts[-1] + 1, expected - reach), min(width - 1, expected + reach)
        if hi <= lo:
            continue
        # Thinnest ink, ties and near-ties broken towards the even split.
        window = profile[lo:hi] + 0.1 * np.abs(np.arange(lo, hi) - expected) / reach
        cuts.append(lo + int(np.argmin(window)))
    cuts.append(width)
    out = []
    for start, stop in itertools.pairwise(cuts):
        part = piece.mask[:, start:stop]
        rows = np.flatnonzero(part.any(axis=1))
        if rows.size == 0:
            continue
        cols = np.flatnonzero(part.any(axis=0))
        trimmed = part[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        box = (
            top + int(rows[0]),
            top + int(rows[-1]) + 1,
            left + start + int(cols[0]),
            left + start + int(cols[-1]) + 1,
        )
        out.append(Piece(box, trimmed))
    return out


# ---------------------------------------------------------------- spaces


def _cell_spaces(pieces: list[Piece]) -> list[bool]:
    """Spaces in a boxed field: an empty cell, i.e. centres much farther apart than usual
    (the width of each character says nothing there)."""
    if len(pieces) < 2:
        return [False] * len(pieces)
    centres = np.array([(p.box[2] + p.box[3]) / 2 for p in pieces])
    steps = np.diff(centres)
    return [False, *(bool(step > 1.6 * np.median(steps)) for step in steps)]


def _spaces(pieces: list[Piece], height: float) -> list[bool]:
    """Whether a space between words comes before each piece (see the module docstring)."""
    if len(pieces) < 2:
        return [False] * len(pieces)
    lefts = np.array([p.box[2] for p in pieces[1:]])
    rights = np.maximum.accumulate(np.array([p.box[3] for p in pieces[:-1]]))
    gaps = lefts - rights
    usual = float(np.median(np.maximum(gaps, 0)))
    threshold = max(0.5 * height, min(2.0 * usual, 0.9 * height))
    return [False, *(bool(g > threshold) for g in gaps)]
