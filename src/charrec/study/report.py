"""What a finished study leaves for people: results.csv and a report (Markdown + HTML).

The report shows, per arm (MLP, CNN): a table and a figure per factor (each option's
mean ± std of validation accuracy over the folds, its paired difference to the best so
far with a 95% interval, which was chosen, training time), the final configuration, the
baseline against the final model on the test split, the final models' curves, training
time, six test images with their top predictions, confusion matrices, and accuracy,
precision, recall and F1 side by side. Evaluation reuses charrec.evaluate.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np

from charrec.evaluate.compare import flatten, format_seconds
from charrec.fileio import atomic_open
from charrec.study.ofat import BASELINE, FINAL, ArmPlan, Plan, StageResult
from charrec.study.spec import StudySpec

SAMPLE_SEED = 0
SAMPLES = 6
CSV_COLUMNS = (
    "arm",
    "stage",
    "factor",
    "option",
    "fold",
    "chosen",
    "val_accuracy",
    "val_loss",
    "test_accuracy",
    "train_time",
    "epochs",
    "candidate",
    "host",
    "run_dir",
)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.2f}%"


def results_rows(plan: Plan, results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per trained unit, in study order (a unit shared by stages appears in each)."""
    rows = []
    for arm in plan.arms:
        for stage in arm.stages:
            for option in stage.options:
                for unit in option.units:
                    rows.append(_row(arm.arm, stage, option.label, option.chosen, unit, results))
        for role, unit in arm.finals.items():
            if unit.key in results:
                final = StageResult(unit.stage, FINAL, [])
                rows.append(_row(arm.arm, final, role, role == FINAL, unit, results))
    return rows


def _row(arm: str, stage: StageResult, option: str, chosen: bool, unit, results) -> dict:
    result = results[unit.key]
    return {
        "arm": arm,
        "stage": stage.stage,
        "factor": stage.factor,
        "option": option,
        "fold": "" if unit.fold is None else unit.fold,
        "chosen": chosen,
        **{k: result.get(k) for k in ("val_accuracy", "val_loss", "test_accuracy")},
        "train_time": result.get("train_time"),
        "epochs": result.get("epochs"),
        "candidate": unit.candidate,
        "host": result.get("host"),
        "run_dir": result.get("run_dir") or unit.config.run.out,
    }


def write_results_csv(rows: list[dict[str, Any]], path: Path) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    with atomic_open(path) as handle:
        handle.write(buffer.getvalue())


def _changes(before: dict[str, Any], after: dict[str, Any]) -> list[list[str]]:
    flat_before, flat_after = flatten(before), flatten(after)
    skip = ("run.", "data.", "training.epochs", "training.num_threads")
    keys = [k for k in flat_after if flat_before.get(k) != flat_after[k] and not k.startswith(skip)]
    return [[k, str(flat_before.get(k)), str(flat_after[k])] for k in keys]


def write_report(
    spec: StudySpec,
    plan: Plan,
    results: dict[str, dict[str, Any]],
    out: Path,
    wall_time: float | None = None,
) -> dict[str, Path]:
    """results.csv, figures/, report.md and report.html in `out`; returns their paths."""
    from charrec.evaluate.report import write_report as write_pages

    report, _ = build_report(spec, plan, results, out, wall_time)
    return {**write_pages(report, out), "csv": out / "results.csv"}


def build_report(
    spec: StudySpec,
    plan: Plan,
    results: dict[str, dict[str, Any]],
    out: Path,
    wall_time: float | None = None,
) -> tuple[Any, dict[str, Any]]:
    """The report (figures and results.csv written into `out`) and the final models'
    evaluations by arm and role."""
    from charrec.evaluate import figures
    from charrec.evaluate.report import Figure, Report, Table, Text

    figure_dir = out / "figures"
    figure_dir.mkdir(parents=True, exist_ok=True)
    write_results_csv(results_rows(plan, results), out / "results.csv")
    report = Report(f"Study {spec.name}: one factor at a time on {spec.data}")
    trials = sum(len(o.units) for a in plan.arms for s in a.stages for o in s.options)
    candidates = len({o.candidate for a in plan.arms for s in a.stages for o in s.options})
    report.section(
        "The study",
        Text(
            f"Data: `{spec.data}`. Each candidate is scored by stratified {spec.folds}-fold "
            "cross-validation on the training split only (the same folds for every "
            "candidate, so differences are paired); the test split is used once, by the "
            "final models. Per trial: "
            f"{spec.trial_epochs or 'the base config’s'} epochs, "
            f"{spec.trial_limit or 'all'} training images. Each factor's options are "
            "applied to the best configuration so far; the option with the highest mean "
            "validation accuracy is kept for every later factor. *The difference to the "
            "best so far is paired fold by fold, in points, with a 95% Student-t interval "
            "widened by the Nadeau-Bengio correction (folds share most training images)."
        ),
        Text(
            f"{candidates} distinct candidates, {trials} cross-validation trials"
            + (f"; this run of the command took {format_seconds(wall_time)}" if wall_time else "")
            + f". Rerun or continue it with `charrec study run --spec {out / 'study.yaml'} "
            f"--out {out}`; every trial is a run folder (`charrec evaluate` accepts it) and "
            f"`charrec tensorboard {out}` shows all of them in one HParams view."
        ),
    )
    finals: dict[str, Any] = {}
    for arm_spec, arm in zip(spec.arms, plan.arms, strict=True):
        blocks: list[Any] = []
        for stage in arm.stages:
            blocks += _stage_blocks(arm, stage, figure_dir, figures, Table, Figure, Text)
        if arm.current is not None:
            changes = _changes(arm_spec.base.to_dict(), arm.current.to_dict())
            blocks.append(Text("**Final configuration**: what the study changed in the base."))
            blocks.append(Table(["config key", "base", "final"], changes or [["(none)", "", ""]]))
        report.section(f"{arm.arm}: one factor at a time", *blocks)
        finals[arm.arm] = evaluate_finals(arm.finals, results)
    epochs = spec.final_epochs or spec.trial_epochs
    budget = f"{epochs} epoch{'s' * (epochs != 1)}" if epochs else "the config's epochs"
    final_sections(report, finals, figure_dir, budget)
    return report, finals


