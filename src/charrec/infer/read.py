"""Reading a line of handprinted characters: a word, a code, a form field.

    reading = charrec.load("letters").read("name.jpg")
    reading.text                      # "JOHN SMITH"
    reading.characters[0].top         # [("J", 0.97), ("I", 0.02), ...]
    charrec.load("digits").read("zip.png", constraint=Pattern(r"\\d{5}")).constrained

The picture is decoded at a larger working size than a lone character's (a line is wide),
its polarity and lighting are found and its ink thresholded by the same steps as a
single character (`charrec.infer.preprocess`), the ink is cut into characters
(`charrec.infer.segment`), and each character is framed into 28×28 by the recognizer's
own preprocessor and recognised in one batch. An optional constraint
(`charrec.infer.constrain`) picks the most probable reading that fits it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from charrec.errors import ConfigError
from charrec.infer.case import CaseAnswer
from charrec.infer.constrain import Constraint
from charrec.infer.imageio import BlankImageError, ImageError, ImageSource, decode
from charrec.infer.ink import ink_map, ink_mask, without_rules
from charrec.infer.preprocess import Preprocessor
from charrec.infer.recognizer import DEFAULT_MAX_CHARS
from charrec.infer.segment import Piece, Segmentation, segment_line

if TYPE_CHECKING:
    from charrec.infer.recognizer import Recognizer

__all__ = ["DEFAULT_MAX_CHARS", "LineTooLongError", "ReadCharacter", "Reading", "read_line"]

# The longest side a line is read at: a 10-character line keeps characters 60-90 pixels
# tall, as the single-character path's 256 does for one.
WORK_SIZE = 1024
# Paper around a character when it is cut out for framing (the redraw reads 2 beyond it).
_MARGIN = 3


class LineTooLongError(ImageError):
    """A line with more characters than allowed."""


@dataclass(frozen=True)
class ReadCharacter:
    """One character of a line: the answer, the top guesses, where it is, what was seen."""

    label: str
    confidence: float
    top: list[tuple[str, float]]
    # (left, top, right, bottom) in the source picture's pixels, right and bottom exclusive.
    box: tuple[int, int, int, int]
    # The 28×28 uint8 input the model saw (white ink on black).
    seen: np.ndarray = field(repr=False)
    # A space between words comes before this character.
    space_before: bool = False
    # The answer under the constraint (None without one, or when nothing fits).
    constrained: str | None = None
    # For a model that keeps upper and lower case apart: the letter (its two cases summed)
    # and its case, as `Prediction.merged`; None for a model without case.
    merged: CaseAnswer | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "label": self.label,
            "confidence": self.confidence,
            "top": [{"label": label, "probability": p} for label, p in self.top],
            "box": list(self.box),
            "space_before": self.space_before,
        }
        if self.constrained is not None:
            data["constrained"] = self.constrained
        if self.merged is not None:
            data["merged"] = self.merged.to_dict()
        return data


@dataclass(frozen=True)
class Reading:
    """What was read in one picture of a line."""

    source: str
    # The most probable character at each position, with the spaces between words.
    text: str
    characters: list[ReadCharacter]
    # "dark-on-light" or "light-on-dark".
    polarity: str
    # The reading under the constraint; None without one or when nothing fits it.
    constrained: str | None = None
    # What the constraint was, in words (None without one).
    constraint: str | None = None
    # How the line was cut (for --explain), at the working scale.
    segmentation: Segmentation | None = field(default=None, repr=False)
    # Source pixels per working pixel (x, y), and the working gray picture.
    scale: tuple[float, float] = (1.0, 1.0)
    gray: np.ndarray | None = field(default=None, repr=False)

    @property
    def confidence(self) -> float:
        """The probability of the whole reading: the product of its characters'."""
        return float(math.prod(c.confidence for c in self.characters))

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "source": self.source,
            "text": self.text,
            "confidence": self.confidence,
            "polarity": self.polarity,
            "characters": [c.to_dict() for c in self.characters],
        }
        if self.constraint is not None:
            data["constraint"] = self.constraint
            data["constrained"] = self.constrained
            data["constraint_met"] = self.constrained is not None
        return data


def _frame(preprocessor: Preprocessor, ink: np.ndarray, piece: Piece) -> np.ndarray:
    """The 28×28 input of one piece of the line's ink map."""
    height, width = ink.shape
    top, bottom, left, right = piece.box
    y0, y1 = max(top - _MARGIN, 0), min(bottom + _MARGIN, height)
    x0, x1 = max(left - _MARGIN, 0), min(right + _MARGIN, width)
    mask = np.zeros((y1 - y0, x1 - x0), dtype=bool)
    mask[top - y0 : bottom - y0, left - x0 : right - x0] = piece.mask
    return preprocessor.frame(ink[y0:y1, x0:x1], mask)


