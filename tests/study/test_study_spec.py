"""The study as YAML, its factors, and the statistics of paired folds (no training)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from charrec.errors import ConfigError
from charrec.evaluate.paired import paired_difference, score
from charrec.study.factors import FACTORS, factor_options
from charrec.study.spec import StudySpec, build_spec, parse_key_factor


def test_default_study_round_trips_and_resolves_every_option(tmp_path: Path) -> None:
    spec = build_spec("s", "mnist", None, folds=3, trial_epochs=2)
    path = tmp_path / "study.yaml"
    spec.to_yaml(path)
    again = StudySpec.from_yaml(path)
    assert again == spec
    arms = {arm.name: arm for arm in spec.arms}
    assert set(arms) == {"mlp", "cnn"}
    # Pooling is a CNN's factor only; every other factor is studied for both.
    assert [f.name for f in arms["cnn"].factors] == list(FACTORS)
    assert "pooling" not in [f.name for f in arms["mlp"].factors]
    # The resolved form spells each option's config keys out.
    activation = next(f for f in arms["mlp"].factors if f.name == "activation")
    assert activation.options["elu"] == {"model.options.activation": "elu"}
    # Model options are resolved, so an option equal to a default is the same candidate.
    assert arms["cnn"].base.model.options["activation"] == "relu"


def test_factor_sizes_depend_on_the_model() -> None:
    mlp = factor_options("size", "mlp")
    assert any(len(o["model.options.hidden"]) >= 3 for o in mlp.values())
    vgg = factor_options("size", "vgg")
    assert {o["model.options.depth"] for o in vgg.values()} == {1, 2}
    assert {o["model.options.width"] for o in factor_options("size", "keras-convnet").values()}


def test_short_forms_subset_and_any_key() -> None:
    spec = build_spec(
        "s",
        "mnist",
        [
            {"name": "activation", "options": ["relu", "tanh"]},
            parse_key_factor("optim.lr=[1e-3, 3e-3]"),
        ],
        {"mine": build_spec("x", "mnist", ["dropout"]).arms[0].base},
    )
    factors = spec.arms[0].factors
    assert list(factors[0].options) == ["relu", "tanh"]
    assert factors[1].options == {"0.001": {"optim.lr": 0.001}, "0.003": {"optim.lr": 0.003}}


@pytest.mark.parametrize(
    ("factors", "words"),
    [
        (["colour"], ["unknown factor 'colour'", "activation", "early-stopping"]),
        ([{"name": "activation", "options": ["relu", "swish"]}], ["swish", "leaky_relu"]),
        ([{"name": "activation", "options": ["relu"]}], ["single option", "relu"]),
        ([], ["explores no factor"]),
        ([parse_key_factor("optim.lr=[0.1]")], ["single option"]),
        ([parse_key_factor("optim.colour=[1, 2]")], ["unknown key 'colour'", "lr"]),
    ],
)
def test_bad_factors_are_one_clear_error(factors: list, words: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        build_spec("s", "mnist", factors)
    message = str(info.value)
    assert all(word in message for word in words), message


def test_too_few_folds_refused() -> None:
    with pytest.raises(ConfigError, match="at least 2 folds"):
        build_spec("s", "mnist", ["dropout"], folds=1)


def test_paired_difference_is_students_t_on_the_fold_differences() -> None:
    a, b = [0.95, 0.96, 0.955, 0.97], [0.90, 0.91, 0.905, 0.915]
    diff = np.subtract(a, b)
    low, high = stats.t.interval(0.95, len(diff) - 1, diff.mean(), stats.sem(diff))
    result = paired_difference(a, b, 1 / 4)
    assert result.mean == pytest.approx(diff.mean())
    assert (result.low, result.high) == (pytest.approx(low), pytest.approx(high))
    # Folds share training images: the corrected interval (Nadeau-Bengio) is wider.
    assert result.corrected_low < result.low and result.corrected_high > result.high
    assert result.significant
    assert not paired_difference([0.9, 0.8], [0.85, 0.85], 1 / 2).significant
    assert score([0.9, 0.8]).std == pytest.approx(np.std([0.9, 0.8], ddof=1))
