"""The best strategy's held-out mistakes: which ones, their images, which every strategy shares."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from charrec.transfer.compare import Candidate, Plan, Score, _held_out
from charrec.transfer.mistakes import held_out_mistakes, mistakes_figure


def _score(name: str, fold: int, labels: np.ndarray, predictions: list[int]) -> Score:
    probs = np.full((len(labels), 3), 0.1)
    probs[np.arange(len(labels)), np.minimum(predictions, 2)] = 0.8
    return Score(name, 0, fold, None, 0.0, 0.0, "", labels.tolist(), predictions, probs)


def test_mistakes_are_the_candidates_and_shared_ones_are_marked(tmp_path: Path, bad_folder) -> None:
    target = bad_folder("ABC", 4)
    plan = Plan("letters", str(target), tmp_path, [Candidate("top-blocks", "top-blocks")], 2)
    labels = [_held_out(plan, 0, fold).labels for fold in (0, 1)]
    assert [len(x) for x in labels] == [6, 6]
    wrong_all = (labels[0] + 1) % 3  # every answer wrong
    # top-blocks misses images 0 and 1 of fold 0 (1 with a class outside the target's)
    # and image 5 of fold 1; finetune misses 0 of fold 0 and 5 of fold 1 too, so those
    # two are shared by every trained strategy.
    top0 = labels[0].tolist()
    top0[0], top0[1] = int(wrong_all[0]), 3
    top1 = labels[1].tolist()
    top1[5] = int((labels[1][5] + 1) % 3)
    fine0 = labels[0].tolist()
    fine0[0] = int(wrong_all[0])
    fine1 = top1.copy()
    scores = [
        _score("zero-shot", 0, labels[0], wrong_all.tolist()),  # not trained: not counted
        _score("top-blocks", 0, labels[0], top0),
        _score("finetune", 0, labels[0], fine0),
        _score("top-blocks", 1, labels[1], top1),
        _score("finetune", 1, labels[1], fine1),
    ]
    mistakes = held_out_mistakes(scores, "top-blocks", plan)
    assert mistakes.count == 3 and mistakes.held_out == 12
    assert mistakes.shared.tolist() == [True, False, True]
    assert mistakes.predicted_names[1] == "other" and mistakes.confidences[1] == 0
    assert mistakes.true_names[0] == "ABC"[labels[0][0]]
    np.testing.assert_array_equal(mistakes.images[2], _held_out(plan, 0, 1).images[5])
    summary = mistakes.summary()
    assert summary["shared_by_every_trained"] == 2
    assert summary["trained"] == ["top-blocks", "finetune"]
    assert sum(n for _, _, n in summary["pairs"]) == 3
    assert mistakes_figure(mistakes, tmp_path / "m.png") == tmp_path / "m.png"


def test_no_mistakes_no_gallery(tmp_path: Path, bad_folder) -> None:
    target = bad_folder("ABC", 4)
    plan = Plan("letters", str(target), tmp_path, [Candidate("top-blocks", "top-blocks")], 2)
    scores = [
        _score("top-blocks", f, _held_out(plan, 0, f).labels, _held_out(plan, 0, f).labels.tolist())
        for f in (0, 1)
    ]
    mistakes = held_out_mistakes(scores, "top-blocks", plan)
    assert mistakes.count == 0 and mistakes.images.shape == (0, 28, 28)
    assert mistakes_figure(mistakes, tmp_path / "m.png") is None
    assert not (tmp_path / "m.png").exists()
