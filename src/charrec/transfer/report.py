"""The comparison's numbers and its report (Markdown + self-contained HTML, figures, JSON).

Built with `charrec.evaluate.report` (Report, Section, Table, Figure) and the figure
helpers of `charrec.evaluate.figures`; every sentence of the conclusion is made from the
numbers in the tables.
"""

from __future__ import annotations

import csv
import os
import platform
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from charrec.evaluate.paired import paired_difference
from charrec.fileio import atomic_open, write_json
from charrec.transfer.mistakes import HeldOutMistakes, held_out_mistakes, mistakes_figure
from charrec.transfer.run import TRAINED


def _pct(value: float) -> str:
    return f"{100 * value:.2f}%"


def _points(value: float) -> str:
    return f"{100 * value:+.2f}"


def _by_candidate(scores: Sequence[Any]) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = {}
    for score in scores:
        grouped.setdefault(score.candidate, []).append(score)
    for rows in grouped.values():
        rows.sort(key=lambda s: (s.repeat, s.fold))
    return grouped


def summarise(scores: Sequence[Any], plan: Any) -> dict[str, Any]:
    """Mean ± std per candidate, the best strategies, paired differences."""
    grouped = _by_candidate(scores)
    rows = {}
    for name, group in grouped.items():
        acc = np.array([s.accuracy for s in group])
        rows[name] = {
            "mean": float(acc.mean()),
            "std": float(acc.std(ddof=1)) if len(acc) > 1 else 0.0,
            "min": float(acc.min()),
            "max": float(acc.max()),
            "runs": len(acc),
            "train_time_mean": float(np.mean([s.train_time for s in group])),
            "train_time_total": float(np.sum([s.train_time for s in group])),
        }
    uses_source = [c.name for c in plan.candidates if c.uses_source]
    uses_source += [n for n in grouped if n not in uses_source and n == "ensemble"]
    best = max(uses_source, key=lambda n: rows[n]["mean"], default=None)
    trained = [n for n in uses_source if n in TRAINED]
    best_trained = max(trained, key=lambda n: rows[n]["mean"], default=None)
    test_fraction = 1 / plan.folds
    differences = []
    for reference in dict.fromkeys(r for r in (best, "scratch") if r in grouped):
        ref = [s.accuracy for s in grouped[reference]]
        for name, group in grouped.items():
            if name == reference:
                continue
            diff = paired_difference([s.accuracy for s in group], ref, test_fraction)
            differences.append({"candidate": name, "against": reference, **diff.to_dict()})
    return {
        "candidates": rows,
        "best_transfer": best,
        "best_trained": best_trained,
        "differences": differences,
    }


def _tta_sentence(policy: str | None) -> str:
    if policy is None:
        return ""
    from charrec.evaluate.tta import DESCRIPTIONS

    return (
        "Each model is scored on the mean of its probabilities for the held-out images as "
        f"they are and {DESCRIPTIONS[policy]} (test-time augmentation `{policy}`). "
    )


def _settings(overrides: dict[str, Any]) -> str:
    return ", ".join(f"`{k}={v}`" for k, v in overrides.items()) or "none beyond the recipes"


def _machine() -> str:
    """CPU model and core count, for the reader to weigh the times."""
    from charrec.machine import cpu_model

    return f"{cpu_model()}, {os.cpu_count()} cores"


# --- figures -------------------------------------------------------------------------------


def _accuracy_figure(grouped: dict[str, list[Any]], path: Path) -> None:
    from charrec.evaluate.figures import plt, save_figure

    names = list(grouped)
    figure, axis = plt.subplots(figsize=(1.2 * len(names) + 2, 4))
    data = [[100 * s.accuracy for s in grouped[n]] for n in names]
    axis.boxplot(data, showmeans=True, widths=0.5)
    for i, values in enumerate(data, start=1):
        jitter = np.linspace(-0.12, 0.12, len(values)) if len(values) > 1 else [0.0]
        axis.plot(np.add(i, jitter), values, "o", color="#1f77b4", alpha=0.6, markersize=4)
    axis.set_xticks(range(1, len(names) + 1), names, rotation=20, ha="right")
    axis.set_ylabel("held-out fold accuracy (%)")
    axis.grid(axis="y", color="#e4e4e4")
    axis.set_title("Accuracy per fold")
    save_figure(figure, path)


