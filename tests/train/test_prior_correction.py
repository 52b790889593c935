"""training.prior_correction: logit biases adjusted for the training prior after training."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

from charrec.errors import ConfigError
from charrec.models.layers import Classifier
from charrec.train.checkpoint import load_run
from charrec.train.prior import adjust_for_balanced_prior, class_shares, logits_layer


def test_shares_count_an_unseen_class_as_one_image() -> None:
    shares = class_shares(torch.tensor([0, 0, 0, 1]), 3)
    assert shares.tolist() == pytest.approx([3 / 5, 1 / 5, 1 / 5])


def test_adjustment_turns_a_frequency_tie_towards_the_rare_class() -> None:
    torch.manual_seed(0)
    head = nn.Linear(4, 2)
    model = Classifier(nn.Sequential(nn.Flatten(), nn.Linear(4, 4)), head)
    with torch.no_grad():
        head.weight.zero_()
        head.bias.copy_(torch.tensor([math.log(3.0), 0.0]))  # leans 3:1 towards class 0
    labels = torch.tensor([0] * 30 + [1] * 10)  # ...as often as training met it
    before = model(torch.zeros(1, 4))
    assert before.argmax(1).item() == 0
    shares = adjust_for_balanced_prior(model, labels, tau=1.0)
    assert shares == pytest.approx([0.75, 0.25])
    after = model(torch.zeros(1, 4)).softmax(1)
    assert after[0].tolist() == pytest.approx([0.5, 0.5], abs=1e-6)
    assert logits_layer(model) is head


def test_a_run_saves_the_adjusted_biases_and_says_so(run_tiny) -> None:
    plain = run_tiny()
    adjusted = run_tiny({"training.prior_correction": 1.0})
    meta = json.loads((adjusted.run_dir / "model.json").read_text())
    assert meta["prior_correction"]["tau"] == 1.0
    shares = torch.tensor(meta["prior_correction"]["train_shares"])
    assert shares.sum().item() == pytest.approx(1.0)
    # Same seed, same training: only the logit biases differ, by -log(share).
    a, _ = load_run(plain.run_dir)
    b, _ = load_run(adjusted.run_dir)
    bias_a, bias_b = logits_layer(a).bias, logits_layer(b).bias
    assert torch.allclose(bias_b, bias_a - shares.log().float(), atol=1e-5)
    assert torch.equal(logits_layer(a).weight, logits_layer(b).weight)
    assert "prior_correction" not in json.loads((plain.run_dir / "model.json").read_text())


@pytest.mark.parametrize("tau", [-0.5, 2.5])
def test_out_of_range_tau_is_refused(tiny_config, tau: float) -> None:
    with pytest.raises(ConfigError, match="prior_correction"):
        tiny_config({"training.prior_correction": tau}).validate()
