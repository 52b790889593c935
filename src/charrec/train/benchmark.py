"""Training speed benchmark, the library behind `charrec bench train`.

Three measurements, each rerunnable on any machine:

- images/s of charrec's training loop for each zoo model, in each precision and memory
  layout (fp32 or bf16 autocast, contiguous or channels_last), keeping the fastest;
- keras-convnet's charrec images/s against the textbook PyTorch script
  (textbook_loop.py, in its own process): the same model as an nn.Sequential trained over
  `DataLoader(TensorDataset(...), shuffle=True)`, fp32, same batch size; and, to separate
  the loop from the rest, charrec's own keras-convnet in that DataLoader loop;
- time to target accuracy of training recipes (YAML configs): training time (the loop's
  own epoch times) until the MNIST test accuracy first reaches each target. The test
  set is scored after each epoch, outside the timed part, and never steers training.

Throughput numbers are the best of `repeats` timed epochs after a warm-up epoch, so that
other processes on the machine disturb them as little as possible.
The command is `charrec bench train` (charrec.commands.bench_train); this module imports
nothing of the command line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from charrec.errors import CharrecError
from charrec.machine import cpu_model
from charrec.train.callbacks import Callback
from charrec.train.config import TrainConfig, apply_overrides
from charrec.train.loop import train

# (label, precision, channels_last, sharded) of the variants timed per model; sharded:
# training.batch_shards = the thread count (models without batch norm only).
VARIANTS = (
    ("fp32", "fp32", False, False),
    ("fp32 channels_last", "fp32", True, False),
    ("fp32 sharded", "fp32", False, True),
    ("fp32 channels_last sharded", "fp32", True, True),
    ("bf16", "bf16", False, False),
    ("bf16 channels_last", "bf16", True, False),
)
Variant = tuple[str, str, bool, bool]
DEFAULT_RECIPES = ("recipes/mnist-fast.yaml", "recipes/mnist-best.yaml")
DEFAULT_TARGETS = (0.990, 0.995)
BASELINE_MODEL = "keras-convnet"


def _config(model: str, images: int, batch: int, epochs: int, **training: Any) -> TrainConfig:
    overrides = {
        "data.name": "mnist",
        "data.limit": images,
        "data.val_fraction": 0.0,
        "data.evaluate_test": False,
        "model.name": model,
        "training.epochs": epochs,
        "training.batch_size": batch,
        "training.device": "cpu",
    }
    overrides.update({f"training.{k}": v for k, v in training.items()})
    return apply_overrides(TrainConfig(), overrides)


def charrec_throughput(
    model: str,
    *,
    images: int = 8192,
    batch: int = 128,
    precision: str = "fp32",
    channels_last: bool = False,
    batch_shards: int = 1,
    repeats: int = 3,
    threads: int | None = None,
    data_dir: str | None = None,
) -> float:
    """Best training images/s over `repeats` epochs of charrec's loop (after a warm-up)."""
    config = _config(
        model,
        images,
        batch,
        repeats + 1,
        precision=precision,
        channels_last=channels_last,
        batch_shards=batch_shards,
        num_threads=threads,
    )
    config = apply_overrides(config, {"data.data_dir": data_dir})
    with tempfile.TemporaryDirectory() as folder:
        config = apply_overrides(config, {"run.out": str(Path(folder) / "run")})
        history = train(config, verbose=False).history
    return max(row["images_per_second"] for row in history[1:])