def _curve_figure(curve: dict[str, dict[int, list[float]]], path: Path, zero: float | None):
    from charrec.evaluate.figures import plt, save_figure

    figure, axis = plt.subplots(figsize=(6.5, 4))
    for name, points in curve.items():
        sizes = sorted(points)
        means = [100 * np.mean(points[n]) for n in sizes]
        stds = [100 * np.std(points[n], ddof=1) if len(points[n]) > 1 else 0 for n in sizes]
        axis.errorbar(sizes, means, yerr=stds, marker="o", capsize=3, label=name)
    if zero is not None:
        axis.axhline(100 * zero, color="#888", linestyle="--", label="zero-shot (no training)")
    axis.set_xscale("log")
    axis.set_xlabel("training images per class")
    axis.set_ylabel("held-out fold accuracy (%)")
    axis.grid(color="#e4e4e4")
    axis.legend()
    axis.set_title("Learning curve")
    save_figure(figure, path)


def _confusion(scores: Sequence[Any], classes: Sequence[str]) -> np.ndarray:
    k = len(classes)
    matrix = np.zeros((k, k + 1), dtype=np.int64)
    for score in scores:
        np.add.at(matrix, (np.asarray(score.labels), np.asarray(score.predictions)), 1)
    return matrix if matrix[:, k].any() else matrix[:, :k]


# --- the report ----------------------------------------------------------------------------


def _curve_points(
    scores: Sequence[Any], curve_scores: Sequence[Any], names: Sequence[str], full: int
) -> dict[str, dict[int, list[float]]]:
    curve: dict[str, dict[int, list[float]]] = {n: {} for n in names}
    for score in curve_scores:
        curve[score.candidate].setdefault(score.per_class, []).append(score.accuracy)
    for score in scores:
        if score.candidate in curve and score.repeat == 0:
            curve[score.candidate].setdefault(full, []).append(score.accuracy)
    return curve