def _stage_blocks(arm: ArmPlan, stage: StageResult, figure_dir, figures, Table, Figure, Text):
    rows, labels, means, stds = [], [], [], []
    for option in stage.options:
        rows.append(
            [
                option.label,
                str(option.score),
                " ".join(f"{100 * v:.2f}" for v in option.folds),
                "" if option.vs_best is None else str(option.vs_best),
                "yes" if option.chosen else "",
                format_seconds(option.train_time),
            ]
        )
        labels.append(option.label)
        means.append(option.score.mean)
        stds.append(option.score.std)
    title = "Baseline" if stage.factor == BASELINE else f"Factor {stage.stage}: {stage.factor}"
    header = ["option", "val. accuracy (mean ± std)", "per fold", "vs best so far, 95% CI*"]
    blocks = [
        Text(f"**{title}**"),
        Table([*header, "chosen", "training time"], rows, numeric=(1, 3, 5)),
    ]
    if stage.factor != BASELINE:
        path = figure_dir / f"{arm.arm}-{stage.stage:02d}-{_slug(stage.factor)}.png"
        chosen = next(i for i, o in enumerate(stage.options) if o.chosen)
        figures.plot_scores(labels, means, stds, path, f"{arm.arm}: {stage.factor}", chosen)
        blocks.append(Figure(path, f"{arm.arm}, {stage.factor}: mean ± std over the folds"))
    return blocks


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


def evaluate_finals(finals: dict[str, Any], results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The final models evaluated on the test split (charrec.evaluate writes its report)."""
    from charrec.evaluate import evaluate_run

    evaluated: dict[str, Any] = {}
    by_key: dict[str, Any] = {}
    for role, unit in finals.items():
        if unit.key not in results:
            continue
        if unit.key not in by_key:
            folder = results[unit.key].get("run_dir") or unit.config.run.out
            by_key[unit.key] = evaluate_run(folder, split="test")
        evaluated[role] = {
            "unit": unit,
            "result": results[unit.key],
            "evaluation": by_key[unit.key],
        }
    return evaluated


def final_sections(report: Any, finals: dict[str, Any], figure_dir: Path, budget: str) -> None:
    """Baseline against final on test, then the final models side by side."""
    from charrec.evaluate import figures
    from charrec.evaluate.report import Figure, Table, Text

    rows = []
    for arm, roles in finals.items():
        for role in (BASELINE, FINAL):
            if role in roles:
                result = roles[role]["result"]
                rows.append(
                    [
                        arm,
                        role,
                        _pct(result.get("test_accuracy")),
                        format_seconds(result.get("train_time")),
                        result.get("epochs"),
                    ]
                )
    report.section(
        "Baseline against final, on the test split",
        Text(f"Trained on the whole training split ({budget}) and tested once."),
        Table(["arm", "model", "test accuracy", "training time", "epochs"], rows, (2, 3, 4)),
    )
    metric_rows, blocks = [], []
    for arm, roles in finals.items():
        if FINAL not in roles:
            continue
        evaluation = roles[FINAL]["evaluation"]
        metrics = evaluation.metrics
        macro = metrics["macro"]
        metric_rows.append(
            [
                arm,
                metrics["model"]["name"],
                _pct(metrics["accuracy"]),
                _pct(macro["precision"]),
                _pct(macro["recall"]),
                _pct(macro["f1"]),
                format_seconds(roles[FINAL]["result"].get("train_time")),
                f"{metrics['model']['parameters']:,}",
            ]
        )
        files = evaluation.files or {}
        if "history" in files:
            blocks.append(Figure(files["history"], f"{arm}: loss and accuracy per epoch"))
        samples = figure_dir / f"{arm}-test-samples.png"
        _sample_figure(evaluation, samples, figures)
        blocks.append(Figure(samples, f"{arm}: six test images, top predictions and true label"))
        if "confusion_normalised" in files:
            blocks.append(Figure(files["confusion_normalised"], f"{arm}: confusion matrix"))
    header = ["arm", "model", "accuracy", "precision", "recall", "F1", "training time"]
    report.section(
        "The final models side by side",
        Text("Test split; precision, recall and F1 are macro averages over the classes."),
        Table([*header, "parameters"], metric_rows, numeric=(2, 3, 4, 5, 6, 7)),
        *blocks,
    )


def _sample_figure(evaluation, path: Path, figures) -> None:
    """Six test images drawn with a fixed seed, titled with the top 3 and the truth."""
    probs, labels = evaluation.probs, evaluation.labels
    columns = evaluation.space.columns
    classes = evaluation.metrics["classes"]
    rng = np.random.default_rng(SAMPLE_SEED)
    pick = np.sort(rng.choice(len(labels), size=min(SAMPLES, len(labels)), replace=False))
    titles, colours = [], []
    for i in pick:
        top = np.argsort(probs[i])[::-1][:3]
        lines = [f"{columns[k]} {100 * probs[i][k]:.0f}%" for k in top]
        titles.append("\n".join([*lines, f"true {classes[labels[i]]}"]))
        colours.append("#1a7f37" if columns[top[0]] == classes[labels[i]] else "#c62828")
    figures.image_grid(
        evaluation.images[pick], titles, path, columns=len(pick), title_colors=colours
    )