def _mnist_tensors(images: int, data_dir: str | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The first `images` MNIST training images as normalised floats N×1×28×28, labels."""
    from charrec.data import load_dataset

    data = load_dataset("mnist", "train", data_dir)
    x = torch.tensor(data.images[:images]).unsqueeze(1).float().div_(255)
    return (x - x.mean()) / x.std(), torch.tensor(data.labels[:images])


def textbook_throughput(
    *,
    images: int = 8192,
    batch: int = 128,
    repeats: int = 3,
    threads: int | None = None,
    data_dir: str | None = None,
) -> float:
    """Best images/s of keras-convnet as a plain PyTorch script over a DataLoader.

    The script (charrec/train/textbook_loop.py) runs in a process of its own, importing
    only torch, the way a user's program would run.
    """
    x, y = _mnist_tensors(images, data_dir)
    script = Path(__file__).with_name("textbook_loop.py")
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "mnist.pt"
        torch.save((x, y), data)
        command = [sys.executable, str(script), str(data), "--batch", str(batch)]
        command += ["--epochs", str(repeats + 1), "--threads", str(threads or 0)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise CharrecError(f"the textbook training script failed: {done.stderr.strip()[-500:]}")
    rates = json.loads(done.stdout.strip().splitlines()[-1])["images_per_second"]
    return max(rates[1:])


def dataloader_throughput(
    model_name: str,
    *,
    images: int = 8192,
    batch: int = 128,
    repeats: int = 3,
    threads: int | None = None,
    data_dir: str | None = None,
) -> float:
    """Best images/s of charrec's `model_name` trained in this process by the textbook loop:
    DataLoader(TensorDataset), shuffle, fp32, contiguous, Adam."""
    from charrec.models import create_model
    from charrec.train.textbook_loop import epoch_rates

    x, y = _mnist_tensors(images, data_dir)
    old_threads = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        torch.manual_seed(0)
        rates = epoch_rates(create_model(model_name, 10), x, y, batch, repeats + 1)
    finally:
        torch.set_num_threads(old_threads)
    return max(rates[1:])


def model_throughput(
    model: str, variants: Sequence[Variant] = VARIANTS, **kwargs: Any
) -> dict[str, Any]:
    """images/s of every variant of `model` and the fastest: {variants: {label: rate}, best}.

    Sharded variants split each batch over as many shards as there are threads; they are
    left out for models with batch norm, which cannot train sharded.
    """
    from charrec.models import create_model
    from charrec.train.shards import has_batch_norm

    can_shard = _shard_count(kwargs) > 1 and not has_batch_norm(create_model(model, 10))
    rates = {
        variant[0]: variant_throughput(model, variant, **kwargs)
        for variant in variants
        if can_shard or not variant[3]
    }
    best = max(rates, key=rates.__getitem__)
    return {"model": model, "variants": rates, "best": best, "images_per_second": rates[best]}


def variant_throughput(model: str, variant: Variant, **kwargs: Any) -> float:
    """charrec_throughput of `model` in one of VARIANTS."""
    _, precision, channels_last, sharded = variant
    shards = _shard_count(kwargs) if sharded else 1
    return charrec_throughput(
        model, precision=precision, channels_last=channels_last, batch_shards=shards, **kwargs
    )


def _shard_count(kwargs: dict[str, Any]) -> int:
    """Sharded variants use one shard per thread."""
    return kwargs.get("threads") or torch.get_num_threads()


def paired_baseline(variant: Variant, rounds: int = 3, **kwargs: Any) -> dict[str, Any]:
    """keras-convnet in charrec's `variant` against the textbook script, measured in turns.

    The machine's speed drifts over minutes; measuring the two one after the other, round
    after round, and taking each round's ratio keeps the drift out of the comparison.
    """
    rows = []
    for _ in range(rounds):
        textbook = textbook_throughput(**kwargs)
        ours = variant_throughput(BASELINE_MODEL, variant, **kwargs)
        rows.append({"charrec": ours, "textbook": textbook, "ratio": ours / textbook})
    ratios = sorted(r["ratio"] for r in rows)
    return {
        "model": BASELINE_MODEL,
        "charrec_variant": variant[0],
        "rounds": rows,
        "charrec": max(r["charrec"] for r in rows),
        "textbook": max(r["textbook"] for r in rows),
        "ratio": ratios[len(ratios) // 2],  # the median round
        "dataloader_charrec_model": dataloader_throughput(BASELINE_MODEL, **kwargs),
    }


class TestAccuracyTracker(Callback):
    """Scores the test split after each epoch, outside the timed part of the epoch.

    The run's own model.json (written before on_epoch_end) gives the normalisation, so the
    score is what a user of the checkpoint would get. Training never sees the result.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        self.images, self.labels = images, labels
        self.rows: list[dict[str, float]] = []
        self.train_time = 0.0

    def on_train_start(self, model: nn.Module, config: Any, sample_batch: torch.Tensor) -> None:
        self.config = config

    @torch.no_grad()
    def on_epoch_end(self, epoch: int, metrics: dict[str, float], model: nn.Module) -> None:
        from charrec.train.checkpoint import read_json

        meta = read_json(Path(self.config.run.out) / "model.json")["preprocessing"]
        self.train_time += metrics["epoch_time"]
        was_training = model.training
        model.eval()
        correct = 0
        bf16 = self.config.training.precision == "bf16"
        for start in range(0, len(self.labels), 1000):
            x = self.images[start : start + 1000].float().div_(255).unsqueeze(1)
            x = (x - meta["mean"]) / meta["std"]
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                logits = model(x).float()
            correct += int((logits.argmax(1) == self.labels[start : start + 1000]).sum())
        model.train(was_training)
        self.rows.append(
            {
                "epoch": epoch,
                "train_time": self.train_time,
                "test_accuracy": correct / len(self.labels),
            }
        )


def time_to_target(
    recipe: str | Path,
    targets: Sequence[float] = DEFAULT_TARGETS,
    *,
    data_dir: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train `recipe` and report the training time at which test accuracy first reached
    each target (None: not reached), with the per-epoch curve."""
    from charrec.data import dataset_splits, load_dataset

    config = TrainConfig.from_yaml(Path(recipe))
    if data_dir is not None:
        config = apply_overrides(config, {"data.data_dir": data_dir})
    config = apply_overrides(config, overrides or {})
    if "test" not in dataset_splits(config.data.name, config.data.data_dir, config.data.classes):
        raise CharrecError(f"{recipe}: data set {config.data.name!r} has no test split to score")
    test = load_dataset(config.data.name, "test", config.data.data_dir, config.data.classes)
    tracker = TestAccuracyTracker(torch.tensor(test.images), torch.tensor(test.labels))
    with tempfile.TemporaryDirectory() as folder:
        config = replace(config, run=replace(config.run, out=str(Path(folder) / "run")))
        result = train(config, callbacks=[tracker], verbose=False)
    reached: dict[str, float | None] = {}
    for target in targets:
        hit = next((r for r in tracker.rows if r["test_accuracy"] >= target), None)
        reached[percent(target)] = hit["train_time"] if hit else None
    return {
        "recipe": str(recipe),
        "model": config.model.name,
        "epochs": len(tracker.rows),
        "train_time": result.metrics["train_time"],
        "test_accuracy": tracker.rows[-1]["test_accuracy"],
        # The loop's own score of the final model (the same unless early stopping restored
        # an earlier epoch).
        "final_test_accuracy": (result.metrics["test"] or {}).get("accuracy"),
        "time_to_target": reached,
        "curve": tracker.rows,
    }


def percent(fraction: float) -> str:
    """0.995 -> "99.5%", 0.99 -> "99.0%"."""
    text = f"{round(100 * fraction, 4):g}"
    return f"{text}{'' if '.' in text else '.0'}%"


def run_benchmark(
    models: Sequence[str],
    recipes: Sequence[str | Path] = DEFAULT_RECIPES,
    *,
    images: int = 8192,
    batch: int = 128,
    repeats: int = 3,
    threads: int | None = None,
    variants: Sequence[Variant] = VARIANTS,
    targets: Sequence[float] = DEFAULT_TARGETS,
    data_dir: str | None = None,
    baseline_rounds: int = 3,
    report: Any = None,
) -> dict[str, Any]:
    """Every measurement above; `report(text)` is called as each result comes in."""
    from charrec.models import model_info

    for name in models:
        model_info(name)  # unknown names list the valid ones before anything runs
    for recipe in recipes:
        TrainConfig.from_yaml(Path(recipe)).validate()
    say = report or (lambda text: None)
    common = {"images": images, "batch": batch, "repeats": repeats, "threads": threads}
    common["data_dir"] = data_dir
    result: dict[str, Any] = {
        "machine": machine(),
        "settings": {
            **common,
            "variants": [v[0] for v in variants],
            "baseline_rounds": baseline_rounds,
        },
        "models": [],
        "baseline": None,
        "recipes": [],
    }
    say(format_header(result))
    for name in models:
        row = model_throughput(name, variants, **common)
        result["models"].append(row)
        say(format_model_row(row))
    if BASELINE_MODEL in models:
        ours = next(r for r in result["models"] if r["model"] == BASELINE_MODEL)
        variant = next(v for v in variants if v[0] == ours["best"])
        result["baseline"] = paired_baseline(variant, baseline_rounds, **common)
        say(format_baseline(result["baseline"]))
    for recipe in recipes:
        row = time_to_target(recipe, targets, data_dir=data_dir)
        result["recipes"].append(row)
        say(format_recipe_row(row))
    result["machine"]["load_average_after"] = machine()["load_average"]
    return result


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):  # not on every platform
        load = None
    return {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "processor": cpu_model(),
        "cpus": os.cpu_count(),
        "load_average": load,
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


# --- text ------------------------------------------------------------------------------------


def format_model_row(row: dict[str, Any]) -> str:
    rates = "  ".join(f"{label} {rate:,.0f}" for label, rate in row["variants"].items())
    return (
        f"{row['model']:<14} {row['images_per_second']:>9,.0f} images/s "
        f"(best: {row['best']}; {rates})"
    )


def format_baseline(row: dict[str, Any]) -> str:
    rounds = ", ".join(
        f"{r['charrec']:,.0f} vs {r['textbook']:,.0f} ({r['ratio']:.2f}x)" for r in row["rounds"]
    )
    return (
        f"{row['model']}, charrec ({row['charrec_variant']}) vs the textbook PyTorch script "
        f"(DataLoader loop, own process), images/s measured in turns: {rounds}; median "
        f"{row['ratio']:.2f}x. charrec's model in the DataLoader loop: "
        f"{row['dataloader_charrec_model']:,.0f} images/s"
    )


def format_recipe_row(row: dict[str, Any]) -> str:
    times = ", ".join(
        f"{target} in {_seconds(t)}" if t is not None else f"{target} not reached"
        for target, t in row["time_to_target"].items()
    )
    return (
        f"{row['recipe']}: {row['epochs']} epochs, {_seconds(row['train_time'])} training, "
        f"test accuracy {100 * row['test_accuracy']:.2f}%; {times}"
    )


def _seconds(value: float) -> str:
    return f"{value:.1f} s"


def format_header(result: dict[str, Any]) -> str:
    m, s = result["machine"], result["settings"]
    return (
        f"torch {m['torch']}, {m['threads']} threads, {m['cpus']} CPUs, load average "
        f"{m['load_average']}; images/s: {s['images']:,} MNIST images, batch {s['batch']}, "
        f"best of {s['repeats']} timed epochs"
    )


def format_table(result: dict[str, Any]) -> str:
    """The whole result as text: settings, one line per model, baseline, recipes."""
    lines = [format_header(result)]
    lines += [format_model_row(row) for row in result["models"]]
    if result["baseline"]:
        lines.append(format_baseline(result["baseline"]))
    lines += [format_recipe_row(row) for row in result["recipes"]]
    return "\n".join(lines)


def save(result: dict[str, Any], path: str | Path) -> None:
    from charrec.fileio import write_json

    write_json(Path(path), result)
