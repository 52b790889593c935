"""Runs side by side: one table (model, settings, size, data, epochs, time, accuracies)
and one overlay of their validation curves, so "MLP vs CNN" reads at a glance.

Only the run folders' small files are read (config.yaml, model.json, metrics.json,
history.json): no model is loaded. The "settings" column lists the config keys whose
values differ between the compared runs (batch_norm=True vs False), which is what a
comparison is about.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from charrec.errors import CharrecError
from charrec.evaluate.report import Table, markdown_table
from charrec.fileio import atomic_open
from charrec.train.progress import format_duration

RUN_FILES = ("model.json", "metrics.json", "history.json", "config.yaml")
# Config keys that say where or how fast, not what was trained; or have their own column.
IGNORED_KEYS = (
    "run.out",
    "data.data_dir",
    "data.name",
    "model.name",
    "training.epochs",
    "training.device",
    "training.num_threads",
    "training.eval_batch_size",
)


def _read_json(path: Path) -> Any:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CharrecError(f"{path} is unreadable or corrupt: {exc}") from None


def _read_yaml(path: Path) -> Any:
    if not path.is_file():
        return None
    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise CharrecError(f"{path} is unreadable or corrupt: {exc}".replace("\n", " ")) from None


def flatten(values: Any, prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} → {"a.b": 1}; lists stay values."""
    if not isinstance(values, dict):
        return {prefix: values} if prefix else {}
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            flat.update(flatten(value, name))
        else:
            flat[name] = value
    return flat


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass
class RunSummary:
    """What a comparison needs from one run folder (None where the run does not say)."""

    path: Path
    label: str
    model: str | None
    data: str | None
    parameters: int | None
    epochs: int | None
    train_time: float | None
    val_accuracy: float | None
    test_accuracy: float | None
    macro_f1: float | None
    # The data:split the macro F1 comes from (an evaluation of the run).
    macro_f1_on: str | None
    config: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    settings: str = ""


def read_run_summary(run_dir: str | os.PathLike[str]) -> RunSummary:
    path = Path(run_dir)
    if not path.is_dir():
        raise CharrecError(f"run folder {path} not found")
    if not any((path / name).is_file() for name in RUN_FILES):
        raise CharrecError(f"{path} is not a run folder (no {', '.join(RUN_FILES)})")
    meta = _dict(_read_json(path / "model.json"))
    metrics = _dict(_read_json(path / "metrics.json"))
    history = _read_json(path / "history.json") or []
    if not isinstance(history, list):
        raise CharrecError(f"{path / 'history.json'} is not a list of epochs")
    history = [row for row in history if isinstance(row, dict)]
    config = _dict(_read_yaml(path / "config.yaml"))
    if not config and meta.get("model"):
        config = {"model": meta["model"]}

    model = _dict(meta.get("model")).get("name") or _dict(config.get("model")).get("name")
    data = _dict(meta.get("data")).get("name") or _dict(config.get("data")).get("name")
    if data:
        from charrec.data.registry import data_label

        # A data file is shown (and its evaluations keyed) by its name, not its whole path.
        data = data_label(str(data))
    val = _dict(metrics.get("val")).get("accuracy")
    if val is None and history:
        val = history[-1].get("val_accuracy")
    evaluations = _dict(metrics.get("evaluation"))
    own_test = f"{data}:test"
    test = _dict(metrics.get("test")).get("accuracy")
    if test is None:
        test = _dict(evaluations.get(own_test)).get("accuracy")
    f1_on = own_test if own_test in evaluations else next(iter(sorted(evaluations)), None)
    macro_f1 = _dict(_dict(evaluations.get(f1_on)).get("macro")).get("f1") if f1_on else None
    train_time = metrics.get("train_time")
    if train_time is None and history:
        times = [row.get("epoch_time") for row in history]
        train_time = sum(times) if all(t is not None for t in times) else None
    return RunSummary(
        path=path,
        label=path.name or str(path),
        model=model,
        data=data,
        parameters=metrics.get("parameters", meta.get("parameters")),
        epochs=metrics.get("epochs", len(history) or None),
        train_time=train_time,
        val_accuracy=val,
        test_accuracy=test,
        macro_f1=macro_f1,
        macro_f1_on=f1_on if macro_f1 is not None else None,
        config=flatten(config),
        history=history,
    )


def _short(key: str, keys: Sequence[str]) -> str:
    """The last part of a dotted key, unless another differing key ends the same way."""
    last = key.rsplit(".", 1)[-1]
    same = [k for k in keys if k.rsplit(".", 1)[-1] == last]
    return last if len(same) == 1 else key


