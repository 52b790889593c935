"""Every strategy on the same repeated stratified k folds, and a learning curve.

Each candidate (a transfer strategy, scratch, or a zoo model from scratch) is trained
once per (repeat, fold) with `data.folds = k`, `data.fold_seed = repeat`: the same folds
for every candidate, so their scores are paired. Each run is an ordinary run folder under
`OUT/runs/<candidate>/r<repeat>-f<fold>`; its held-out fold is then scored with
`charrec.evaluate.evaluate_model` (the same code for every candidate, zero-shot's class
matching included). The learning curve trains the best trained transfer strategy and
scratch on n images per class of each training part (`data.per_class`), scored on the
same held-out folds.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from charrec.data.imageset import ImageSet
from charrec.errors import CharrecError, ConfigError, DataError, unknown_choice
from charrec.train.config import TRANSFER_STRATEGIES, TrainConfig, apply_overrides
from charrec.transfer.run import COMMON, STRATEGY_LR, TRAINED, run_transfer, transfer_config

DEFAULT_CURVE = (1, 2, 5, 10, 20)
# The name of the comparison's ensemble row: the trained strategies' mean probabilities.
ENSEMBLE = "ensemble"


@dataclass(frozen=True)
class Candidate:
    """One line of the comparison: a transfer strategy, or a zoo model trained from scratch."""

    name: str
    strategy: str
    model: str | None = None

    @property
    def uses_source(self) -> bool:
        return self.model is None and self.strategy != "scratch"


@dataclass
class Score:
    candidate: str
    repeat: int
    fold: int
    per_class: int | None
    accuracy: float
    train_time: float
    run_dir: str
    labels: list[int] = field(repr=False)
    predictions: list[int] = field(repr=False)
    # Held-out probabilities over the target's classes (for the ensemble); not saved.
    probs: np.ndarray | None = field(default=None, repr=False)


@dataclass
class Plan:
    source: str
    data: str
    out: Path
    candidates: list[Candidate]
    folds: int = 5
    repeats: int = 1
    curve: tuple[int, ...] = DEFAULT_CURVE
    # Dotted config keys applied to every run (epochs, threads, data_dir, resize...).
    overrides: dict[str, Any] = field(default_factory=dict)
    # Also score the mean of the trained strategies' probabilities on each fold.
    ensemble: bool = True
    # Test-time augmentation (a charrec.evaluate.tta policy): every model scored on the
    # mean of its probabilities over the policy's views of the held-out images; None: none.
    tta: str | None = None


def candidates(strategies: Sequence[str], zoo: Sequence[str] = ()) -> list[Candidate]:
    """Candidates for the named strategies (in the usual order) and zoo models."""
    from charrec.models import model_info

    unknown = [s for s in strategies if s not in TRANSFER_STRATEGIES]
    if unknown:
        raise unknown_choice("transfer strategy", unknown[0], TRANSFER_STRATEGIES)
    if not strategies and not zoo:
        raise ConfigError("nothing to compare: name at least one strategy or zoo model")
    chosen = [Candidate(s, s) for s in TRANSFER_STRATEGIES if s in strategies]
    for name in zoo:
        model_info(name)  # an unknown name lists the valid ones
        chosen.append(Candidate(f"scratch:{name}", "scratch", name))
    return chosen


# --- configs -----------------------------------------------------------------------------


def _config(
    plan: Plan, candidate: Candidate, repeat: int, fold: int, per_class: int | None
) -> TrainConfig:
    # --per-class N makes the whole comparison one of N training images per class.
    per_class = per_class or plan.overrides.get("data.per_class")
    tag = f"r{repeat}-f{fold}" + (f"-n{per_class}" if per_class else "")
    out = plan.out / "runs" / candidate.name.replace(":", "-") / tag
    values = {
        **plan.overrides,
        "data.folds": plan.folds,
        "data.fold": fold,
        "data.fold_seed": repeat,
        "data.per_class": per_class,
        "data.evaluate_test": False,
        "run.out": str(out),
    }
    if per_class:
        values.update(_small_data_loop(plan, per_class))
    if candidate.model is not None:
        base = {
            **COMMON,
            "optim.lr": STRATEGY_LR["scratch"],
            "data.name": plan.data,
            "model.name": candidate.model,
        }
        return apply_overrides(TrainConfig(), {**base, **values}).validate()
    return transfer_config(plan.source, plan.data, candidate.strategy, values)


def _small_data_loop(plan: Plan, per_class: int) -> dict[str, Any]:
    """Batch size and epochs for n images per class: smaller batches, more epochs."""
    classes = _target(plan).num_classes
    epochs = int(plan.overrides.get("training.epochs", COMMON["training.epochs"]))
    batch = int(plan.overrides.get("training.batch_size", COMMON["training.batch_size"]))
    images = per_class * classes
    return {
        "training.batch_size": min(batch, max(8, images // 4)),
        "training.epochs": epochs * (2 if images * 2 < batch * 20 else 1),
    }


def _target(plan: Plan) -> ImageSet:
    """The target's training split, as every run of the plan loads it."""
    from charrec.data import load_dataset
    from charrec.train.tensor_data import training_split

    data_dir = plan.overrides.get("data.data_dir")
    classes = plan.overrides.get("data.classes")
    split = training_split(plan.data, data_dir, classes)
    resize = plan.overrides.get("data.resize", "emnist")
    return load_dataset(plan.data, split, data_dir, classes, resize=resize)


