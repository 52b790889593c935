"""`charrec transfer`: carry a trained model to new data, or compare every way of doing it.

Thin over charrec.transfer; torch and the rest are imported when the command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from charrec.errors import ConfigError

DEFAULT_DATA = "binary-alphadigits-letters"

EPILOG = f"""\
[bold]Strategies[/]

  zero-shot: the source as it is, its classes matched by name
  linear-probe: frozen features, a new head
  added-layers: a trainable Dense layer and head on the frozen base
  top-blocks: the top --train-blocks blocks and the head train
  finetune: everything trains, earlier layers at lower rates (--lr-decay)
  scratch: the same architecture from random initialisation

[bold]Examples[/]

  Fine-tune the shipped letters model on Binary AlphaDigits' letters:

    charrec transfer --from letters --strategy finetune \\
      --data {DEFAULT_DATA} --out runs/bad-finetune

  Teach a model of yours new characters (one sub-folder per class):

    charrec transfer --from runs/vgg-letters --data my-symbols/ \\
      --out runs/symbols

  Every strategy and scratch on the same 5 stratified folds, with the learning
  curve; report.html, report.md, results.json and figures in the folder:

    charrec transfer --compare --from letters --out reports/bad

  The coursework's question: Chollet's dense net trained on letters,
  transferred, against a new one trained on Binary AlphaDigits alone:

    charrec train --config recipes/chollet-letters.yaml \\
      --out runs/chollet-letters
    charrec transfer --compare --from runs/chollet-letters \\
      --out reports/bad-chollet

  Rerun a transfer run from its config:

    charrec transfer --config runs/bad-finetune/config.yaml --out runs/again
