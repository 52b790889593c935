"""`charrec train`: train a model on a data set into a run folder, or resume one.

Thin over charrec.train: flags become dotted config keys, applied in this order over the
defaults: --config FILE, then the flags, then each --set KEY=VALUE.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from charrec.errors import ConfigError

EPILOG = """\
[bold]Examples[/]

Chollet's dense net on MNIST, as in "Deep Learning with Python" (about 98% in
5 epochs):

  charrec train --data mnist --model chollet-mlp --optimizer rmsprop \\
    --epochs 5

The Keras "Simple MNIST convnet" (about 99.2%), into a chosen run folder:

  charrec train --data mnist --model keras-convnet --epochs 15 \\
    --out runs/convnet

EMNIST Letters (short name letters) with techniques on: augmentation, cosine
schedule with warm-up, label smoothing, early stopping on validation accuracy
(restoring the best epoch):

  charrec train --data letters --model deotte --augment standard \\
    --schedule cosine --warmup 1 --label-smoothing 0.1 \\
    --early-stopping 5 --monitor val_accuracy --epochs 40

Your own file: a course .npz trains on its train part, validates on its
validate part and tests on its test part; a Kaggle CSV under any name says
its class list:

  charrec train --data emnist_letter.npz --model keras-convnet
  charrec train --data balanced-train.csv --classes balanced

Any other config key with --set, e.g. a deeper MLP and a step schedule:

  charrec train --model mlp --set model.options.hidden=[512,256,128] \\
    --schedule step --set schedule.params.step_size=5

A quick smoke test on 2,000 images; print the resolved config without
training:

  charrec train --limit 2000 --epochs 2 --print-config

The fast shipped letters model learning also from two trained models'
answers (knowledge distillation; the teachers cost training time only):

  charrec train --config recipes/letters.yaml --teacher runs/a \\
    --teacher letters-case --set distill.weight=0.7

Rerun a run from its saved config, or continue it after an interruption:

  charrec train --config runs/convnet/config.yaml --out runs/convnet-again
  charrec train --resume runs/convnet

Several processes with PyTorch DDP (rank 0 writes the run folder):

  torchrun --standalone --nproc_per_node 2 -m charrec train \\
    --data mnist --epochs 5

