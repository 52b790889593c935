"""Tuning with Optuna: a search over any config keys, poor trials pruned early.

A search space is a YAML mapping from config keys to distributions:

    optim.lr: {low: 1.0e-4, high: 1.0e-2, log: true}     # a float
    training.batch_size: {low: 32, high: 256, log: true, int: true}
    model.options.dropout: {low: 0.0, high: 0.5}
    model.options.activation: [relu, elu, leaky_relu]    # a choice

TPE samples by default; each trial reports its validation accuracy after every epoch
(and fold, with cross-validation), and the median pruner stops trials that fall below
the median of earlier trials at the same step. The storage (SQLite in the folder, or a
shared database) lets `charrec study tune --storage URL` run on many machines at once,
each stopping when the study holds `trials` finished trials.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from charrec.errors import ConfigError
from charrec.train.callbacks import Callback
from charrec.train.config import TrainConfig, apply_overrides, load_yaml

SAMPLERS = ("tpe", "random")
PRUNERS = ("median", "none")


@dataclass(frozen=True)
class Dimension:
    key: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False
    choices: tuple[Any, ...] = ()

    @property
    def labels(self) -> list[Any]:
        """Optuna's choices must be scalars: a list (e.g. hidden sizes) becomes its text."""
        scalar = (str, int, float, bool, type(None))
        return [c if isinstance(c, scalar) else json.dumps(c) for c in self.choices]

    def value(self, suggested: Any) -> Any:
        """The config value of what Optuna suggested (a choice's text back to the choice)."""
        return self.choices[self.labels.index(suggested)] if self.choices else suggested

    def suggest(self, trial: Any) -> Any:
        if self.choices:
            return self.value(trial.suggest_categorical(self.key, self.labels))
        if self.integer:
            return trial.suggest_int(self.key, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.key, float(self.low), float(self.high), log=self.log)


def parse_space(values: Any, where: str = "search space") -> list[Dimension]:
    """Dimensions from a mapping of config key -> distribution (see the module doc)."""
    if not isinstance(values, dict) or not values:
        raise ConfigError(f"the {where} is empty; give at least one config key to search")
    dimensions = []
    for key, spec in values.items():
        if isinstance(spec, list):
            if len(spec) < 2:
                raise ConfigError(f"{where}: {key!r} needs at least two choices")
            dimensions.append(Dimension(str(key), choices=tuple(spec)))
            continue
        if not isinstance(spec, dict) or not {"low", "high"} <= set(spec):
            raise ConfigError(
                f"{where}: {key!r} must be a list of choices or {{low, high[, log, int]}}"
            )
        unknown = set(spec) - {"low", "high", "log", "int"}
        if unknown:
            raise ConfigError(f"{where}: {key!r} has unknown setting {sorted(unknown)[0]!r}")
        low, high = float(spec["low"]), float(spec["high"])
        if not low < high or (spec.get("log") and low <= 0):
            raise ConfigError(f"{where}: {key!r} needs low < high (and low > 0 with log)")
        dimensions.append(
            Dimension(str(key), low, high, bool(spec.get("log")), bool(spec.get("int")))
        )
    return dimensions


def read_space(path: Path) -> list[Dimension]:
    try:
        values = load_yaml(Path(path).read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read search space {path}: {exc.strerror}") from None
    return parse_space(values, f"search space {path}")


def config_values(dimensions: list[Dimension], params: dict[str, Any]) -> dict[str, Any]:
    """A trial's params as config overrides."""
    by_key = {d.key: d for d in dimensions}
    return {k: by_key[k].value(v) if k in by_key else v for k, v in params.items()}


def check_space(base: TrainConfig, dimensions: list[Dimension]) -> None:
    """Every key exists and every bound is a valid value, before any trial trains."""
    for dim in dimensions:
        values = dim.choices or (dim.low, dim.high)
        for value in values:
            value = int(value) if dim.integer else value
            try:
                apply_overrides(base, {dim.key: value}).validate()
            except ConfigError as exc:
                raise ConfigError(f"search space, {dim.key}={value!r}: {exc}") from None


class PruningCallback(Callback):
    """Reports validation accuracy to the trial after each epoch; prunes when told."""

    def __init__(self, trial: Any, first_step: int = 0) -> None:
        self.trial, self.first_step = trial, first_step

    def on_epoch_end(self, epoch: int, metrics: dict[str, float], model: Any) -> None:
        import optuna

        value = metrics.get("val_accuracy")
        if value is None:
            return
        self.trial.report(value, self.first_step + epoch - 1)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"validation accuracy {value:.4f} at epoch {epoch}")


