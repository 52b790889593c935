"""Running an Optuna search end to end: its folder, the trials, the best model, the report.

The folder holds tune.yaml (what is searched, which must match on a re-run), study.db
(unless --storage names another), trials/ (a run folder per trial, per fold), final/best
(the best configuration trained on the whole training split and tested once), figures/
(Optuna's optimisation history and parameter importances) and report.md/.html.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml

from charrec.errors import CharrecError
from charrec.fileio import atomic_open
from charrec.study.ofat import FINAL, final_config, make_unit
from charrec.study.spec import DEFAULT_BASES
from charrec.study.storage import default_url
from charrec.study.tune import Dimension, config_values, read_space, run_tune
from charrec.train.config import TrainConfig, apply_overrides, load_yaml

DESCRIPTION = "tune.yaml"


def _describe(base: TrainConfig, dims: list[Dimension], folds: int, trials: int) -> dict:
    return {
        "base": base.to_dict(),
        "space": {d.key: _dim_dict(d) for d in dims},
        "folds": folds,
        "trials": trials,
    }


def _dim_dict(dim: Dimension) -> Any:
    if dim.choices:
        return list(dim.choices)
    return {"low": dim.low, "high": dim.high, "log": dim.log, "int": dim.integer}


def _prepare(out: Path, description: dict[str, Any]) -> None:
    if out.exists() and not out.is_dir():
        raise CharrecError(f"{out} is a file, not a study folder")
    path = out / DESCRIPTION
    if path.is_file():
        earlier = load_yaml(path.read_text()) or {}
        if (
            earlier.get("base", {}).get("data", {}).get("name")
            != description["base"]["data"]["name"]
        ):
            raise CharrecError(f"{out} holds a search made for other data; choose another --out")
        differs = [k for k in ("base", "space", "folds") if earlier.get(k) != description[k]]
        if differs:
            raise CharrecError(
                f"{out} holds another search (it differs in {', '.join(differs)}); "
                "choose another --out"
            )
        return
    if out.is_dir() and any(not p.name.startswith(".") for p in out.iterdir()):
        raise CharrecError(f"{out} already holds other files; a search needs its own folder")
    out.mkdir(parents=True, exist_ok=True)
    with atomic_open(path) as handle:
        handle.write(yaml.safe_dump(description, sort_keys=False, allow_unicode=True))


def run_tune_study(
    out: Path,
    space: Path,
    *,
    data: str | None,
    base: Path | None,
    trials: int,
    folds: int = 0,
    epochs: int | None = None,
    limit: int | None = None,
    final_epochs: int | None = None,
    sampler: str = "tpe",
    pruner: str = "median",
    seed: int = 0,
    name: str,
    storage: str | None = None,
    data_dir: str | None = None,
    report: Any = print,
) -> dict[str, Any]:
    """Search, train the best configuration, write the report; returns the headline."""
    from charrec.study.runner import run_unit

    start = time.perf_counter()
    if trials < 1:
        raise CharrecError(f"--trials must be ≥ 1, got {trials}")
    if folds == 1 or folds < 0:
        raise CharrecError(f"--folds must be 0 (off) or ≥ 2, got {folds}")
    config = (
        TrainConfig.from_yaml(base)
        if base
        else apply_overrides(TrainConfig(), DEFAULT_BASES["cnn"])
    )
    overrides: dict[str, Any] = {"data.data_dir": data_dir}
    if data is not None:
        overrides["data.name"] = data
    if epochs is not None:
        overrides["training.epochs"] = epochs
    if limit is not None:
        overrides["data.limit"] = limit
    config = apply_overrides(config, overrides).validate()
    dimensions = read_space(space)
    _prepare(out, _describe(config, dimensions, folds, trials))
    study = run_tune(
        config,
        dimensions,
        out,
        trials,
        name=name,
        storage=storage or default_url(out),
        folds=folds,
        sampler=sampler,
        pruner=pruner,
        seed=seed,
        report=report,
    )
    best = study.best_trial
    best_config = apply_overrides(config, config_values(dimensions, best.params))
    final = final_config(
        best_config,
        out / "final" / "best",
        epochs=final_epochs or config.training.epochs,
        limit=None,
        data_dir=data_dir,
    )
    unit = make_unit("best", 0, FINAL, FINAL, final)
    report("training the best configuration on the whole training split")
    result = run_unit(unit)
    from charrec.study.tune_report import write_tune_report

    files = write_tune_report(study, config, best_config, unit, result, out, folds)
    return {
        "best_value": best.value,
        "best_params": dict(best.params),
        "test_accuracy": result.get("test_accuracy"),
        "files": files,
        "wall_time": time.perf_counter() - start,
    }