A run folder holds config.yaml, history.json, model.safetensors + model.json
(the checkpoint), state.pt (for --resume) and metrics.json.
`charrec.train.load_run(folder)` loads the trained model in Python.
"""

_DATA, _MODEL, _OPTIM, _REG, _LOOP, _RUN = (
    "Data",
    "Model",
    "Optimizer and schedule",
    "Regularisation and augmentation",
    "Training loop",
    "Run",
)


def _sizes(text: str | None) -> list[int] | str | None:
    """ "512,256,128" -> [512, 256, 128]; anything else is left for the model to judge."""
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    return [int(p) for p in parts] if all(p.isdigit() for p in parts) else text


def _opt(*names: str, help: str, panel: str, **kwargs: Any) -> Any:
    return typer.Option(*names, help=help, rich_help_panel=panel, show_default=False, **kwargs)


# Optional[...] below: typer needs it on Python 3.10.
# ruff: noqa: UP045
def train(
    config: Annotated[
        Optional[Path],
        _opt("--config", "-c", help="Start from this YAML config (flags override it).", panel=_RUN),
    ] = None,
    resume: Annotated[
        Optional[Path],
        _opt(
            "--resume",
            help="Continue the interrupted run in this folder from its last finished epoch.",
            panel=_RUN,
        ),
    ] = None,
    out: Annotated[
        Optional[str],
        _opt("--out", "-o", help="Run folder (default: runs/<model>-<data>-<time>).", panel=_RUN),
    ] = None,
    overwrite: Annotated[
        bool, _opt("--overwrite", help="Replace an earlier run in --out.", panel=_RUN)
    ] = False,
    settings: Annotated[
        Optional[list[str]],
        _opt(
            "--set",
            help="Set any config key, e.g. model.options.hidden=[256,128] (repeatable).",
            panel=_RUN,
        ),
    ] = None,
    print_config: Annotated[
        bool,
        _opt("--print-config", help="Print the resolved config as YAML and exit.", panel=_RUN),
    ] = False,
    quiet: Annotated[bool, _opt("--quiet", "-q", help="Print nothing.", panel=_RUN)] = False,
    data: Annotated[
        Optional[str],
        _opt(
            "--data",
            "-d",
            help="Data set name or a data file or folder (default mnist).",
            panel=_DATA,
        ),
    ] = None,
    classes: Annotated[
        Optional[str],
        _opt(
            "--classes",
            help="Class list of a file that lacks one (CSV, IDX): balanced, letters...",
            panel=_DATA,
        ),
    ] = None,
    data_dir: Annotated[
        Optional[str],
        _opt("--data-dir", help="Data directory (default: $CHARREC_DATA or cache).", panel=_DATA),
    ] = None,
    val_fraction: Annotated[
        Optional[float],
        _opt("--val-fraction", help="Validation share of train (default 0.1).", panel=_DATA),
    ] = None,
    limit: Annotated[
        Optional[int],
        _opt(
            "--limit", help="Use only N training images (stratified), for quick runs.", panel=_DATA
        ),
    ] = None,
    test: Annotated[
        Optional[bool],
        _opt("--test/--no-test", help="Evaluate on the test split at the end.", panel=_DATA),
    ] = None,
    model: Annotated[
        Optional[str],
        _opt("--model", "-m", help="Model name (default keras-convnet).", panel=_MODEL),
    ] = None,
    activation: Annotated[
        Optional[str], _opt("--activation", help="relu, gelu, silu, elu, tanh...", panel=_MODEL)
    ] = None,
    init: Annotated[
        Optional[str], _opt("--init", help="default, xavier, kaiming, orthogonal.", panel=_MODEL)
    ] = None,
    batch_norm: Annotated[
        Optional[bool], _opt("--batch-norm/--no-batch-norm", help="Batch norm.", panel=_MODEL)
    ] = None,
    dropout: Annotated[
        Optional[float], _opt("--dropout", help="Dropout rate.", panel=_MODEL)
    ] = None,
    pooling: Annotated[
        Optional[str], _opt("--pooling", help="max, avg or conv (strided).", panel=_MODEL)
    ] = None,
    hidden: Annotated[
        Optional[str], _opt("--hidden", help="MLP hidden sizes, e.g. 512,256,128.", panel=_MODEL)
    ] = None,
    optimizer: Annotated[
        Optional[str],
        _opt(
            "--optimizer",
            help="sgd, adam (default), adamw, rmsprop, adagrad, asgd.",
            panel=_OPTIM,
        ),
    ] = None,
    lr: Annotated[Optional[float], _opt("--lr", help="Learning rate (1e-3).", panel=_OPTIM)] = None,
    momentum: Annotated[
        Optional[float], _opt("--momentum", help="Momentum (sgd 0.9).", panel=_OPTIM)
    ] = None,
    nesterov: Annotated[
        Optional[bool], _opt("--nesterov/--no-nesterov", help="Nesterov (sgd).", panel=_OPTIM)
    ] = None,
    weight_decay: Annotated[
        Optional[float],
        _opt("--weight-decay", help="L2 on weights (decoupled for adamw).", panel=_OPTIM),
    ] = None,
    schedule: Annotated[
        Optional[str],
        _opt(
            "--schedule",
            help="constant, step, exponential, cosine, onecycle, plateau.",
            panel=_OPTIM,
        ),
    ] = None,
    warmup: Annotated[
        Optional[float], _opt("--warmup", help="Linear warm-up epochs.", panel=_OPTIM)
    ] = None,
    l1: Annotated[Optional[float], _opt("--l1", help="L1 penalty weight.", panel=_REG)] = None,
    label_smoothing: Annotated[
        Optional[float], _opt("--label-smoothing", help="e.g. 0.1.", panel=_REG)
    ] = None,
    augment: Annotated[
        Optional[str],
        _opt("--augment", help="none, light, standard or strong.", panel=_REG),
    ] = None,
    early_stopping: Annotated[
        Optional[int],
        _opt("--early-stopping", help="Stop after N epochs without improvement.", panel=_REG),
    ] = None,
    monitor: Annotated[
        Optional[str],
        _opt("--monitor", help="Metric for early stopping (val_loss).", panel=_REG),
    ] = None,
    restore_best: Annotated[
        Optional[bool],
        _opt("--restore-best/--keep-last", help="End with the best epoch's weights.", panel=_REG),
    ] = None,
    calibrate: Annotated[
        Optional[bool],
        _opt(
            "--calibrate/--no-calibrate",
            help="After training, fit a temperature on the validation split: the same "
            "answers with probabilities that match how often they are right.",
            panel=_REG,
        ),
    ] = None,
    teachers: Annotated[
        Optional[list[str]],
        _opt(
            "--teacher",
            help="Learn from this trained model's answers too (a run folder, ensemble folder "
            "or shipped name; repeat for several, averaged): knowledge distillation, "
            "distill.weight and distill.temperature set with --set.",
            panel=_REG,
        ),
    ] = None,
    epochs: Annotated[
        Optional[int], _opt("--epochs", "-e", help="Epochs (10).", panel=_LOOP)
    ] = None,
    batch_size: Annotated[
        Optional[int], _opt("--batch-size", "-b", help="Batch size (128).", panel=_LOOP)
    ] = None,
    seed: Annotated[Optional[int], _opt("--seed", help="Random seed (0).", panel=_LOOP)] = None,
    device: Annotated[
        Optional[str], _opt("--device", help="auto (default), cpu or cuda.", panel=_LOOP)
    ] = None,
    precision: Annotated[
        Optional[str],
        _opt(
            "--precision",
            help="fp32 (default), bf16 autocast, or auto (bf16 for CNNs where native).",
            panel=_LOOP,
        ),
    ] = None,
    channels_last: Annotated[
        Optional[bool],
        _opt(
            "--channels-last/--no-channels-last",
            help="channels_last memory (default on).",
            panel=_LOOP,
        ),
    ] = None,
    threads: Annotated[
        Optional[int], _opt("--threads", help="CPU threads (torch default).", panel=_LOOP)
    ] = None,
    batch_shards: Annotated[
        Optional[int],
        _opt(
            "--batch-shards",
            help="Split each batch over this many CPU threads, one shard each (no batch norm).",
            panel=_LOOP,
        ),
    ] = None,
    tensorboard: Annotated[
        bool,
        _opt(
            "--tensorboard",
            help="Also serve TensorBoard on the runs folder while training (127.0.0.1:6006).",
            panel=_RUN,
        ),
    ] = False,
) -> None:
    """Train a model on a data set; write its run folder (config, history, checkpoint).

    Each flag sets one key of the run's config; [bold]--set KEY=VALUE[/] reaches every
    other key. The run folder's config.yaml reruns the run exactly.
    """
    from charrec.train import TrainConfig, apply_overrides, parse_assignment
    from charrec.train import resume as resume_run
    from charrec.train import train as train_run
    from charrec.train.allocator import keep_freed_memory

    keep_freed_memory()
    flags = {
        "data.name": _data_name(data),
        "data.classes": classes,
        "data.data_dir": data_dir,
        "data.val_fraction": val_fraction,
        "data.limit": limit,
        "data.evaluate_test": test,
        "model.name": model,
        "model.options.activation": activation,
        "model.options.init": init,
        "model.options.batch_norm": batch_norm,
        "model.options.dropout": dropout,
        "model.options.pooling": pooling,
        "model.options.hidden": _sizes(hidden),
        "optim.name": optimizer,
        "optim.lr": lr,
        "optim.momentum": momentum,
        "optim.nesterov": nesterov,
        "optim.weight_decay": weight_decay,
        "schedule.name": schedule,
        "schedule.warmup_epochs": warmup,
        "regularisation.l1": l1,
        "regularisation.label_smoothing": label_smoothing,
        "augment": augment,
        "training.early_stopping.patience": early_stopping,
        "training.early_stopping.metric": monitor,
        "training.early_stopping.restore_best": restore_best,
        "training.epochs": epochs,
        "training.batch_size": batch_size,
        "training.seed": seed,
        "training.device": device,
        "training.precision": precision,
        "training.channels_last": channels_last,
        "training.calibrate": calibrate,
        "training.num_threads": threads,
        "training.batch_shards": batch_shards,
        "distill.teachers": teachers or None,
        "run.out": out,
    }
    overrides = {key: value for key, value in flags.items() if value is not None}
    overrides.update(parse_assignment(item) for item in settings or [])
    console = Console(quiet=quiet)

    if resume is not None:
        if overrides or config is not None or overwrite:
            given = ", ".join(sorted(overrides)) or "--config/--overwrite"
            raise ConfigError(
                f"--resume continues a run exactly as it was configured; leave out the other "
                f"options ({given}), or start a new run with --config {resume}/config.yaml"
            )
        if tensorboard:
            _serve_tensorboard(resume, console)
        resume_run(resume, console=console, verbose=not quiet)
        return

    base = TrainConfig.from_yaml(config) if config is not None else TrainConfig()
    resolved = apply_overrides(base, overrides).validate()
    if print_config:
        Console().print(resolved.to_yaml(), end="", highlight=False, soft_wrap=True, markup=False)
        return
    if tensorboard:
        from charrec.train.loop import default_run_dir

        run_dir = Path(resolved.run.out) if resolved.run.out else default_run_dir(resolved)
        resolved = apply_overrides(resolved, {"run.out": str(run_dir)})
        _serve_tensorboard(run_dir, console)
    train_run(resolved, overwrite=overwrite, console=console, verbose=not quiet)


def _data_name(data: str | None) -> str | None:
    """The registered name of a short one; an existing file or folder as an absolute path,
    so that the run's config reruns from any folder."""
    if data is None:
        return None
    from charrec.data.registry import canonical_name, is_path

    if is_path(data) and Path(data).expanduser().exists():
        return str(Path(data).expanduser().resolve())
    return canonical_name(data)


def _serve_tensorboard(run_dir: Path, console: Console) -> None:
    """Serve the folder that holds this run (so it compares with its siblings) while training."""
    import os

    from charrec.train.tensorboard import launch_tensorboard

    if os.environ.get("RANK", "0") != "0":
        return
    runs = Path(run_dir).parent
    runs.mkdir(parents=True, exist_ok=True)
    console.print(f"TensorBoard: {launch_tensorboard(runs)} (serving {runs} while training)")