def make_sampler(name: str, seed: int) -> Any:
    import optuna

    if name not in SAMPLERS:
        from charrec.errors import unknown_choice

        raise unknown_choice("sampler", name, SAMPLERS)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def make_pruner(name: str) -> Any:
    import optuna

    if name not in PRUNERS:
        from charrec.errors import unknown_choice

        raise unknown_choice("pruner", name, PRUNERS)
    if name == "none":
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0)


def trial_configs(
    base: TrainConfig, params: dict[str, Any], folds: int, fold_seed: int, folder: Path
) -> list[TrainConfig]:
    """The run configs of one trial: one per fold, or one with a validation split."""
    config = apply_overrides(base, {**params, "data.evaluate_test": False})
    if not folds:
        return [apply_overrides(config, {"run.out": str(folder)})]
    return [
        apply_overrides(
            config,
            {
                "data.folds": folds,
                "data.fold": fold,
                "data.fold_seed": fold_seed,
                "run.out": str(folder / f"fold-{fold}"),
            },
        )
        for fold in range(folds)
    ]


def objective(
    base: TrainConfig,
    dimensions: list[Dimension],
    out: Path,
    folds: int,
    fold_seed: int,
    report: Any,
) -> Any:
    """The function Optuna maximises: mean validation accuracy of a sampled config."""

    def run(trial: Any) -> float:
        import numpy as np

        from charrec.study.runner import result_of
        from charrec.train import train

        params = {d.key: d.suggest(trial) for d in dimensions}
        configs = trial_configs(
            base, params, folds, fold_seed, out / "trials" / f"trial-{trial.number:04d}"
        )
        scores, seconds = [], 0.0
        epochs = base.training.epochs
        for index, config in enumerate(configs):
            callback = PruningCallback(trial, first_step=index * epochs)
            result = result_of(
                train(config, callbacks=(callback,), overwrite=True, verbose=False).metrics
            )
            scores.append(result["val_accuracy"])
            seconds += result["train_time"] or 0.0
        value = float(np.mean(scores))
        trial.set_user_attr("folds", scores)
        trial.set_user_attr("train_time", seconds)
        trial.set_user_attr("run_dir", str(configs[0].run.out))
        shown = ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()
        )
        report(f"trial {trial.number}: {shown}: validation accuracy {100 * value:.2f}%")
        return value

    return run


def run_tune(
    base: TrainConfig,
    dimensions: list[Dimension],
    out: Path,
    trials: int,
    *,
    name: str,
    storage: str,
    folds: int = 0,
    fold_seed: int = 0,
    sampler: str = "tpe",
    pruner: str = "median",
    seed: int = 0,
    heartbeat: int = 10,
    report: Any = print,
) -> Any:
    """Run trials until the study holds `trials` finished ones (from all its workers)."""
    import optuna
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState

    from charrec.study.storage import STALE_AFTER, beat_unbeaten, open_storage

    check_space(base, dimensions)
    rdb = open_storage(storage, heartbeat)
    # A trial whose worker died (its heartbeat stopped) is tried again, twice at most.
    rdb.failed_trial_callback = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=2)
    study = optuna.create_study(
        study_name=name,
        storage=rdb,
        load_if_exists=True,
        direction="maximize",
        sampler=make_sampler(sampler, seed),
        pruner=make_pruner(pruner),
    )
    # Dead trials that beat are failed first: a beat now would make them look alive again.
    optuna.storages.fail_stale_trials(study)
    beat_unbeaten(rdb, study, older_than=heartbeat * STALE_AFTER)
    finished = (TrialState.COMPLETE, TrialState.PRUNED)
    done = len(study.get_trials(deepcopy=False, states=finished))
    if done < trials:
        study.optimize(
            objective(base, dimensions, out, folds, fold_seed, report),
            callbacks=[MaxTrialsCallback(trials, states=finished)],
            catch=(),
        )
    return study
