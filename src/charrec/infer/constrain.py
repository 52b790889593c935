"""What a field may hold, and the most probable reading that fits it.

    pattern = Pattern(r"\\d{5}")                   # a postcode
    words = WordList(["PARIS", "LONDON", "ROME"])  # a field with a few allowed answers
    indices = pattern.best(log_probs, classes, spaces)   # one class per position, or None

A pattern is a regular expression (literals, `.`, classes such as `[A-Z]` and `\\d \\w \\s`,
groups, `|`, and `? * + {n} {n,} {n,m}`) matched against the whole line, spaces between
words included as they were found (and, if that fails, against the characters alone).
It is compiled into a small automaton and searched with Viterbi over the per-position
log-probabilities: the answer is the most probable string the pattern accepts, exactly,
not a guess among a few candidates. A word list scores each allowed entry of the right
length by the same log-probabilities; with several words on the line, each word is
matched on its own when no entry fits the whole line.

For a model that merges the cases of letters (the shipped `letters`), both are accepted:
`[a-z]` allows class A.
"""

from __future__ import annotations

import itertools
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from charrec.errors import ConfigError

__all__ = ["Constraint", "Pattern", "WordList"]

_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_ESCAPES = {"d": frozenset("0123456789"), "w": _WORD, "s": frozenset(" \t")}


def _merged_case(classes: Sequence[str]) -> bool:
    """Whether the model's classes hold capitals but no lower-case letters (case merged)."""
    return any(c.isupper() for c in classes) and not any(c.islower() for c in classes)


def _class_index(classes: Sequence[str], merged: bool) -> dict[str, int]:
    """Each character a class stands for → the class's index."""
    index = {c: i for i, c in enumerate(classes)}
    if merged:
        index.update({c.lower(): i for i, c in enumerate(classes) if len(c) == 1})
    return index


class Constraint(ABC):
    """What a line may read; `best` gives the most probable reading that fits it."""

    @property
    @abstractmethod
    def description(self) -> str:
        """What the constraint is, in words, for reports."""

    @abstractmethod
    def best(
        self, log_probs: np.ndarray, classes: Sequence[str], spaces: Sequence[bool]
    ) -> list[int] | None:
        """The class index of each position (N×K `log_probs`, spaces before positions),
        or None when nothing of this length fits."""


# ---------------------------------------------------------------- word lists


@dataclass(frozen=True)
class WordList(Constraint):
    """Allowed answers: a whole line, or each word of it."""

    words: tuple[str, ...]

    def __init__(self, words: Iterable[str]) -> None:
        cleaned = tuple(dict.fromkeys(w.strip() for w in words if w.strip()))
        if not cleaned:
            raise ConfigError("the list of allowed words is empty")
        object.__setattr__(self, "words", cleaned)

    @property
    def description(self) -> str:
        shown = ", ".join(self.words[:5]) + (", …" if len(self.words) > 5 else "")
        return f"one of {len(self.words)} words ({shown})"

    def best(
        self, log_probs: np.ndarray, classes: Sequence[str], spaces: Sequence[bool]
    ) -> list[int] | None:
        index = _class_index(classes, _merged_case(classes))
        whole = self._best(log_probs, index)
        if whole is not None or not any(spaces):
            return whole
        # Several words and no entry fits the line: each word on its own.
        starts = [0, *[i for i, gap in enumerate(spaces) if gap], len(log_probs)]
        chosen: list[int] = []
        for start, stop in itertools.pairwise(starts):
            part = self._best(log_probs[start:stop], index)
            if part is None:
                return None
            chosen += part
        return chosen

    def _best(self, log_probs: np.ndarray, index: dict[str, int]) -> list[int] | None:
        length = len(log_probs)
        best, best_score = None, -np.inf
        for word in self.words:
            letters = word.replace(" ", "")
            if len(letters) != length:
                continue
            indices = [index.get(c) for c in letters]
            if any(i is None for i in indices):
                continue
            score = float(log_probs[np.arange(length), indices].sum())
            if score > best_score:
                best, best_score = indices, score
        return best  # type: ignore[return-value]


# ---------------------------------------------------------------- patterns


@dataclass(frozen=True)
class _Set:
    """A set of characters, or everything but them."""

    chars: frozenset[str]
    negated: bool = False

    def allows(self, classes: Sequence[str], merged: bool) -> np.ndarray:
        def one(label: str) -> bool:
            inside = label in self.chars or (merged and label.lower() in self.chars)
            return inside != self.negated

        return np.array([one(c) for c in classes], dtype=bool)