def write_comparison_report(
    results: dict[str, Any], scores: Sequence[Any], curve_scores: Sequence[Any], plan: Any
) -> dict[str, Path]:
    """Write report.md, report.html, results.json, folds.csv and the figures into plan.out."""
    from charrec.evaluate.figures import plot_confusion
    from charrec.evaluate.report import Figure, Report, Table, Text, write_report
    from charrec.transfer.compare import _target, _train_size

    out = Path(plan.out)
    out.mkdir(parents=True, exist_ok=True)
    summary = results["summary"]
    rows = summary["candidates"]
    grouped = _by_candidate(scores)
    target = _target(plan)
    full = _train_size(plan) // target.num_classes  # images per class of a training part
    files: dict[str, Path] = {}

    report = Report(f"Transfer from {plan.source} to {plan.data}")
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    report.section(
        "Setup",
        Text(
            f"Source `{plan.source}`; target `{plan.data}` ({len(target):,} images, "
            f"{target.num_classes} classes). Stratified {plan.folds}-fold cross-validation, "
            f"repeated {plan.repeats}× (fold seeds 0..{plan.repeats - 1}): every candidate is "
            "scored on the same held-out folds, so differences are paired. "
            f"Settings applied to every run: {_settings(plan.overrides)}. "
            + _tta_sentence(plan.tta)
            + (
                "The ensemble row averages the probabilities of the trained transfer "
                "strategies of the same fold. "
                if "ensemble" in rows
                else ""
            )
            + f"Run on {stamp}, {platform.node()} ({_machine()}); "
            f"the comparison took {results['comparison_seconds']:.0f} s, "
            f"the learning curve {results['curve_seconds']:.0f} s."
        ),
    )
    table = Table(
        ["candidate", "mean ± std", "min", "max", "runs", "train time / run (s)"],
        [
            [
                name,
                f"{_pct(r['mean'])} ± {100 * r['std']:.2f}",
                _pct(r["min"]),
                _pct(r["max"]),
                r["runs"],
                f"{r['train_time_mean']:.1f}",
            ]
            for name, r in rows.items()
        ],
        numeric=(1, 2, 3, 4, 5),
    )
    files["accuracy"] = out / "accuracy.png"
    _accuracy_figure(grouped, files["accuracy"])
    report.section(
        "Accuracy on the held-out folds",
        table,
        Figure(files["accuracy"], "Accuracy of each run on its held-out fold"),
    )

    diff_rows = [
        [
            d["candidate"],
            d["against"],
            _points(d["mean"]),
            f"[{_points(d['low'])}, {_points(d['high'])}]",
            f"{d['p_value']:.3g}",
            f"[{_points(d['corrected_low'])}, {_points(d['corrected_high'])}]",
            f"{d['corrected_p_value']:.3g}",
        ]
        for d in summary["differences"]
    ]
    report.section(
        "Paired differences",
        Text(
            "Accuracy of the candidate minus the reference, in points, over the paired "
            "folds: mean, 95% t-interval and p-value; then the same with the Nadeau–Bengio "
            "correction for the overlap of the training parts (wider, and the one to trust)."
        ),
        Table(
            ["candidate", "against", "difference", "95% CI", "p", "95% CI, corrected", "p, corr."],
            diff_rows,
            numeric=(2, 3, 4, 5, 6),
        ),
    )

    curve_names = [n for n in (summary["best_trained"], "scratch") if n in rows]
    curve = _curve_points(scores, curve_scores, curve_names, full)
    zero = rows.get("zero-shot", {}).get("mean")
    if curve_scores:
        files["curve"] = out / "learning_curve.png"
        _curve_figure(curve, files["curve"], zero)
        sizes = sorted({n for points in curve.values() for n in points})
        report.section(
            "Learning curve",
            Text(
                f"The best trained transfer strategy and scratch on n training images per "
                f"class of each fold's training part ({full} is all of it), scored on the "
                "same held-out folds (fold seed 0)."
            ),
            Table(
                ["images per class", *curve_names],
                [
                    [n]
                    + [
                        f"{_pct(np.mean(curve[c][n]))} ± {100 * np.std(curve[c][n], ddof=1):.2f}"
                        if len(curve[c].get(n, [])) > 1
                        else (_pct(curve[c][n][0]) if curve[c].get(n) else "—")
                        for c in curve_names
                    ]
                    for n in sizes
                ],
                numeric=tuple(range(len(curve_names) + 1)),
            ),
            Figure(files["curve"], "Accuracy against training images per class"),
        )

    best = summary["best_transfer"]
    if best:
        matrix = _confusion(grouped[best], target.classes)
        columns = list(target.classes) + (["other"] if matrix.shape[1] > target.num_classes else [])
        files["confusion"] = out / "confusion.png"
        plot_confusion(matrix, target.classes, columns, files["confusion"], title=best)
        report.section(
            "Confusion matrix",
            Text(f"{best}, every held-out fold summed ({int(matrix.sum()):,} predictions)."),
            Figure(files["confusion"], f"Confusion matrix of {best} over all held-out folds"),
        )

    if best:
        mistakes = held_out_mistakes(scores, best, plan)
        summary["mistakes"] = mistakes.summary()
        gallery = mistakes_figure(mistakes, out / "mistakes.png")
        if gallery is not None:
            files["mistakes"] = gallery
            report.section(
                "Mistakes",
                Text(_mistakes_text(mistakes)),
                Figure(gallery, f"Held-out images {best} got wrong: label, answer, confidence"),
            )

    report.section(
        "Per fold",
        Table(
            ["candidate", "repeat", "fold", "accuracy", "train time (s)", "run folder"],
            [
                [
                    s.candidate,
                    s.repeat,
                    s.fold,
                    _pct(s.accuracy),
                    f"{s.train_time:.1f}",
                    Path(s.run_dir).relative_to(out),
                ]
                for s in scores
            ],
            numeric=(1, 2, 3, 4),
        ),
    )
    results["conclusion"] = conclusion(results, curve, full)
    report.section("Conclusion", *[Text(t) for t in results["conclusion"]])

    files.update(write_report(report, out))
    files["results"] = out / "results.json"
    write_json(files["results"], results)
    files["folds"] = out / "folds.csv"
    with atomic_open(files["folds"]) as handle:
        writer = csv.writer(handle)
        writer.writerow(["candidate", "repeat", "fold", "per_class", "accuracy", "train_time"])
        for s in [*scores, *curve_scores]:
            writer.writerow(
                [s.candidate, s.repeat, s.fold, s.per_class or "", s.accuracy, s.train_time]
            )
    return files


