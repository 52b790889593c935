"""One factor at a time, decided from results alone (no training): the plan's choices."""

from __future__ import annotations

from pathlib import Path

from charrec.study.ofat import make_plan
from charrec.study.spec import build_spec, parse_key_factor


def _fill(plan, results, accuracy):
    """Finish the needed units with accuracy(unit) as validation accuracy."""
    for unit in plan.needed:
        results[unit.key] = {"val_accuracy": accuracy(unit), "train_time": 1.0}


def test_the_plan_walks_factors_in_order_keeping_the_best(tmp_path: Path) -> None:
    spec = build_spec(
        "s",
        "mnist",
        [parse_key_factor("optim.lr=[0.001, 0.01]"), {"name": "dropout", "options": ["0", "0.5"]}],
        {"mlp": build_spec("x", "mnist", ["dropout"]).arms[0].base},
        folds=2,
        trial_epochs=1,
    )
    results: dict = {}
    plan = make_plan(spec, tmp_path, results)
    # First the baseline, on both folds.
    assert [(u.factor, u.fold) for u in plan.needed] == [("baseline", 0), ("baseline", 1)]
    _fill(plan, results, lambda u: 0.80 + 0.01 * u.fold)
    plan = make_plan(spec, tmp_path, results)
    # lr 0.001 is the baseline's own value: its folds are already trained, not asked again.
    assert {(u.option, u.fold) for u in plan.needed} == {("0.01", 0), ("0.01", 1)}
    _fill(plan, results, lambda u: 0.85 + 0.01 * u.fold)
    plan = make_plan(spec, tmp_path, results)
    stage = plan.arms[0].stages[1]
    assert stage.chosen.label == "0.01"
    assert stage.chosen.vs_best.mean > 0.04
    # The dropout options are applied to the learning rate chosen before.
    assert {u.config.optim.lr for u in plan.needed} == {0.01}
    # Dropout 0 equals the configuration so far, so only 0.5 needs training.
    assert {u.option for u in plan.needed} == {"0.5"}
    _fill(plan, results, lambda u: 0.70)
    plan = make_plan(spec, tmp_path, results)
    assert plan.arms[0].stages[2].chosen.label == "0"
    # All stages done: the final models, baseline and final, on the whole training split.
    finals = {u.option: u for u in plan.needed}
    assert set(finals) == {"baseline", "final"}
    assert finals["final"].config.optim.lr == 0.01
    assert finals["final"].config.data.folds == 0 and finals["final"].config.data.evaluate_test
    assert not plan.complete
    _fill(plan, results, lambda u: 0.9)
    assert make_plan(spec, tmp_path, results).complete


def test_a_tie_keeps_the_configuration_so_far(tmp_path: Path) -> None:
    spec = build_spec(
        "s",
        "mnist",
        [parse_key_factor("optim.lr=[0.01, 0.001]")],
        {"mlp": build_spec("x", "mnist", ["dropout"]).arms[0].base},
        folds=2,
    )
    results: dict = {}
    for _ in range(2):
        plan = make_plan(spec, tmp_path, results)
        _fill(plan, results, lambda u: 0.5)
    stage = make_plan(spec, tmp_path, results).arms[0].stages[1]
    assert stage.chosen.label == "0.001"  # the base's learning rate, though listed second


def test_units_are_keyed_by_what_they_learn_not_where(tmp_path: Path) -> None:
    spec = build_spec("s", "mnist", ["dropout"], folds=2)
    here = make_plan(spec, tmp_path / "a", {}).needed
    there = make_plan(spec, tmp_path / "b", {}).needed
    assert [u.key for u in here] == [u.key for u in there]
    assert len({u.key for u in here}) == len(here)
    assert len({u.candidate for u in here if u.arm == "mlp"}) == 1
