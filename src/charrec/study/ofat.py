"""One factor at a time: what to train next, and what was chosen, from the results so far.

`make_plan(spec, out, results)` is a pure function of the study and of the finished
units' results. For each arm it walks the stages in order: the baseline, then each
factor, whose options are applied to the best configuration so far; a stage whose units
are all finished picks its best option (highest mean validation accuracy over the folds;
the configuration so far stays when nothing beats it) and the walk goes on; the first
stage with unfinished units stops it and names those units as the work to do now. When
every stage is done, the final models are trained on the whole training split and tested
once: the baseline's configuration and the final one.

Since every worker derives the same plan from the same results, any number of workers on
any number of machines can share a study through its storage (charrec.study.worker).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from charrec.evaluate.paired import PairedDifference, Score, paired_difference, score
from charrec.study.spec import Arm, StudySpec, with_resolved_model
from charrec.train.config import TrainConfig, apply_overrides

BASELINE = "baseline"
FINAL = "final"
# Config keys that say where or how fast a run trains, not what it learns; keep_snapshots
# (what a run folder keeps) too, so studies begun before it existed keep their identities.
_NOT_IDENTITY = (
    "run.out",
    "data.data_dir",
    "training.num_threads",
    "training.device",
    "training.keep_snapshots",
)


@dataclass(frozen=True)
class Unit:
    """One training run of a study: a candidate on one fold, or a final model."""

    arm: str
    stage: int
    factor: str
    option: str
    config: TrainConfig
    # What the run learns (its config without its folder or thread count)...
    key: str
    # ...and the same without the fold: the folds of one candidate share it.
    candidate: str
    fold: int | None

    def attrs(self) -> dict[str, Any]:
        """What a storage trial records about the unit."""
        return {
            "unit": self.key,
            "candidate": self.candidate,
            "arm": self.arm,
            "stage": self.stage,
            "factor": self.factor,
            "option": self.option,
            "fold": self.fold,
            "run_dir": self.config.run.out,
        }


@dataclass
class OptionResult:
    label: str
    candidate: str
    config: TrainConfig
    folds: list[float]
    score: Score
    vs_best: PairedDifference | None
    train_time: float
    units: list[Unit]
    chosen: bool = False
    # The configuration so far, not one of the factor's options.
    current_only: bool = False


@dataclass
class StageResult:
    stage: int
    factor: str
    options: list[OptionResult]

    @property
    def chosen(self) -> OptionResult:
        return next(o for o in self.options if o.chosen)


@dataclass
class ArmPlan:
    arm: str
    stages: list[StageResult] = field(default_factory=list)
    current: TrainConfig | None = None
    # The final models' units by role ("baseline", "final") once every stage is done.
    finals: dict[str, Unit] = field(default_factory=dict)
    done: bool = False


@dataclass
class Plan:
    arms: list[ArmPlan]
    needed: list[Unit]

    @property
    def complete(self) -> bool:
        return all(arm.done for arm in self.arms)


def identity(config: TrainConfig, drop_fold: bool = False) -> str:
    plain = config.to_dict()
    for dotted in _NOT_IDENTITY + (("data.fold",) if drop_fold else ()):
        section, _, key = dotted.partition(".")
        plain[section].pop(key, None)
    text = json.dumps(plain, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def trial_config(spec: StudySpec, candidate: TrainConfig, fold: int, out: Path) -> TrainConfig:
    """A candidate's config for one fold of the cross-validation, with the trial budget."""
    overrides: dict[str, Any] = {
        "data.folds": spec.folds,
        "data.fold": fold,
        "data.fold_seed": spec.fold_seed,
        "data.evaluate_test": False,  # the test split is for the final models only
        "data.data_dir": spec.data_dir,
    }
    if spec.trial_epochs is not None:
        overrides["training.epochs"] = spec.trial_epochs
    if spec.trial_limit is not None:
        overrides["data.limit"] = spec.trial_limit
    config = apply_overrides(candidate, overrides)
    folder = out / "trials" / identity(config, drop_fold=True)[:12] / f"fold-{fold}"
    return apply_overrides(config, {"run.out": str(folder)})


def final_config(
    config: TrainConfig,
    folder: Path,
    *,
    epochs: int | None = None,
    limit: int | None = None,
    data_dir: str | None = None,
) -> TrainConfig:
    """A final model's config: the whole training split (with a validation share only when
    early stopping needs one), tested once."""
    stops = config.training.early_stopping.patience > 0
    overrides: dict[str, Any] = {
        "data.folds": 0,
        "data.fold": 0,
        "data.val_fraction": 0.1 if stops else 0.0,
        "data.evaluate_test": True,
        "data.data_dir": data_dir,
        "data.limit": limit,
        "run.out": str(folder),
    }
    if epochs is not None:
        overrides["training.epochs"] = epochs
    return apply_overrides(config, overrides)


