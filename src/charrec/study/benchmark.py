"""Is a study faster as N jobs × 1 thread or 1 job × N threads? Measured, in turns.

The same small study (one arm per model, a two-option factor, 2 folds, one epoch on a
stratified MNIST subsample) is run from scratch under each layout, alternating layouts
for `rounds` rounds because this machine's speed drifts over minutes; the report gives
each round's wall time and trials per minute.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from charrec.study.spec import build_spec
from charrec.train.config import TrainConfig, apply_overrides

DEFAULT_MODELS = ("chollet-mlp", "keras-convnet", "nielsen")


def layouts(cores: int) -> list[tuple[int, int]]:
    """(jobs, threads per job): everything in one job, and one thread per job."""
    return [(1, cores), (cores, 1)] if cores > 1 else [(1, 1)]


def bench_spec(models: tuple[str, ...], limit: int, epochs: int, data_dir: str | None) -> Any:
    bases = {
        model: apply_overrides(TrainConfig(), {"model.name": model, "data.name": "mnist"})
        for model in models
    }
    return build_spec(
        "jobs-benchmark",
        "mnist",
        [{"name": "optim.lr", "key": "optim.lr", "values": [1e-3, 2e-3]}],
        bases,
        data_dir=data_dir,
        folds=2,
        trial_epochs=epochs,
        trial_limit=limit,
        final_epochs=epochs,
        final_limit=limit,
    )


def run_layouts(
    models: tuple[str, ...] = DEFAULT_MODELS,
    limit: int = 6000,
    epochs: int = 1,
    rounds: int = 2,
    data_dir: str | None = None,
    say: Any = print,
) -> dict[str, Any]:
    from charrec.study.session import run_study

    cores = os.cpu_count() or 1
    spec = bench_spec(models, limit, epochs, data_dir)
    rows = []
    for round_index in range(rounds):
        for jobs, threads in layouts(cores):
            with tempfile.TemporaryDirectory(prefix="charrec-bench-study-") as folder:
                start = time.perf_counter()
                outcome = run_study(
                    spec,
                    Path(folder) / "s",
                    jobs=jobs,
                    threads=threads,
                    report=lambda line: None,
                    write=False,
                    quiet_workers=True,
                )
                seconds = time.perf_counter() - start
            trials = len(outcome.results)
            rows.append(
                {
                    "round": round_index,
                    "jobs": jobs,
                    "threads": threads,
                    "seconds": seconds,
                    "trials": trials,
                    "trials_per_minute": 60 * trials / seconds,
                }
            )
            say(
                f"round {round_index + 1}: {jobs} job(s) × {threads} thread(s): {trials} "
                f"trials in {seconds:.1f} s ({rows[-1]['trials_per_minute']:.1f} per minute)"
            )
    best: dict[tuple[int, int], float] = {}
    for row in rows:
        key = (row["jobs"], row["threads"])
        best[key] = min(best.get(key, float("inf")), row["seconds"])
    fastest = min(best, key=best.get)
    return {
        "models": list(models),
        "limit": limit,
        "epochs": epochs,
        "rounds": rows,
        "fastest": {"jobs": fastest[0], "threads": fastest[1]},
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