def _value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ",".join(str(v) for v in value) + "]"
    return str(value)


def differing_keys(runs: Sequence[RunSummary]) -> list[str]:
    """Config keys with more than one value among the runs that have them.

    A key some runs lack (an option of one model only, or a run without config.yaml) is
    no difference by itself: the model column already tells models apart.
    """
    keys = sorted({k for run in runs for k in run.config} - set(IGNORED_KEYS))
    differing = []
    for key in keys:
        values = {json.dumps(r.config[key], default=str) for r in runs if key in r.config}
        if len(values) > 1:
            differing.append(key)
    return differing


@dataclass
class Comparison:
    runs: list[RunSummary]
    differing: list[str]

    @property
    def histories(self) -> dict[str, list[dict[str, Any]]]:
        return {run.label: run.history for run in self.runs}

    def records(self) -> list[dict[str, Any]]:
        """One plain dict per run, raw numbers (the CSV)."""
        return [
            {
                "run": run.label,
                "path": str(run.path),
                "model": run.model,
                "settings": run.settings,
                "parameters": run.parameters,
                "data": run.data,
                "epochs": run.epochs,
                "train_time_s": run.train_time,
                "val_accuracy": run.val_accuracy,
                "test_accuracy": run.test_accuracy,
                "macro_f1": run.macro_f1,
                "macro_f1_on": run.macro_f1_on,
            }
            for run in self.runs
        ]

    HEADER = (
        "run",
        "model",
        "settings",
        "params",
        "data",
        "epochs",
        "train time",
        "val acc",
        "test acc",
        "macro F1",
    )
    NUMERIC = (3, 5, 6, 7, 8, 9)

    def rows(self) -> list[list[str]]:
        """One row of formatted cells per run, in HEADER's order."""
        rows = []
        for run in self.runs:
            f1 = _fmt(run.macro_f1, "{:.3f}")
            if run.macro_f1 is not None and run.macro_f1_on != f"{run.data}:test":
                f1 += f" ({run.macro_f1_on})"
            rows.append(
                [
                    run.label,
                    run.model or "—",
                    run.settings or "—",
                    _fmt(run.parameters, "{:,}"),
                    run.data or "—",
                    _fmt(run.epochs, "{}"),
                    format_seconds(run.train_time),
                    _fmt(run.val_accuracy, "{:.2%}"),
                    _fmt(run.test_accuracy, "{:.2%}"),
                    f1,
                ]
            )
        return rows

    def table(self) -> Table:
        return Table(list(self.HEADER), self.rows(), self.NUMERIC)


def _fmt(value: Any, pattern: str) -> str:
    return "—" if value is None else pattern.format(value)


def format_seconds(seconds: float | None) -> str:
    return "—" if seconds is None else format_duration(seconds)


def compare_runs(run_dirs: Sequence[str | os.PathLike[str]]) -> Comparison:
    """Read the runs and find the settings that tell them apart."""
    if not run_dirs:
        raise CharrecError("name at least one run folder to compare")
    runs = [read_run_summary(d) for d in run_dirs]
    labels = [run.label for run in runs]
    if len(set(labels)) < len(labels):
        # Same folder names under different parents: show the paths instead.
        for run in runs:
            run.label = str(run.path)
    differing = differing_keys(runs) if len(runs) > 1 else []
    for run in runs:
        run.settings = " ".join(
            f"{_short(k, differing)}={_value(run.config[k])}" for k in differing if k in run.config
        )
    return Comparison(runs, differing)


def write_comparison(comparison: Comparison, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """compare.md (table and plot), compare.csv and val_curves.png in `out_dir`."""
    from charrec.evaluate.figures import plot_curves

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise CharrecError(f"--out {out} is a file, not a folder")
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "markdown": out / "compare.md",
        "csv": out / "compare.csv",
        "curves": out / "val_curves.png",
    }
    plot_curves(comparison.histories, paths["curves"])
    records = comparison.records()
    with atomic_open(paths["csv"]) as handle:
        writer = csv.DictWriter(handle, fieldnames=list(records[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
    text = [
        "# Comparison of runs",
        "",
        markdown_table(comparison.table()),
        "",
    ]
    if comparison.differing:
        text += [f"Settings that differ: {', '.join(comparison.differing)}.", ""]
    text += ["![Validation curves](val_curves.png)", "", "*Validation accuracy and loss*", ""]
    with atomic_open(paths["markdown"]) as handle:
        handle.write("\n".join(text))
    return paths