def uncalibrated_top(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Each row's top probability as the model gave it before temperature scaling.

    A calibrated model answers softmax(z / T); raised to the power T and normalised, that
    is softmax(z) again. The whole-or-parts decision compares these, so calibrating a
    model, which changes no single answer, changes no reading either.
    """
    with np.errstate(divide="ignore"):
        scaled = temperature * np.log(probs.astype(np.float64))
    scaled -= scaled.max(axis=1, keepdims=True)
    return 1.0 / np.exp(scaled).sum(axis=1)


def read_line(
    recognizer: Recognizer,
    source: ImageSource,
    *,
    top_k: int = 3,
    constraint: Constraint | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
    name: str | None = None,
) -> Reading:
    """Read the line of characters in one picture (see the module docstring).

    Raises ImageError for a picture that cannot be read, BlankImageError when it holds no
    character, LineTooLongError when it holds more than `max_chars`.
    """
    if isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 1:
        raise ConfigError(f"max_chars must be a positive whole number, got {max_chars!r}")
    top_k = recognizer.check_top_k(top_k)
    preprocessor = recognizer.preprocessor
    cfg = preprocessor.config
    decoded = decode(source, WORK_SIZE, max_pixels=cfg.max_pixels, name=name)
    name = decoded.name
    if min(decoded.gray.shape) < 8:
        width, height = decoded.source_size
        raise ImageError(f"{name}: image is {width}×{height} pixels, too small to hold a line")
    ink, polarity = ink_map(decoded.gray)
    found = ink_mask(ink, cfg.min_contrast, rules=False)
    if isinstance(found, str):
        raise BlankImageError(f"{name}: no characters found ({found})")
    # The faint rules of lined paper go as for one character; the segmentation is told
    # where they were, since comb teeth and box sides stand on them.
    raw = found[0]
    cleaned = without_rules(raw, ink)
    segmentation = segment_line(cleaned, ruled=None if cleaned is raw else raw & ~cleaned)
    pieces = segmentation.pieces
    if not pieces:
        raise BlankImageError(f"{name}: no characters found (only specks or printed lines)")
    if len(pieces) > max_chars:
        raise LineTooLongError(
            f"{name}: found {len(pieces)} characters, more than the limit of {max_chars} "
            "(read one line at a time, or raise the limit)"
        )
    # The wide pieces that were cut are recognised whole too, in the same batch.
    wholes = list(segmentation.wholes.items())
    framed = [_frame(preprocessor, ink, p) for p in [*pieces, *(w for _, w in wholes)]]
    every = recognizer.predict_arrays(np.stack(framed))
    seen, probs = framed[: len(pieces)], every[: len(pieces)]
    for (number, _), whole_probs, whole_seen in zip(
        wholes, every[len(pieces) :], framed[len(pieces) :], strict=True
    ):
        # Kept whole when it reads better as one character than its parts do on average
        # (geometric mean): a wide W or M, not two letters that touch.
        parts = [i for i, p in enumerate(segmentation.pieces) if p.cut_from == number]
        whole_top = uncalibrated_top(whole_probs[None], recognizer.temperature)[0]
        parts_top = uncalibrated_top(probs[parts], recognizer.temperature)
        if whole_top > float(np.exp(np.log(parts_top).mean())):
            first = parts[0]
            keep = [i for i in range(len(probs)) if i not in parts[1:]]
            probs = np.concatenate([probs[:first], whole_probs[None], probs[first + 1 :]])[keep]
            seen = [*seen[:first], whole_seen, *seen[first + 1 :]]
            seen = [seen[i] for i in keep]
            segmentation = segmentation.joined(number)
    pieces = segmentation.pieces
    classes = recognizer.classes
    sx, sy = decoded.scale
    src_w, src_h = decoded.source_size
    case = recognizer.case_reading
    chosen = None
    if constraint is not None:
        with np.errstate(divide="ignore"):
            log_probs = np.log(probs.astype(np.float64))
        chosen = constraint.best(log_probs, classes, segmentation.spaces)
    characters = []
    for index, (piece, p, image) in enumerate(zip(pieces, probs, seen, strict=True)):
        order = np.argsort(-p, kind="stable")[:top_k]
        top_list = [(classes[i], float(p[i])) for i in order]
        top, bottom, left, right = piece.box
        box = (
            max(0, math.floor(left * sx)),
            max(0, math.floor(top * sy)),
            min(src_w, math.ceil(right * sx)),
            min(src_h, math.ceil(bottom * sy)),
        )
        characters.append(
            ReadCharacter(
                label=top_list[0][0],
                confidence=top_list[0][1],
                top=top_list,
                box=box,
                seen=image,
                space_before=segmentation.spaces[index],
                constrained=classes[chosen[index]] if chosen is not None else None,
                merged=None if case is None else case.answer(p),
            )
        )
    labels = [c.label for c in characters]
    constrained = segmentation.text([classes[i] for i in chosen]) if chosen is not None else None
    return Reading(
        source=name,
        text=segmentation.text(labels),
        characters=characters,
        polarity=polarity,
        constrained=constrained,
        constraint=constraint.description if constraint is not None else None,
        segmentation=segmentation,
        scale=(sx, sy),
        gray=decoded.gray,
    )