# --- checks before anything is written -----------------------------------------------------


def check_plan(plan: Plan) -> None:
    """Every user error the comparison can meet, raised before any file is written."""
    from charrec.data.splits import stratified_kfold

    if plan.folds < 2:
        raise ConfigError(f"--folds must be ≥ 2, got {plan.folds}")
    if plan.repeats < 1:
        raise ConfigError(f"--repeats must be ≥ 1, got {plan.repeats}")
    if any(n < 1 for n in plan.curve):
        raise ConfigError(f"learning curve sizes must be ≥ 1 image per class, got {plan.curve}")
    target = check_target(_target(plan), plan.folds)
    stratified_kfold(target, plan.folds, 0)
    for candidate in plan.candidates:
        # Builds and validates each kind of config once (source, strategy, overrides).
        _config(plan, candidate, 0, 0, None)
    if any(c.uses_source for c in plan.candidates):
        from charrec.transfer.source import load_source

        load_source(plan.source)
    if (plan.out / "results.json").exists() or (plan.out / "runs").exists():
        raise CharrecError(
            f"{plan.out} already holds a comparison; choose another --out or use --overwrite"
        )


def check_target(dataset: ImageSet, folds: int = 0) -> ImageSet:
    """A data set a model can be taught: ≥ 2 classes, none empty, enough for the folds."""
    counts = dataset.counts()
    name = dataset.name or "the target"
    if dataset.num_classes < 2:
        raise DataError(
            f"{name} has one class ({dataset.classes[0]!r}); a classifier needs at least two"
        )
    empty = [c for c, n in zip(dataset.classes, counts, strict=True) if n == 0]
    if empty:
        raise DataError(f"{name}: no images of class(es) {', '.join(empty)}")
    if folds and counts.min() < folds:
        few = [c for c, n in zip(dataset.classes, counts, strict=True) if n < folds]
        raise DataError(
            f"{name}: class(es) {', '.join(few[:10])} have fewer images ({counts.min()}) "
            f"than the {folds} folds; use fewer --folds or add images"
        )
    return dataset


# --- running -------------------------------------------------------------------------------


def _held_out(plan: Plan, repeat: int, fold: int) -> ImageSet:
    from charrec.data.splits import stratified_kfold

    target = _target(plan)
    _, val = stratified_kfold(target, plan.folds, repeat)[fold]
    return target.subset(val, name=f"{target.name}:fold{fold}")


def run_one(
    plan: Plan, candidate: Candidate, repeat: int, fold: int, per_class: int | None = None
) -> Score:
    """Train (or, zero-shot, just write) one run, then score its held-out fold."""
    from charrec.evaluate.evaluation import evaluate_model
    from charrec.train.checkpoint import RunFolder, load_run
    from charrec.train.tensorboard import TensorBoardCallback

    config = _config(plan, candidate, repeat, fold, per_class)
    run = RunFolder(config.run.out)  # type: ignore[arg-type]
    # Curves only: weight histograms of dozens of short runs would cost more than they say.
    board = TensorBoardCallback(run.tensorboard, histogram_every=0, step_every=0)
    if candidate.model is None:
        metrics = run_transfer(config, overwrite=True, verbose=False, callbacks=[board])
    else:
        from charrec.train import train

        metrics = train(config, overwrite=True, verbose=False, callbacks=[board]).metrics
    run.state.unlink(missing_ok=True)  # only --resume needs it, and it is the largest file
    model, meta = load_run(run.path)
    held_out = _held_out(plan, repeat, fold)
    scored, _, probs, _ = evaluate_model(model, meta, held_out, device="cpu", tta=plan.tta)
    k = held_out.num_classes
    predictions = np.minimum(probs.argmax(axis=1), k)  # k: a class outside the target's
    return Score(
        candidate.name,
        repeat,
        fold,
        per_class,
        float(scored["accuracy"]),
        float(metrics.get("train_time") or 0.0),
        str(run.path),
        held_out.labels.tolist(),
        predictions.tolist(),
        probs[:, :k],
    )


