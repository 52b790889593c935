"""`charrec study run` and `charrec study tune`: thin over charrec.study."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from charrec.commands.options import DataDirOption
from charrec.errors import ConfigError

app = typer.Typer(
    help="Technique studies with cross-validation, and tuning with Optuna.",
    no_args_is_help=True,
)

RUN_EPILOG = """\
[bold]Examples[/]

  Every factor for an MLP and a CNN on letters-dev with the defaults: 3-fold
  cross-validation, 3 epochs and 9,000 images per trial, final models trained 8
  epochs on the whole training split and tested once:

    charrec study run --data letters-dev --out studies/letters

  Longer trials and final models:

    charrec study run --data letters-dev --epochs 5 --limit 20000 \\
      --final-epochs 15 --out studies/letters-long

  A few factors, in this order, for one base config of your own, plus any config key:

    charrec study run --data mnist --base my-cnn.yaml \\
      --factors optimizer,schedule --factor optim.lr=[0.0003,0.001,0.003] \\
      --out studies/mnist

  Run it again to continue after an interruption; finished trials are not trained again.
  Two processes here, or workers on several machines sharing one database:

    charrec study run --spec studies/letters/study.yaml --out studies/letters \\
      --jobs 2
    charrec study run --spec study.yaml --out studies/x \\
      --storage postgresql://user:pass@db-host/charrec

  Factors: schedule, activation, optimizer, init, batch-norm, regularisation, dropout,
  augmentation, pooling (CNNs), early-stopping, size (hidden layers and neurons of an
  MLP, conv layers and filters of a CNN). The folder gets study.yaml, a run folder per
  trial, results.csv and report.md/report.html; `charrec tensorboard DIR` shows every
  trial in one HParams view.
"""

TUNE_EPILOG = """\
[bold]Examples[/]

  Search learning rate, dropout and batch size for a CNN, 30 trials of 3 epochs:

    charrec study tune --data mnist --base cnn.yaml --space space.yaml \\
      --trials 30 --epochs 3 --out studies/tune-mnist

  space.yaml maps config keys to ranges or choices:

    optim.lr: {low: 1.0e-4, high: 1.0e-2, log: true}
    model.options.dropout: {low: 0.0, high: 0.5}
    training.batch_size: {low: 32, high: 256, log: true, int: true}
    model.options.activation: [relu, elu, leaky_relu]

  The same command on several machines with one --storage URL shares the trials.
