"""`charrec bench train`: training images/s per model, the DataLoader baseline, time to accuracy."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

EPILOG = """\
[bold]Examples[/]

Everything (each zoo model, keras-convnet vs a DataLoader loop, both MNIST recipes):

  charrec bench train --out bench-train.json

Only two models, fp32 only, no recipes:

  charrec bench train --models keras-convnet,vgg --fp32-only --no-recipes

Time to 99.0% / 99.5% MNIST test accuracy of one recipe:

  charrec bench train --models none --recipes recipes/mnist-fast.yaml

keras-convnet against the Keras example in Keras 3 on TensorFlow (installed in an
environment of its own), 15 epochs each, in turns:

  python3 -m venv ~/keras
  ~/keras/bin/pip install tensorflow-cpu keras
  charrec bench train --models none --no-recipes --keras ~/keras/bin/python

The same with charrec in bf16 autocast (CPUs with native bf16, e.g. AMX or
AVX512-BF16), against the example as written and against it in Keras' mixed_bfloat16:

  charrec bench train --models none --no-recipes --keras ~/keras/bin/python \\
    --precision bf16
  charrec bench train --models none --no-recipes --keras ~/keras/bin/python \\
    --precision bf16 --keras-precision bf16 --train-args '--batch-shards 2'

Throughput is the best of --repeats timed epochs of --images MNIST images after a
warm-up epoch; run it on an otherwise idle machine (the load average is printed).
"""

# ruff: noqa: UP045  (typer needs Optional on Python 3.10)


def bench_train(
    models: Annotated[
        str,
        typer.Option(help="Comma-separated zoo models, 'all' or 'none'."),
    ] = "all",
    recipes: Annotated[
        str,
        typer.Option(help="Comma-separated recipe YAML files to time to target accuracy."),
    ] = "recipes/mnist-fast.yaml,recipes/mnist-best.yaml",
    no_recipes: Annotated[bool, typer.Option("--no-recipes", help="Skip the recipes.")] = False,
    targets: Annotated[str, typer.Option(help="Test accuracies to time, in %.")] = "99.0,99.5",
    images: Annotated[int, typer.Option(help="MNIST images per timed epoch.")] = 8192,
    batch_size: Annotated[int, typer.Option("--batch-size", "-b", help="Batch size.")] = 128,
    repeats: Annotated[int, typer.Option(help="Timed epochs per measurement (best kept).")] = 3,
    baseline_rounds: Annotated[
        int, typer.Option(help="Turns of keras-convnet against the textbook script.")
    ] = 3,
    threads: Annotated[Optional[int], typer.Option(help="CPU threads (torch default).")] = None,
    fp32_only: Annotated[
        bool, typer.Option("--fp32-only", help="Time fp32 only (each layout, sharded or not).")
    ] = False,
    data_dir: Annotated[
        Optional[str], typer.Option(help="Data directory (default: $CHARREC_DATA or cache).")
    ] = None,
    out: Annotated[Optional[Path], typer.Option(help="Also save the results as JSON.")] = None,
    keras: Annotated[
        Optional[str],
        typer.Option(
            "--keras",
            help="A Python with Keras 3 and TensorFlow: also time the Keras example itself.",
        ),
    ] = None,
    keras_epochs: Annotated[
        int, typer.Option("--keras-epochs", help="Epochs of the Keras comparison.")
    ] = 15,
    precision: Annotated[
        str, typer.Option(help="charrec's precision in the Keras comparison: fp32 or bf16.")
    ] = "fp32",
    train_args: Annotated[
        str,
        typer.Option(
            "--train-args",
            help="More `charrec train` options for the Keras comparison, e.g. '--batch-shards 2'.",
        ),
    ] = "",
    keras_precision: Annotated[
        str,
        typer.Option(
            "--keras-precision", help="The Keras example's: fp32 or bf16 (mixed_bfloat16)."
        ),
    ] = "fp32",
) -> None:
    """Training speed: images/s per model, vs a DataLoader loop, time to target accuracy."""
    from charrec.errors import ConfigError
    from charrec.models import list_models
    from charrec.train import benchmark
    from charrec.train.allocator import keep_freed_memory

    keep_freed_memory()  # as `charrec train` runs
    if models == "all":
        names = list_models()
    elif models == "none":
        names = []
    else:
        names = [m.strip() for m in models.split(",") if m.strip()]
    files = [] if no_recipes else [r.strip() for r in recipes.split(",") if r.strip()]
    try:
        goals = [float(t) / 100 for t in targets.split(",")]
    except ValueError:
        raise ConfigError(
            f"--targets must be percentages like 99.0,99.5, got {targets!r}"
        ) from None
    for name, value in (
        ("--images", images),
        ("--batch-size", batch_size),
        ("--repeats", repeats),
        ("--baseline-rounds", baseline_rounds),
    ):
        if value < 1:
            raise ConfigError(f"{name} must be ≥ 1, got {value}")
    from charrec.train.keras_benchmark import KERAS_POLICIES

    for name, value in (("--precision", precision), ("--keras-precision", keras_precision)):
        if value not in KERAS_POLICIES:
            raise ConfigError(f"{name} must be fp32 or bf16, got {value!r}")
    variants = (
        [v for v in benchmark.VARIANTS if v[1] == "fp32"] if fp32_only else benchmark.VARIANTS
    )
    console = Console()
    result = benchmark.run_benchmark(
        names,
        files,
        images=images,
        batch=batch_size,
        repeats=repeats,
        threads=threads,
        variants=variants,
        targets=goals,
        data_dir=data_dir,
        baseline_rounds=baseline_rounds,
        report=lambda text: console.print(text, highlight=False, soft_wrap=True),
    )
    if keras is not None:
        from charrec.train.keras_benchmark import compare_with_keras

        result["keras"] = compare_with_keras(
            keras,
            keras_epochs,
            baseline_rounds,
            data_dir,
            say=lambda text: console.print(text, highlight=False, soft_wrap=True),
            extra=shlex.split(train_args),
            precision=precision,
            keras_precision=keras_precision,
        )
        result["machine"]["load_average_after"] = benchmark.machine()["load_average"]
    load = result["machine"]["load_average_after"]
    console.print(f"load average at the end: {load}", highlight=False)
    if out is not None:
        benchmark.save(result, out)
        console.print(f"saved {out}", highlight=False)