class _Parser:
    """Regular expression text → a tree: ("set", _Set), ("cat", [...]), ("alt", [...]),
    ("rep", node, low, high or None)."""

    def __init__(self, text: str) -> None:
        self.text, self.at = text, 0

    def parse(self) -> tuple:
        node = self._alternation()
        if self.at != len(self.text):
            raise self._error("unbalanced )")
        return node

    def _error(self, what: str) -> ConfigError:
        return ConfigError(f"pattern {self.text!r}: {what} at position {self.at}")

    def _peek(self) -> str | None:
        return self.text[self.at] if self.at < len(self.text) else None

    def _alternation(self) -> tuple:
        options = [self._sequence()]
        while self._peek() == "|":
            self.at += 1
            options.append(self._sequence())
        return options[0] if len(options) == 1 else ("alt", options)

    def _sequence(self) -> tuple:
        items = []
        while self._peek() not in (None, "|", ")"):
            items.append(self._quantified(self._atom()))
        return ("cat", items)

    def _atom(self) -> tuple:
        char = self.text[self.at]
        self.at += 1
        if char == "(":
            if self.text.startswith("?:", self.at):
                self.at += 2
            elif self._peek() == "?":
                raise self._error("only plain and (?:...) groups are supported")
            node = self._alternation()
            if self._peek() != ")":
                raise self._error("missing )")
            self.at += 1
            return node
        if char in "^$":
            return ("cat", [])  # the whole line is matched anyway
        if char == ".":
            return ("set", _Set(frozenset(), negated=True))
        if char == "[":
            return ("set", self._bracket())
        if char == "\\":
            return ("set", self._escape())
        if char in "*+?{":
            raise self._error(f"nothing to repeat before {char!r}")
        return ("set", _Set(frozenset(char)))

    def _escape(self) -> _Set:
        char = self._peek()
        if char is None:
            raise self._error("a pattern cannot end in \\")
        self.at += 1
        if char.lower() in _ESCAPES:
            return _Set(_ESCAPES[char.lower()], negated=char.isupper())
        if char.isalnum():
            raise self._error(f"escape \\{char} is not supported")
        return _Set(frozenset(char))

    def _bracket(self) -> _Set:
        negated = self._peek() == "^"
        self.at += negated
        chars: set[str] = set()
        first = True
        while True:
            char = self._peek()
            if char is None:
                raise self._error("missing ]")
            self.at += 1
            if char == "]" and not first:
                return _Set(frozenset(chars), negated)
            first = False
            if char == "\\":
                escaped = self._escape()
                if escaped.negated:
                    raise self._error("negated escapes inside [...] are not supported")
                chars |= escaped.chars
                continue
            ahead = self.text[self.at + 1 : self.at + 2]
            if self._peek() == "-" and ahead not in ("", "]"):
                end = self.text[self.at + 1]
                self.at += 2
                if ord(end) < ord(char):
                    raise self._error(f"bad range {char}-{end}")
                chars |= {chr(c) for c in range(ord(char), ord(end) + 1)}
            else:
                chars.add(char)

    def _quantified(self, node: tuple) -> tuple:
        char = self._peek()
        if char == "*":
            self.at += 1
            return ("rep", node, 0, None)
        if char == "+":
            self.at += 1
            return ("rep", node, 1, None)
        if char == "?":
            self.at += 1
            return ("rep", node, 0, 1)
        if char == "{":
            match = re.match(r"\{(\d+)(,(\d*))?\}", self.text[self.at :])
            if match is None:
                raise self._error("a repeat is written {n}, {n,} or {n,m}")
            self.at += match.end()
            low = int(match.group(1))
            high: int | None = low
            if match.group(2) is not None:
                high = int(match.group(3)) if match.group(3) else None
            if high is not None and high < low:
                raise self._error(f"repeat {{{low},{high}}} has its bounds the wrong way round")
            if max(low, high or 0) > 256:
                raise self._error("repeats are limited to 256")
            return ("rep", node, low, high)
        return node


