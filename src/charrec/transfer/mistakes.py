"""The best strategy's held-out mistakes, and which of them every trained strategy shares.

A mistake every trained strategy makes on the same held-out image says more about the
image (a label its drawing hardly shows, a letter written like another) than about the
strategies; counting them tells how far above the best score any strategy could go with
these images. The gallery shows each mistake as the model saw it, its label and answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from charrec.transfer.run import TRAINED

# The gallery shows at most this many mistakes (the most confident first).
GALLERY = 48


@dataclass(frozen=True)
class HeldOutMistakes:
    """The mistakes of one candidate over the first repeat's held-out folds."""

    candidate: str
    images: np.ndarray  # (n, h, w) uint8, white ink on black, as the model saw them
    true_names: list[str]
    predicted_names: list[str]
    confidences: np.ndarray  # the probability of the answer (0 for a class outside)
    # True where every trained strategy got this image wrong on its fold.
    shared: np.ndarray
    # The trained strategies the sharing is counted over.
    trained: tuple[str, ...]
    held_out: int  # images held out over the folds

    @property
    def count(self) -> int:
        return len(self.true_names)

    def summary(self) -> dict[str, Any]:
        return {
            "candidate": self.candidate,
            "count": self.count,
            "held_out": self.held_out,
            "shared_by_every_trained": int(self.shared.sum()),
            "trained": list(self.trained),
            "pairs": _pair_counts(self.true_names, self.predicted_names),
        }


def _pair_counts(true_names: Sequence[str], predicted: Sequence[str]) -> list[list[Any]]:
    """[true, predicted, count] for each kind of mistake, the most frequent first."""
    counts: dict[tuple[str, str], int] = {}
    for pair in zip(true_names, predicted, strict=True):
        counts[pair] = counts.get(pair, 0) + 1
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [[t, p, n] for (t, p), n in ordered]


def held_out_mistakes(scores: Sequence[Any], candidate: str, plan: Any) -> HeldOutMistakes:
    """`candidate`'s wrong answers on every held-out fold of repeat 0, with their images."""
    from charrec.data.splits import stratified_kfold
    from charrec.transfer.compare import _target

    # The target is read and split once: each fold's held-out part, as run_one scored it.
    target = _target(plan)
    splits = stratified_kfold(target, plan.folds, 0)
    own = sorted(
        (s for s in scores if s.candidate == candidate and s.repeat == 0 and not s.per_class),
        key=lambda s: s.fold,
    )
    trained = tuple(dict.fromkeys(s.candidate for s in scores if s.candidate in TRAINED))
    images, true_names, predicted, confidences, shared = [], [], [], [], []
    held_out = 0
    classes = target.classes
    for score in own:
        fold = target.subset(splits[score.fold][1])
        held_out += len(fold)
        labels = np.asarray(score.labels)
        answers = np.asarray(score.predictions)
        wrong = np.flatnonzero(answers != labels)
        others = [
            np.asarray(s.predictions)
            for s in scores
            if s.candidate in trained and (s.repeat, s.fold, s.per_class) == (0, score.fold, None)
        ]
        probs = score.probs
        for i in wrong:
            images.append(fold.images[i])
            true_names.append(classes[labels[i]])
            inside = answers[i] < len(classes)
            predicted.append(classes[answers[i]] if inside else "other")
            confidences.append(float(probs[i, answers[i]]) if inside and probs is not None else 0)
            shared.append(bool(others) and all(p[i] != labels[i] for p in others))
    return HeldOutMistakes(
        candidate,
        np.asarray(images, dtype=np.uint8).reshape(-1, *target.image_shape),
        true_names,
        predicted,
        np.asarray(confidences, dtype=float),
        np.asarray(shared, dtype=bool),
        trained,
        held_out,
    )


def mistakes_figure(mistakes: HeldOutMistakes, path: Path) -> Path | None:
    """The gallery (most confident mistakes first); None when there is no mistake."""
    from charrec.evaluate.figures import image_grid

    if not mistakes.count:
        return None
    order = np.argsort(-mistakes.confidences, kind="stable")[:GALLERY]
    titles = [
        f"{mistakes.true_names[i]} read {mistakes.predicted_names[i]}\n"
        f"{100 * mistakes.confidences[i]:.0f}%" + (" · all" if mistakes.shared[i] else "")
        for i in order
    ]
    colours = ["#6a1b9a" if mistakes.shared[i] else "#c62828" for i in order]
    image_grid(
        mistakes.images[order],
        titles,
        path,
        columns=min(12, len(order)),
        title_colors=colours,
        suptitle=f"Held-out mistakes of {mistakes.candidate}",
    )
    return path