"""


def _opt(*names: str, help: str, **kwargs: Any) -> Any:
    return typer.Option(*names, help=help, show_default=False, **kwargs)


def _sizes(text: str) -> tuple[int, ...]:
    if text.strip().lower() in ("", "none", "no"):
        return ()
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ConfigError(
            f"--curve takes image counts per class like 1,2,5,10,20; got {text!r}"
        ) from None
    return sizes


# Optional[...] below: typer needs it on Python 3.10.
# ruff: noqa: UP045
def transfer(
    source: Annotated[
        Optional[str],
        _opt("--from", help="Source: a run folder or a shipped model (letters, digits...)."),
    ] = None,
    data: Annotated[
        Optional[str],
        _opt("--data", "-d", help="Target data set, file or image folder (BAD letters)."),
    ] = None,
    strategy: Annotated[
        Optional[str], _opt("--strategy", "-s", help="How to transfer (finetune); see below.")
    ] = None,
    out: Annotated[
        Optional[str], _opt("--out", "-o", help="Run folder (with --compare: report folder).")
    ] = None,
    config: Annotated[
        Optional[Path], _opt("--config", "-c", help="Rerun this transfer run's config.yaml.")
    ] = None,
    compare: Annotated[
        bool,
        _opt("--compare", help="Run every strategy on the same folds and write a report."),
    ] = False,
    strategies: Annotated[
        Optional[str],
        _opt("--strategies", help="With --compare: comma-separated strategies (all)."),
    ] = None,
    zoo: Annotated[
        Optional[list[str]],
        _opt("--zoo", help="With --compare: also this zoo model from scratch (repeatable)."),
    ] = None,
    ensemble: Annotated[
        bool,
        _opt(
            "--ensemble/--no-ensemble",
            help="With --compare: also score the trained strategies' mean (on).",
        ),
    ] = True,
    tta: Annotated[
        Optional[str],
        _opt(
            "--tta",
            help="With --compare: test-time augmentation, shift (5 views) or affine (9).",
        ),
    ] = None,
    folds: Annotated[int, _opt("--folds", help="Stratified folds (5).")] = 5,
    fold: Annotated[
        Optional[int], _opt("--fold", help="One run: hold out this fold (0-based) of --folds.")
    ] = None,
    repeats: Annotated[int, _opt("--repeats", help="With --compare: fold seeds 0..N-1 (1).")] = 1,
    curve: Annotated[
        str,
        _opt("--curve", help="With --compare: images per class of the learning curve, or none."),
    ] = "1,2,5,10,20",
    epochs: Annotated[Optional[int], _opt("--epochs", help="Training epochs (30).")] = None,
    lr: Annotated[Optional[float], _opt("--lr", help="Learning rate (by strategy).")] = None,
    train_blocks: Annotated[
        Optional[int], _opt("--train-blocks", help="top-blocks: blocks that train (2).")
    ] = None,
    lr_decay: Annotated[
        Optional[float], _opt("--lr-decay", help="finetune: rate factor per block down (0.5).")
    ] = None,
    per_class: Annotated[
        Optional[int], _opt("--per-class", help="Train on at most N images per class.")
    ] = None,
    resize: Annotated[
        Optional[str],
        _opt("--resize", help="Non-28×28 images: emnist (framing, default) or pad."),
    ] = None,
    threads: Annotated[Optional[int], _opt("--threads", help="CPU threads (torch's).")] = None,
    data_dir: Annotated[
        Optional[str], _opt("--data-dir", help="Data directory ($CHARREC_DATA or cache).")
    ] = None,
    settings: Annotated[
        Optional[list[str]], _opt("--set", help="Any config key, e.g. optim.lr=1e-3.")
    ] = None,
    overwrite: Annotated[bool, _opt("--overwrite", help="Replace what --out holds.")] = False,
    quiet: Annotated[bool, _opt("--quiet", "-q", help="Print nothing.")] = False,
) -> None:
    """Carry a trained model to new data: one strategy into a run folder, or --compare all."""
    from charrec.train.config import TRANSFER_STRATEGIES, parse_assignment

    overrides: dict[str, Any] = {}
    for key, value in (
        ("training.epochs", epochs),
        ("optim.lr", lr),
        ("transfer.train_blocks", train_blocks),
        ("transfer.lr_decay", lr_decay),
        ("data.per_class", per_class),
        ("data.resize", resize),
        ("training.num_threads", threads),
        ("data.data_dir", data_dir),
    ):
        if value is not None:
            overrides[key] = value
    overrides.update(parse_assignment(text) for text in settings or [])
    if out is None:
        raise ConfigError("say where the results go with --out")
    if tta is not None:
        from charrec.evaluate.tta import check_policy

        check_policy(tta)
    if compare:
        if config is not None or strategy is not None or fold is not None:
            raise ConfigError("--compare takes --strategies, not --config, --strategy or --fold")
        chosen = (
            [s.strip() for s in strategies.split(",") if s.strip()]
            if strategies
            else list(TRANSFER_STRATEGIES)
        )
        _compare(
            (ensemble, tta),
            source,
            data or DEFAULT_DATA,
            chosen,
            zoo or [],
            folds,
            repeats,
            _sizes(curve),
            overrides,
            Path(out),
            overwrite,
            quiet,
        )
        return
    if strategies or zoo or repeats != 1:
        raise ConfigError("--strategies, --zoo and --repeats go with --compare")
    _one_run(source, data, strategy, config, folds, fold, overrides, out, overwrite, quiet)


def _one_run(
    source: str | None,
    data: str | None,
    strategy: str | None,
    config_path: Path | None,
    folds: int,
    fold: int | None,
    overrides: dict[str, Any],
    out: str,
    overwrite: bool,
    quiet: bool,
) -> None:
    from charrec.train.config import TrainConfig, apply_overrides
    from charrec.transfer import run_transfer, transfer_config
    from charrec.transfer.compare import check_target
    from charrec.transfer.source import source_name

    if fold is not None:
        overrides.update({"data.folds": folds, "data.fold": fold})
    if config_path is not None:
        config = TrainConfig.from_yaml(config_path)
        given = {"data.name": data, "transfer.strategy": strategy}
        if source is not None:
            given["transfer.source"] = source_name(source)
        overrides = {**{k: v for k, v in given.items() if v is not None}, **overrides}
        config = apply_overrides(config, {**overrides, "run.out": out}).validate()
        if config.transfer.source is None:
            raise ConfigError(f"{config_path} is not a transfer run's config (no transfer.source)")
    else:
        if source is None:
            raise ConfigError("name the source model with --from (a run folder or letters...)")
        config = transfer_config(
            source, data or DEFAULT_DATA, strategy or "finetune", {**overrides, "run.out": out}
        )
    _check_config_target(config, check_target)
    run_transfer(config, overwrite=overwrite, verbose=not quiet)


def _check_config_target(config: Any, check_target: Any) -> None:
    from charrec.data import load_dataset
    from charrec.train.tensor_data import training_split

    data = config.data
    split = training_split(data.name, data.data_dir, data.classes)
    dataset = load_dataset(data.name, split, data.data_dir, data.classes, resize=data.resize)
    check_target(dataset, data.folds)


def _compare(
    scoring: tuple[bool, bool],
    source: str | None,
    data: str,
    strategies: list[str],
    zoo: list[str],
    folds: int,
    repeats: int,
    curve: tuple[int, ...],
    overrides: dict[str, Any],
    out: Path,
    overwrite: bool,
    quiet: bool,
) -> None:
    from charrec.transfer.compare import Plan, candidates, run_comparison

    if source is None:
        raise ConfigError("name the source model with --from (a run folder or letters...)")
    chosen = candidates(strategies, zoo)
    ensemble, tta = scoring
    plan = Plan(source, data, out, chosen, folds, repeats, curve, overrides, ensemble, tta)
    say = (lambda _: None) if quiet else (lambda line: print(line, flush=True))
    results = run_comparison(plan, overwrite=overwrite, say=say)
    if not quiet:
        rows = results["summary"]["candidates"]
        for name, row in rows.items():
            print(f"{name:>24}: {100 * row['mean']:6.2f}% ± {100 * row['std']:.2f}")
        print(f"report: {results['files']['html']}")