def _mistakes_text(mistakes: HeldOutMistakes) -> str:
    summary = mistakes.summary()
    pairs = ", ".join(f"{t} read as {p} ({n})" for t, p, n in summary["pairs"][:5])
    text = (
        f"{mistakes.candidate} got {mistakes.count} of the {mistakes.held_out:,} held-out "
        f"images of fold seed 0 wrong; the most frequent: {pairs}. "
    )
    if len(mistakes.trained) > 1:
        text += (
            f"{summary['shared_by_every_trained']} of them were wrong for every trained "
            f'strategy ({", ".join(mistakes.trained)}; marked "all"): images that look '
            "more like their answer than like their label bound what any of them can reach."
        )
    return text


def conclusion(
    results: dict[str, Any], curve: dict[str, dict[int, list[float]]], full: int
) -> list[str]:
    """Sentences stating the result in the numbers of the report."""
    summary = results["summary"]
    rows = summary["candidates"]
    best = summary["best_transfer"]
    lines = []
    if best:
        r = rows[best]
        lines.append(
            f"The best transfer strategy from `{results['source']}` is {best}: "
            f"{_pct(r['mean'])} ± {100 * r['std']:.2f} over {r['runs']} held-out folds."
        )
    for d in summary["differences"]:
        if d["against"] == "scratch" and d["candidate"] == best:
            verdict = (
                "better than"
                if d["corrected_low"] > 0
                else "worse than"
                if d["corrected_high"] < 0
                else "not distinguishable from"
            )
            lines.append(
                f"Against the same architecture trained from scratch on the target alone "
                f"({_pct(rows['scratch']['mean'])} ± {100 * rows['scratch']['std']:.2f}), "
                f"{best} is {verdict} it: {_points(d['mean'])} points "
                f"(95% CI {_points(d['low'])} to {_points(d['high'])}; corrected "
                f"{_points(d['corrected_low'])} to {_points(d['corrected_high'])})."
            )
    if "zero-shot" in rows:
        lines.append(
            f"Used as it is (zero-shot, classes matched by name), the source scores "
            f"{_pct(rows['zero-shot']['mean'])} ± {100 * rows['zero-shot']['std']:.2f}."
        )
    for n in (5, 1):
        parts = [
            f"{name} {_pct(float(np.mean(points[n])))}"
            for name, points in curve.items()
            if points.get(n)
        ]
        if parts:
            lines.append(f"With {n} training image{'s' * (n > 1)} per class: {', '.join(parts)}.")
    mistakes = summary.get("mistakes")
    if mistakes and len(mistakes["trained"]) > 1:
        held = mistakes["held_out"]
        bound = 1 - mistakes["shared_by_every_trained"] / held
        lines.append(
            f"{mistakes['shared_by_every_trained']} of {best}'s {mistakes['count']} "
            f"mistakes were made by every trained strategy; a strategy that made only "
            f"those would score {_pct(bound)}."
        )
    runs = sum(r["runs"] for name, r in rows.items() if name != "ensemble")
    lines.append(
        f"All {runs} runs of the comparison took {results['comparison_seconds']:.0f} s "
        "(wall clock, evaluation included)."
    )
    return lines