def ensemble(members: Sequence[Score]) -> Score:
    """The mean of the members' held-out probabilities, scored (one repeat and fold)."""
    probs = np.mean([m.probs for m in members], axis=0)
    labels = np.asarray(members[0].labels)
    predictions = probs.argmax(axis=1)
    first = members[0]
    return Score(
        ENSEMBLE,
        first.repeat,
        first.fold,
        first.per_class,
        float((predictions == labels).mean()),
        float(sum(m.train_time for m in members)),
        str(Path(first.run_dir).parent.parent),
        labels.tolist(),
        predictions.tolist(),
        probs,
    )


def run_comparison(
    plan: Plan, *, overwrite: bool = False, say: Callable[[str], None] = print
) -> dict[str, Any]:
    """Run every candidate on every fold, then the learning curve; write the report."""
    from charrec.transfer.report import summarise, write_comparison_report

    if overwrite:
        shutil.rmtree(plan.out / "runs", ignore_errors=True)
        (plan.out / "results.json").unlink(missing_ok=True)
    check_plan(plan)
    started = time.perf_counter()
    jobs = [
        (c, r, f) for r in range(plan.repeats) for f in range(plan.folds) for c in plan.candidates
    ]
    scores: list[Score] = []
    for i, (candidate, repeat, fold) in enumerate(jobs, start=1):
        score = run_one(plan, candidate, repeat, fold)
        scores.append(score)
        say(
            f"[{i}/{len(jobs)}] {candidate.name}, repeat {repeat}, fold {fold}: "
            f"{100 * score.accuracy:.2f}% (trained {score.train_time:.1f} s)"
        )
        members = [s for s in scores if (s.repeat, s.fold) == (repeat, fold)]
        members = [s for s in members if s.candidate in TRAINED]
        trained = sum(c.name in TRAINED for c in plan.candidates)
        # Once per fold: when its last trained strategy has run.
        complete = candidate.name in TRAINED and len(members) == trained
        if plan.ensemble and trained >= 2 and complete:
            scores.append(ensemble(members))
            say(
                f"  ensemble of {len(members)} trained strategies: {100 * scores[-1].accuracy:.2f}%"
            )
    comparison_time = time.perf_counter() - started
    summary = summarise(scores, plan)
    curve_scores: list[Score] = []
    curve_started = time.perf_counter()
    best = summary["best_trained"]
    curve_candidates = [c for c in plan.candidates if c.name in (best, "scratch")]
    if plan.curve and curve_candidates:
        sizes = [n for n in plan.curve if n * _target(plan).num_classes < _train_size(plan)]
        curve_jobs = [(c, f, n) for n in sizes for c in curve_candidates for f in range(plan.folds)]
        for i, (candidate, fold, n) in enumerate(curve_jobs, start=1):
            score = run_one(plan, candidate, 0, fold, n)
            curve_scores.append(score)
            say(
                f"[curve {i}/{len(curve_jobs)}] {candidate.name}, {n} per class, fold {fold}: "
                f"{100 * score.accuracy:.2f}%"
            )
    curve_time = time.perf_counter() - curve_started
    results = {
        "source": plan.source,
        "data": plan.data,
        "folds": plan.folds,
        "repeats": plan.repeats,
        "overrides": plan.overrides,
        "tta": plan.tta,
        "comparison_seconds": comparison_time,
        "curve_seconds": curve_time,
        "summary": summary,
        "scores": [_plain(s) for s in scores],
        "curve": [_plain(s) for s in curve_scores],
    }
    files = write_comparison_report(results, scores, curve_scores, plan)
    results["files"] = {k: str(v) for k, v in files.items()}
    return results


def _train_size(plan: Plan) -> int:
    """Training images of one fold (the held-out fold aside), at most --per-class each."""
    target = _target(plan)
    size = math.floor(len(target) * (plan.folds - 1) / plan.folds)
    per_class = plan.overrides.get("data.per_class")
    return min(size, per_class * target.num_classes) if per_class else size


def _plain(score: Score) -> dict[str, Any]:
    """What results.json keeps of a score (the arrays stay in memory)."""
    values = {k: v for k, v in vars(score).items() if k not in ("labels", "predictions", "probs")}
    return values
