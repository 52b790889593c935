"""One transfer run: a config that names the source and strategy, run into a run folder.

Trained strategies go through the ordinary trainer (`charrec.train.train`), which builds
the model with `transfer_model` when `transfer.source` is set; zero-shot trains nothing
and writes the source's checkpoint, scored on the target, as a run folder of its own.
Either way the folder is a normal run (config.yaml, model.safetensors + model.json,
history.json, metrics.json) that evaluate, predict, serve and export accept, and its
config.yaml reruns it (`charrec transfer --config`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from charrec.errors import CharrecError, DataError
from charrec.train.config import TrainConfig, apply_overrides

if TYPE_CHECKING:
    from charrec.transfer.model import TransferModel

# The recipe each strategy starts from: AdamW with a one-cycle schedule, light affine
# augmentation and label smoothing; a frozen base takes a higher rate than a fine-tune.
COMMON = {
    "optim.name": "adamw",
    "optim.weight_decay": 0.01,
    "schedule.name": "onecycle",
    "schedule.params": {"pct_start": 0.2},
    "regularisation.label_smoothing": 0.1,
    "augment": "light",
    "training.epochs": 30,
    "training.batch_size": 64,
    # bf16 autocast for convolutional nets where the CPU computes bf16 natively.
    "training.precision": "auto",
}
# Strategies that train the source's weights (zero-shot trains nothing, scratch starts anew).
TRAINED = ("linear-probe", "added-layers", "top-blocks", "finetune")
STRATEGY_LR = {
    "zero-shot": 1e-3,
    "linear-probe": 1e-2,
    "added-layers": 3e-3,
    "top-blocks": 2e-3,
    "finetune": 2e-3,
    "scratch": 3e-3,
}


def transfer_config(
    source: str,
    data: str,
    strategy: str,
    overrides: dict[str, Any] | None = None,
) -> TrainConfig:
    """The full config of a transfer run: the source's architecture, the strategy's recipe.

    `overrides` (dotted keys, as `--set`) apply last.
    """
    from charrec.transfer.source import source_architecture, source_name

    name, options = source_architecture(source)
    values: dict[str, Any] = {
        **COMMON,
        "optim.lr": STRATEGY_LR.get(strategy, 1e-3),
        "data.name": data,
        "data.val_fraction": 0.2,
        "model.name": name,
        "model.options": options,
        "transfer.source": source_name(source),
        "transfer.strategy": strategy,
    }
    values.update(overrides or {})
    return apply_overrides(TrainConfig(), values).validate()


def transfer_model(config: TrainConfig, target_classes: tuple[str, ...]) -> TransferModel:
    """The trainer's hook: the source adapted to the target classes."""
    from charrec.transfer.model import prepare
    from charrec.transfer.source import load_source

    model, meta = load_source(str(config.transfer.source))
    return prepare(model, meta, target_classes, config.transfer, config.training.seed)


def run_transfer(
    config: TrainConfig,
    *,
    overwrite: bool = False,
    verbose: bool = True,
    callbacks: Sequence[Any] = (),
) -> dict[str, Any]:
    """Run a transfer config into its run folder; returns its metrics.json content."""
    if config.transfer.source is None:
        raise CharrecError("the config names no transfer.source; give --from")
    if config.run.out is None:
        raise CharrecError("a transfer run needs an output folder (--out)")
    if config.transfer.strategy == "zero-shot":
        return zero_shot(config, overwrite=overwrite, verbose=verbose)
    from charrec.train import train

    result = train(config, overwrite=overwrite, verbose=verbose, callbacks=callbacks)
    return result.metrics


def zero_shot(
    config: TrainConfig, *, overwrite: bool = False, verbose: bool = True
) -> dict[str, Any]:
    """Score the source as it is on the target (classes matched by name) into a run folder.

    With folds the held-out fold is scored; otherwise every image of the target, since
    nothing is fitted to any of them.
    """
    import numpy as np

    from charrec.data.imageset import ImageSet
    from charrec.evaluate.evaluation import evaluate_model
    from charrec.fileio import write_json
    from charrec.train.checkpoint import FORMAT, RunFolder, load_weights, save_weights
    from charrec.train.tensor_data import prepare_data
    from charrec.transfer.source import load_source, source_folder

    config = config.validate()
    run = RunFolder(config.run.out)  # type: ignore[arg-type]
    model, meta = load_source(str(config.transfer.source))
    data = prepare_data(config)
    if config.data.folds:
        images, labels = data.val_x, data.val_y
    else:
        images = np.concatenate([data.train_x.numpy(), data.val_x.numpy()])
        labels = np.concatenate([data.train_y.numpy(), data.val_y.numpy()])
    target = ImageSet(
        np.ascontiguousarray(np.asarray(images)[:, 0]),
        np.asarray(labels),
        data.classes,
        config.data.name,
    )
    try:
        metrics, _, probs, space = evaluate_model(model, meta, target, device="cpu")
    except DataError as exc:
        raise DataError(f"zero-shot: {exc}; train a new head with another --strategy") from None
    picked = probs[np.arange(len(target)), target.labels]
    loss = float(-np.log(np.clip(picked, 1e-12, None)).mean())
    val = {"loss": loss, "accuracy": metrics["accuracy"]}
    run.prepare(overwrite)
    saved = replace(config, run=replace(config.run, out=str(run.path)))
    saved.to_yaml(run.config)
    weights = load_weights(source_folder(str(config.transfer.source)) / "model.safetensors")
    save_weights(run.weights, weights, {"epoch": "0", "format": FORMAT})
    described = {
        **meta,
        "epoch": 0,
        "metrics": {"val_loss": val["loss"], "val_accuracy": val["accuracy"]},
        "data": {
            "name": config.data.name,
            "split": data.train_split,
            "images": len(target),
            "folds": config.data.folds,
            "fold": config.data.fold,
            "fold_seed": config.data.fold_seed,
            "trained_on": (meta.get("data") or {}).get("name"),
        },
        "transfer": {"source": config.transfer.source, "strategy": "zero-shot"},
    }
    write_json(run.model_json, described)
    write_json(run.history, [])
    result = {
        "epochs": 0,
        "val": val,
        "test": None,
        "parameters": meta.get("parameters"),
        "train_time": 0.0,
        "label_space": space.describe(),
    }
    write_json(run.metrics, result)
    if verbose:
        print(
            f"zero-shot {config.transfer.source} on {config.data.name}: "
            f"{len(target):,} images, accuracy {100 * val['accuracy']:.2f}% ({space.describe()})"
        )
        print(f"run folder: {Path(run.path)}")
    return result