"""


def _opt(*names: str, help: str, **kwargs: Any) -> Any:
    return typer.Option(*names, help=help, show_default=False, **kwargs)


# Options that `study run` and `study tune` share.
OutOption = Annotated[Path, _opt("--out", "-o", help="The study folder (created, or continued).")]
DataOption = Annotated[Optional[str], _opt("--data", "-d", help="Data set name or path.")]
EpochsOption = Annotated[Optional[int], _opt("--epochs", help="Epochs per trial (run: default 3).")]
LimitOption = Annotated[
    Optional[int], _opt("--limit", help="Training images per trial (run: default 9000).")
]
NameOption = Annotated[
    Optional[str], _opt("--name", help="Study name in its storage (default: folder name).")
]
StorageOption = Annotated[
    Optional[str],
    _opt("--storage", help="Storage URL shared by workers (default: SQLite in the folder)."),
]


def _split_list(text: str | None) -> list[str] | None:
    return None if text is None else [part.strip() for part in text.split(",") if part.strip()]


def _bases(paths: list[str] | None, arms: list[str] | None, data: str) -> Any:
    """Arm name -> base config, from --base [NAME=]FILE and --arms."""
    from charrec.study.factors import model_kind
    from charrec.study.spec import DEFAULT_BASES
    from charrec.train.config import TrainConfig, apply_overrides

    if paths:
        bases = {}
        for entry in paths:
            name, sep, file = entry.partition("=")
            config = TrainConfig.from_yaml(Path(file if sep else entry))
            name = name if sep else model_kind(config.model.name)
            if name in bases:
                raise ConfigError(f"two --base configs are both named {name!r}; use NAME=FILE")
            bases[name] = config
        return bases
    chosen = arms or list(DEFAULT_BASES)
    unknown = [arm for arm in chosen if arm not in DEFAULT_BASES]
    if unknown:
        from charrec.errors import unknown_choice

        raise unknown_choice("arm", unknown[0], list(DEFAULT_BASES))
    return {arm: apply_overrides(TrainConfig(), DEFAULT_BASES[arm]) for arm in chosen}


# Optional[...] below: typer needs it on Python 3.10.
# ruff: noqa: UP045
def _given(**values: object) -> dict[str, object]:
    return {key: value for key, value in values.items() if value is not None}


@app.command("run", epilog=RUN_EPILOG)
def run(
    out: OutOption,
    data: DataOption = None,
    spec_file: Annotated[
        Optional[Path], _opt("--spec", help="A study YAML (e.g. a study folder's study.yaml).")
    ] = None,
    base: Annotated[
        Optional[list[str]],
        _opt("--base", help="Base config YAML of an arm, [NAME=]FILE (repeatable)."),
    ] = None,
    arms: Annotated[
        Optional[str], _opt("--arms", help="Built-in arms to study: mlp,cnn (default both).")
    ] = None,
    factors: Annotated[
        Optional[str], _opt("--factors", help="Factors in order, comma-separated (default all).")
    ] = None,
    factor: Annotated[
        Optional[list[str]],
        _opt("--factor", help="A factor over any config key: KEY=[V1,V2,...] (repeatable)."),
    ] = None,
    folds: Annotated[int, _opt("--folds", "-k", help="Cross-validation folds (default 3).")] = 3,
    fold_seed: Annotated[int, _opt("--fold-seed", help="Seed of the folds (default 0).")] = 0,
    epochs: EpochsOption = None,
    limit: LimitOption = None,
    final_epochs: Annotated[
        Optional[int], _opt("--final-epochs", help="Epochs of the final models (default 8).")
    ] = None,
    final_limit: Annotated[
        Optional[int], _opt("--final-limit", help="Training images of the final models.")
    ] = None,
    name: NameOption = None,
    storage: StorageOption = None,
    jobs: Annotated[
        Optional[int],
        _opt("--jobs", "-j", help="Worker processes here, one thread each (default: cores)."),
    ] = None,
    heartbeat: Annotated[
        int, _opt("--heartbeat", help="Seconds between a trial's heartbeats (default 10).")
    ] = 10,
    print_spec: Annotated[
        bool, _opt("--print-spec", help="Print the study YAML and exit.")
    ] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Explore factors one at a time with k-fold cross-validation; train and test the best."""
    from charrec.study.session import run_study
    from charrec.study.spec import StudySpec, build_spec, parse_key_factor

    console = Console()
    if jobs is not None and jobs < 1:
        raise ConfigError(f"--jobs must be ≥ 1, got {jobs}")
    if spec_file is not None:
        spec = StudySpec.from_yaml(spec_file)
        if data is not None and data != spec.data:
            raise ConfigError(f"{spec_file} studies {spec.data!r}, not {data!r}")
    else:
        if data is None:
            raise ConfigError("name the data to study with --data (or give --spec)")
        named = _split_list(factors)
        custom = [parse_key_factor(f) for f in factor or []]
        # Neither flag: every built-in factor.
        entries = None if named is None and not custom else [*(named or []), *custom]
        spec = build_spec(
            name or out.resolve().name,
            data,
            entries,
            _bases(base, _split_list(arms), data),
            data_dir=str(data_dir) if data_dir else None,
            folds=folds,
            fold_seed=fold_seed,
            # What is not given keeps the study's defaults (StudySpec).
            **_given(
                trial_epochs=epochs,
                trial_limit=limit,
                final_epochs=final_epochs,
                final_limit=final_limit,
            ),
        )
    if print_spec:
        console.print(spec.to_yaml(), end="", highlight=False, markup=False, soft_wrap=True)
        return
    outcome = run_study(
        spec,
        out,
        storage=storage,
        jobs=jobs,
        heartbeat=heartbeat,
        report=lambda line: console.print(line, highlight=False, markup=False, soft_wrap=True),
    )
    for arm in outcome.plan.arms:
        final = outcome.results[arm.finals["final"].key]
        console.print(
            f"{arm.arm}: final model {100 * (final.get('test_accuracy') or 0):.2f}% on test",
            highlight=False,
        )
    if outcome.files:
        console.print(f"report: {outcome.files['html']}", highlight=False, soft_wrap=True)


@app.command("tune", epilog=TUNE_EPILOG)
def tune(
    out: OutOption,
    space: Annotated[Path, _opt("--space", help="Search space YAML: config key -> range.")],
    data: DataOption = None,
    base: Annotated[
        Optional[Path], _opt("--base", help="Base config YAML (default: the CNN arm's).")
    ] = None,
    trials: Annotated[
        int, _opt("--trials", "-n", help="Finished trials wanted (default 20).")
    ] = 20,
    folds: Annotated[
        int, _opt("--folds", "-k", help="Cross-validate each trial over k folds (default 0: off).")
    ] = 0,
    epochs: EpochsOption = None,
    limit: LimitOption = None,
    final_epochs: Annotated[
        Optional[int], _opt("--final-epochs", help="Epochs of the best config's final model.")
    ] = None,
    sampler: Annotated[str, _opt("--sampler", help="tpe (default) or random.")] = "tpe",
    pruner: Annotated[str, _opt("--pruner", help="median (default) or none.")] = "median",
    seed: Annotated[int, _opt("--seed", help="Sampler seed (default 0).")] = 0,
    name: NameOption = None,
    storage: StorageOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Search config keys with Optuna (TPE), pruning poor trials; train and test the best."""
    from charrec.study.tune_session import run_tune_study

    console = Console()
    outcome = run_tune_study(
        out,
        space,
        data=data,
        base=base,
        trials=trials,
        folds=folds,
        epochs=epochs,
        limit=limit,
        final_epochs=final_epochs,
        sampler=sampler,
        pruner=pruner,
        seed=seed,
        name=name or out.resolve().name,
        storage=storage,
        data_dir=str(data_dir) if data_dir else None,
        report=lambda line: console.print(line, highlight=False, markup=False, soft_wrap=True),
    )
    console.print(
        f"best: {100 * outcome['best_value']:.2f}% validation accuracy with "
        f"{outcome['best_params']}; final model {100 * (outcome['test_accuracy'] or 0):.2f}% "
        "on test",
        highlight=False,
        soft_wrap=True,
    )
    console.print(f"report: {outcome['files']['html']}", highlight=False, soft_wrap=True)