def make_unit(arm: str, stage: int, factor: str, option: str, config: TrainConfig) -> Unit:
    fold = config.data.fold if config.data.folds else None
    return Unit(arm, stage, factor, option, config, identity(config), identity(config, True), fold)


def _fold_units(
    spec: StudySpec, arm: Arm, stage: int, factor: str, option: str, config: TrainConfig, out: Path
) -> list[Unit]:
    return [
        make_unit(arm.name, stage, factor, option, trial_config(spec, config, fold, out))
        for fold in range(spec.folds)
    ]


def make_plan(spec: StudySpec, out: Path, results: dict[str, dict[str, Any]]) -> Plan:
    """The study's state and the units to train now, from `results` keyed by unit key."""
    arms, needed = [], []
    for arm in spec.arms:
        plan = ArmPlan(arm.name)
        arms.append(plan)
        current = arm.base
        units = _fold_units(spec, arm, 0, BASELINE, BASELINE, current, out)
        missing = [u for u in units if u.key not in results]
        if missing:
            needed += missing
            continue
        best_folds = [results[u.key]["val_accuracy"] for u in units]
        plan.stages.append(
            StageResult(0, BASELINE, [_option(BASELINE, units, results, None, chosen=True)])
        )
        for stage, factor in enumerate(arm.factors, start=1):
            options = {
                label: _fold_units(
                    spec,
                    arm,
                    stage,
                    factor.name,
                    label,
                    with_resolved_model(apply_overrides(current, o)),
                    out,
                )
                for label, o in factor.options.items()
            }
            missing = [u for us in options.values() for u in us if u.key not in results]
            if missing:
                needed += missing
                break
            current_units = _fold_units(spec, arm, stage, factor.name, "", current, out)
            rows = [_option(lb, us, results, best_folds) for lb, us in options.items()]
            if not any(r.candidate == current_units[0].candidate for r in rows):
                row = _option("(so far)", current_units, results, best_folds)
                row.current_only = True
                rows.append(row)
            chosen = _choose(rows, current_units[0].candidate)
            chosen.chosen = True
            plan.stages.append(StageResult(stage, factor.name, rows))
            current, best_folds = chosen.config, chosen.folds
        else:
            plan.current = current
            roles = {BASELINE: arm.base, FINAL: current}
            for role, config in roles.items():
                unit = make_unit(
                    arm.name,
                    len(arm.factors) + 1,
                    FINAL,
                    role,
                    final_config(
                        config,
                        out / "final" / f"{arm.name}-{role}",
                        epochs=spec.final_epochs or spec.trial_epochs,
                        limit=spec.final_limit,
                        data_dir=spec.data_dir,
                    ),
                )
                plan.finals[role] = unit
            if plan.finals[BASELINE].key == plan.finals[FINAL].key:
                # Nothing changed: one model is both (trained once, in the final folder).
                plan.finals[BASELINE] = plan.finals[FINAL]
            missing = {u.key: u for u in plan.finals.values() if u.key not in results}
            needed += list(missing.values())
            plan.done = not missing
    return Plan(arms, needed)


def _option(
    label: str,
    units: list[Unit],
    results: dict[str, dict[str, Any]],
    best_folds: list[float] | None,
    chosen: bool = False,
) -> OptionResult:
    folds = [results[u.key]["val_accuracy"] for u in units]
    # The candidate's config without the trial's fold or folder: what later stages build on.
    config = units[0].config
    return OptionResult(
        label,
        units[0].candidate,
        _candidate_config(config),
        folds,
        score(folds),
        paired_difference(folds, best_folds, 1 / len(folds)) if best_folds is not None else None,
        sum(results[u.key].get("train_time", 0.0) for u in units),
        units,
        chosen,
    )


def _candidate_config(trial: TrainConfig) -> TrainConfig:
    return apply_overrides(trial, {"data.folds": 0, "data.fold": 0, "run.out": None})


def _choose(rows: list[OptionResult], current: str) -> OptionResult:
    """The highest mean; on a tie the configuration so far, then the first option."""
    best = max(r.score.mean for r in rows)
    tied = [r for r in rows if r.score.mean == best]
    return next((r for r in tied if r.candidate == current), tied[0])