class _Automaton:
    """Thompson's construction: states with epsilon edges and character-set edges."""

    def __init__(self) -> None:
        self.epsilon: list[list[int]] = []
        self.edges: list[tuple[int, _Set, int]] = []

    def state(self) -> int:
        self.epsilon.append([])
        return len(self.epsilon) - 1

    def build(self, node: tuple) -> tuple[int, int]:
        """(start, accept) of the fragment for `node`."""
        kind = node[0]
        start, accept = self.state(), self.state()
        if kind == "set":
            self.edges.append((start, node[1], accept))
        elif kind == "cat":
            current = start
            for item in node[1]:
                first, last = self.build(item)
                self.epsilon[current].append(first)
                current = last
            self.epsilon[current].append(accept)
        elif kind == "alt":
            for item in node[1]:
                first, last = self.build(item)
                self.epsilon[start].append(first)
                self.epsilon[last].append(accept)
        else:  # rep
            _, item, low, high = node
            current = start
            for _ in range(low):
                first, last = self.build(item)
                self.epsilon[current].append(first)
                current = last
            if high is None:
                first, last = self.build(item)
                self.epsilon[current] += [first, accept]
                self.epsilon[last] += [first, accept]
            else:
                for _ in range(high - low):
                    first, last = self.build(item)
                    self.epsilon[current] += [first, accept]
                    current = last
            self.epsilon[current].append(accept)
        return start, accept


@dataclass(frozen=True)
class Pattern(Constraint):
    """A regular expression the whole line must match."""

    text: str

    def __post_init__(self) -> None:
        try:
            re.compile(self.text)
        except re.error as exc:
            raise ConfigError(f"pattern {self.text!r} is not a regular expression: {exc}") from None
        automaton = _Automaton()
        start, accept = automaton.build(_Parser(self.text).parse())
        object.__setattr__(self, "_automaton", (automaton, start, accept))

    @property
    def description(self) -> str:
        return f"pattern {self.text}"

    def best(
        self, log_probs: np.ndarray, classes: Sequence[str], spaces: Sequence[bool]
    ) -> list[int] | None:
        merged = _merged_case(classes)
        if any(spaces):
            found = self._viterbi(log_probs, classes, merged, spaces)
            if found is not None:
                return found
        return self._viterbi(log_probs, classes, merged, [False] * len(log_probs))

    def _viterbi(
        self,
        log_probs: np.ndarray,
        classes: Sequence[str],
        merged: bool,
        spaces: Sequence[bool],
    ) -> list[int] | None:
        automaton, start, accept = self._automaton  # type: ignore[attr-defined]
        states = len(automaton.epsilon)
        allowed = [
            (source, edge.allows(classes, merged), edge.allows([" "], False)[0], target)
            for source, edge, target in automaton.edges
        ]
        # The tokens: a space (fixed) where one was found, then each character position.
        tokens: list[int | None] = []
        for position, gap in enumerate(spaces):
            if gap:
                tokens.append(None)
            tokens.append(position)
        score = np.full(states, -np.inf)
        score[start] = 0.0
        # back[step][state] = (previous state, class index or -1 for a space)
        back: list[dict[int, tuple[int, int]]] = []
        score = _closure(score, automaton.epsilon, {}, None)
        for token in tokens:
            new = np.full(states, -np.inf)
            pointers: dict[int, tuple[int, int]] = {}
            for source, mask, space_ok, target in allowed:
                if score[source] == -np.inf:
                    continue
                if token is None:
                    if not space_ok:
                        continue
                    value, label = score[source], -1
                else:
                    if not mask.any():
                        continue
                    row = np.where(mask, log_probs[token], -np.inf)
                    label = int(np.argmax(row))
                    value = score[source] + row[label]
                if value > new[target]:
                    new[target] = value
                    pointers[target] = (source, label)
            score = _closure(new, automaton.epsilon, pointers, True)
            back.append(pointers)
            if not np.isfinite(score).any():
                return None
        if score[accept] == -np.inf:
            return None
        chosen: list[int] = []
        state = accept
        for pointers in reversed(back):
            state, label = pointers[state]
            if label >= 0:
                chosen.append(label)
        return chosen[::-1]


def _closure(
    score: np.ndarray,
    epsilon: list[list[int]],
    pointers: dict[int, tuple[int, int]],
    follow: bool | None,
) -> np.ndarray:
    """Scores spread along epsilon edges (free); each state reached keeps the back pointer
    of the state it was reached from, so a path can be followed back through them."""
    score = score.copy()
    stack = [int(s) for s in np.flatnonzero(np.isfinite(score))]
    while stack:
        state = stack.pop()
        for target in epsilon[state]:
            if score[state] > score[target]:
                score[target] = score[state]
                if follow and state in pointers:
                    pointers[target] = pointers[state]
                stack.append(target)
    return score
