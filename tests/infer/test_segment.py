"""Cutting a line into characters: spaced, boxed, comb fields, touching pairs, dots of i,
specks, order and spaces (no model needed)."""

from __future__ import annotations

import numpy as np
from line_images import draw_line

from charrec.infer.segment import segment_line


def _mask(picture: np.ndarray) -> np.ndarray:
    return picture < 128


def _lefts(segmentation) -> list[int]:
    return [piece.box[2] for piece in segmentation.pieces]


def test_spaced_letters_come_left_to_right_with_the_word_space() -> None:
    found = segment_line(_mask(draw_line("LT HE")))
    assert len(found.pieces) == 4
    assert _lefts(found) == sorted(_lefts(found))
    assert found.spaces == [False, False, True, False]
    assert found.text(["L", "T", "H", "E"]) == "LT HE"
    assert not found.lines.any()


def test_letters_in_printed_boxes_lose_the_boxes_and_get_no_spaces() -> None:
    found = segment_line(_mask(draw_line("17171", boxes=True, gap=0.8)))
    assert len(found.pieces) == 5
    assert found.lines.any()
    assert not any(found.spaces)
    # Each piece is a character, not a box side: as tall as the letters, far narrower
    # than a box.
    for piece in found.pieces:
        top, bottom, left, right = piece.box
        assert 50 <= bottom - top <= 70 and right - left < 45


def test_a_comb_field_loses_its_teeth() -> None:
    found = segment_line(_mask(draw_line("LTLT", comb=True, gap=0.8)))
    assert len(found.pieces) == 4
    assert found.lines.any()


def test_touching_neighbours_are_cut_apart() -> None:
    # No gap: the foot of each L runs into the next letter.
    found = segment_line(_mask(draw_line("LLL", gap=0.0, width=0.8)))
    assert len(found.pieces) == 3
    assert found.wholes  # the pieces were cut from one wide piece
    widths = [p.box[3] - p.box[2] for p in found.pieces]
    assert max(widths) < 1.2 * 60


def test_the_dot_of_an_i_stays_with_its_stem() -> None:
    found = segment_line(_mask(draw_line("LiT")))
    assert len(found.pieces) == 3
    dotted = found.pieces[1]
    top, bottom, _, _ = dotted.box
    # The stem starts a third of the way down; with its dot, the piece is nearly full height.
    assert bottom - top > 0.85 * 60
    assert dotted.mask[:5].any()  # the dot is in the piece's mask


def test_specks_are_ignored() -> None:
    found = segment_line(_mask(draw_line("HELL", specks=25)))
    assert len(found.pieces) == 4


def test_no_ink_gives_no_pieces() -> None:
    found = segment_line(np.zeros((50, 200), dtype=bool))
    assert found.pieces == [] and found.spaces == []
