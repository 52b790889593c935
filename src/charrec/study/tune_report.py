"""The report of an Optuna search: every trial, Optuna's own plots, the best model tested."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from charrec.evaluate.compare import format_seconds
from charrec.fileio import atomic_open
from charrec.study.ofat import FINAL, Unit
from charrec.study.report import evaluate_finals, final_sections
from charrec.train.config import TrainConfig


def _value(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _optuna_figures(study: Any, figure_dir: Path) -> list[tuple[Path, str]]:
    """Optimisation history and parameter importances, drawn by Optuna with matplotlib."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import optuna
    from optuna.trial import TrialState

    from charrec.evaluate.figures import save_figure

    made = []
    plots = [
        (
            "optimisation-history",
            optuna.visualization.matplotlib.plot_optimization_history,
            "Optimisation history: each trial's validation accuracy and the best so far",
        ),
    ]
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(complete) >= 2 and len({k for t in complete for k in t.params}) >= 1:
        plots.append(
            (
                "param-importances",
                optuna.visualization.matplotlib.plot_param_importances,
                "Parameter importances (Optuna's default evaluator, over the finished trials)",
            )
        )
    for stem, plot, caption in plots:
        with warnings.catch_warnings():  # Optuna's matplotlib plots are "experimental"
            warnings.simplefilter("ignore")
            try:
                axis = plot(study)
            except (ValueError, RuntimeError, TypeError, ZeroDivisionError):
                continue  # e.g. importances when every trial scored the same
        path = figure_dir / f"{stem}.png"
        save_figure(axis.figure, path)
        made.append((path, caption))
    return made


def write_tune_report(
    study: Any,
    base: TrainConfig,
    best_config: TrainConfig,
    unit: Unit,
    result: dict[str, Any],
    out: Path,
    folds: int,
) -> dict[str, Path]:
    from charrec.evaluate.report import Figure, Report, Table, Text
    from charrec.evaluate.report import write_report as write_pages

    figure_dir = out / "figures"
    figure_dir.mkdir(parents=True, exist_ok=True)
    trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
    keys = sorted({k for t in trials for k in t.params})
    rows, csv_rows = [], []
    for t in trials:
        seconds = t.user_attrs.get("train_time")
        row = [t.number, t.state.name.lower(), *(_value(t.params.get(k, "")) for k in keys)]
        row += [
            "—" if t.value is None else f"{100 * t.value:.2f}%",
            format_seconds(seconds),
        ]
        rows.append(row)
        csv_rows.append(
            {
                "trial": t.number,
                "state": t.state.name.lower(),
                **t.params,
                "value": t.value,
                "train_time": seconds,
                "run_dir": t.user_attrs.get("run_dir"),
            }
        )
    _write_csv(csv_rows, ["trial", "state", *keys, "value", "train_time", "run_dir"], out)
    best = study.best_trial
    how = f"mean over {folds} cross-validation folds" if folds else "on a held-out validation split"
    report = Report(f"Search {study.study_name} on {base.data.name}")
    report.section(
        "The search",
        Text(
            f"Optuna ({type(study.sampler).__name__}, {type(study.pruner).__name__}) over "
            f"{', '.join(f'`{k}`' for k in keys)}; each trial scored by validation accuracy "
            f"({how}) after {base.training.epochs} epochs, poor trials pruned from their "
            "per-epoch accuracy. The test split is used once, by the best configuration."
        ),
        Text(
            f"Best: trial {best.number}, {100 * best.value:.2f}% with "
            + ", ".join(f"`{k}={_value(v)}`" for k, v in best.params.items())
            + "."
        ),
        Table(["trial", "state", *keys, "val. accuracy", "training time"], rows),
        *(Figure(path, caption) for path, caption in _optuna_figures(study, figure_dir)),
    )
    finals = {"best": evaluate_finals({FINAL: unit}, {unit.key: result})}
    final_sections(report, finals, figure_dir, f"{best_config.training.epochs} epochs")
    return {**write_pages(report, out), "csv": out / "results.csv"}


def _write_csv(rows: list[dict[str, Any]], columns: list[str], out: Path) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    with atomic_open(out / "results.csv") as handle:
        handle.write(buffer.getvalue())
