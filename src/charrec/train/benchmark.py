"""Training speed benchmark, the library behind `charrec bench train`.

Three measurements, each rerunnable on any machine:

- images/s of charrec's training loop for each zoo model, in each precision and memory
  layout (fp32 or bf16 autocast, contiguous or channels_last), keeping the fastest;
- keras-convnet's charrec images/s against the textbook loop: the same model trained over
  `DataLoader(TensorDataset(...), shuffle=True)`, fp32, same batch size;
- time to target accuracy of training recipes (YAML configs): training time (the loop's
  own epoch times) until the MNIST test accuracy first reaches each target. The test
  set is scored after each epoch, outside the timed part, and never steers training.

Throughput numbers are the best of `repeats` timed epochs after a warm-up epoch, so that
other processes on the machine disturb them as little as possible.
`python -m charrec.train.benchmark` runs the same as `charrec bench train`.
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from charrec.errors import CharrecError
from charrec.train.callbacks import Callback
from charrec.train.config import TrainConfig, apply_overrides
from charrec.train.loop import train

# (label, precision, channels_last) of the variants timed per model.
VARIANTS = (
    ("fp32", "fp32", False),
    ("fp32 channels_last", "fp32", True),
    ("bf16", "bf16", False),
    ("bf16 channels_last", "bf16", True),
)
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
        num_threads=threads,
    )
    config = apply_overrides(config, {"data.data_dir": data_dir})
    with tempfile.TemporaryDirectory() as folder:
        config = apply_overrides(config, {"run.out": str(Path(folder) / "run")})
        history = train(config, verbose=False).history
    return max(row["images_per_second"] for row in history[1:])


def dataloader_throughput(
    model_name: str,
    *,
    images: int = 8192,
    batch: int = 128,
    repeats: int = 3,
    threads: int | None = None,
    data_dir: str | None = None,
) -> float:
    """Best images/s of the textbook loop: DataLoader(TensorDataset), shuffle, fp32, Adam."""
    from charrec.data import load_dataset
    from charrec.models import create_model

    data = load_dataset("mnist", "train", data_dir)
    x = torch.tensor(data.images[:images]).unsqueeze(1).float().div_(255)
    x = (x - x.mean()) / x.std()
    y = torch.tensor(data.labels[:images])
    loader = DataLoader(TensorDataset(x, y), batch_size=batch, shuffle=True)
    old_threads = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        torch.manual_seed(0)
        model = create_model(model_name, len(data.classes))
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        model.train()
        rates = []
        for _ in range(repeats + 1):
            start = time.perf_counter()
            for xb, yb in loader:
                loss = F.cross_entropy(model(xb), yb)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            rates.append(len(y) / (time.perf_counter() - start))
    finally:
        torch.set_num_threads(old_threads)
    return max(rates[1:])


def model_throughput(
    model: str, variants: Sequence[tuple[str, str, bool]] = VARIANTS, **kwargs: Any
) -> dict[str, Any]:
    """images/s of every variant of `model` and the fastest: {variants: {label: rate}, best}."""
    rates = {
        label: charrec_throughput(model, precision=p, channels_last=last, **kwargs)
        for label, p, last in variants
    }
    best = max(rates, key=rates.__getitem__)
    return {"model": model, "variants": rates, "best": best, "images_per_second": rates[best]}


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
    from charrec.data import load_dataset

    config = TrainConfig.from_yaml(Path(recipe))
    if data_dir is not None:
        config = apply_overrides(config, {"data.data_dir": data_dir})
    config = apply_overrides(config, overrides or {})
    if "test" not in _splits(config.data.name):
        raise CharrecError(f"{recipe}: data set {config.data.name!r} has no test split to score")
    test = load_dataset(config.data.name, "test", config.data.data_dir)
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


def _splits(name: str) -> tuple[str, ...]:
    from charrec.data import get_spec

    return tuple(get_spec(name).splits)


def run_benchmark(
    models: Sequence[str],
    recipes: Sequence[str | Path] = DEFAULT_RECIPES,
    *,
    images: int = 8192,
    batch: int = 128,
    repeats: int = 3,
    threads: int | None = None,
    variants: Sequence[tuple[str, str, bool]] = VARIANTS,
    targets: Sequence[float] = DEFAULT_TARGETS,
    data_dir: str | None = None,
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
        "settings": {**common, "variants": [v[0] for v in variants]},
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
        plain = dataloader_throughput(BASELINE_MODEL, **common)
        result["baseline"] = {
            "model": BASELINE_MODEL,
            "charrec": ours["images_per_second"],
            "charrec_variant": ours["best"],
            "dataloader": plain,
            "ratio": ours["images_per_second"] / plain,
        }
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
        "processor": platform.processor() or platform.machine(),
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
    return (
        f"{row['model']}: charrec {row['charrec']:,.0f} images/s ({row['charrec_variant']}) vs "
        f"DataLoader loop {row['dataloader']:,.0f} images/s: {row['ratio']:.2f}x"
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


if __name__ == "__main__":
    import sys

    from charrec.cli import app

    app(["bench", "train", *sys.argv[1:]], prog_name="charrec")
