"""`charrec evaluate` and `charrec compare`: thin over charrec.evaluate."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from charrec.commands.options import ClassesOption, DataDirOption

EVALUATE_EPILOG = """\
[bold]Examples[/]

  Evaluate a run on the test split of the data it was trained on:

    charrec evaluate runs/convnet

  A letters model on the letters-dev protocol; a ByClass (62-class) model on the same
  test set, its 'a' and 'A' probabilities summed into the data's class 'A':

    charrec evaluate runs/letters-cnn --data letters-dev
    charrec evaluate runs/byclass-cnn --data letters-dev

  The same letters model on another data set with the classes A..Z (images converted
  to EMNIST's 28×28 frame), its only split "all" taken by default:

    charrec evaluate runs/letters-cnn --data binary-alphadigits-letters

  A shipped model on real handwriting from outside NIST (pictures framed as `charrec
  predict` frames them; letters scored with case ignored):

    charrec evaluate letters --data unipen-letters
    charrec evaluate digits --data semeion

  Scored with test-time augmentation, each image's probabilities averaged over it and
  eight altered copies (one-pixel shifts, 6° turns, 92% and 108% scale):

    charrec evaluate runs/letters-ens --data letters-dev --tta affine

  The report goes to RUN/evaluation/<data>-<split>/ (report.html is one self-contained
  page; report.md and the PNG figures sit beside it), and a summary into RUN/metrics.json
  under "evaluation" → "<data>:<split>"; a shipped model's report goes to
  ./evaluation/<model>/<data>-<split>/. With --tta they are <data>-<split>-tta-<policy>
  and "<data>:<split>:tta-<policy>", beside the plain score.
"""

COMPARE_EPILOG = """\
[bold]Examples[/]

  MLP against CNN, and with against without batch norm, written to a folder:

    charrec compare runs/mlp runs/convnet
    charrec compare runs/cnn runs/cnn-bn --out reports/batch-norm

  --out writes compare.md, compare.csv and val_curves.png (validation accuracy and loss
  per epoch of every run, overlaid).
"""


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.2f}%"


def _model_folder(run: Path) -> tuple[Path, Path | None]:
    """(the folder holding the checkpoint, where its reports go; None: RUN/evaluation/).
    A folder here is a run; a bare name that is not one is a shipped model, whose
    reports go to ./evaluation/<name>/ (its own folder is part of the package)."""
    if run.exists() or len(run.parts) != 1:
        return run, None
    from charrec.infer.pretrained import is_pretrained, pretrained_dir

    if is_pretrained(run.name):
        return pretrained_dir(run.name), Path("evaluation") / run.name
    return run, None


# Optional[...] below: typer needs it on Python 3.10.
# ruff: noqa: UP045
def evaluate(
    run: Annotated[
        Path,
        typer.Argument(help="Run folder written by `charrec train`, or a shipped model's name."),
    ],
    data: Annotated[
        Optional[str],
        typer.Option(
            "--data",
            "-d",
            help="Data set name or a data file or folder (default: the run's own).",
            show_default=False,
        ),
    ] = None,
    classes: ClassesOption = None,
    split: Annotated[
        Optional[str],
        typer.Option(
            "--split",
            "-s",
            help="Split (default: test, or the data set's only split).",
            show_default=False,
        ),
    ] = None,
    data_dir: DataDirOption = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", "-b", min=1, help="Images per inference batch.")
    ] = 1000,
    device: Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")] = "auto",
    tta: Annotated[
        Optional[str],
        typer.Option(
            "--tta",
            help="Test-time augmentation: shift (5 views) or affine (9 views).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Evaluate a trained run on a data set: metrics, figures and a report.

    Accuracy, top-3/top-5, macro and per-class precision/recall/F1, the confusion matrix,
    the most confused pairs (look-alikes, case-only errors), calibration (ECE, reliability
    diagram) and inference throughput. Works on any data set whose classes the model can
    name: classes are matched by name, case merged where the data or the model merges it.
    """
    from charrec.evaluate.evaluation import evaluate_run

    # No emoji codes: a key like "scans:train:" is data, not ":train:".
    console = Console(emoji=False)
    run, report_root = _model_folder(run)
    result = evaluate_run(
        run,
        data,
        split,
        data_dir,
        classes=classes,
        batch_size=batch_size,
        device=device,
        report_root=report_root,
        tta=tta,
    )
    m = result.metrics
    model = m["model"]
    console.print(
        f"{model['name']} ({result.run_dir}) on {result.key}: {m['images']:,} images; "
        f"{m['label_space']['description']}",
        highlight=False,
        soft_wrap=True,
    )
    table = Table("metric", "value", show_header=False)
    table.columns[1].justify = "right"
    rows: list[tuple[str, Any]] = [
        ("accuracy", _pct(m["accuracy"])),
        ("top-3 / top-5 accuracy", f"{_pct(m['top_3_accuracy'])} / {_pct(m['top_5_accuracy'])}"),
        (
            "macro precision / recall / F1",
            f"{m['macro']['precision']:.3f} / {m['macro']['recall']:.3f} / {m['macro']['f1']:.3f}",
        ),
        ("expected calibration error", _pct(m["ece"])),
        ("inference", f"{m['throughput']['images_per_second']:,.0f} images/s"),
    ]
    if m.get("tta"):
        rows.append(("test-time augmentation", f"{m['tta']['policy']}, {m['tta']['views']} views"))
    if model.get("parameters"):
        members = f" in {model['members']} members" if model.get("members") else ""
        rows.append(("model size", f"{model['parameters']:,} parameters{members}"))
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    if m["outside_predictions"]:
        console.print(
            f"{m['outside_predictions']:,} predictions fell on model classes outside the data's "
            "classes (counted as errors)",
            highlight=False,
            soft_wrap=True,
        )
    c = m["confusions"]
    pairs = ", ".join(f"{'/'.join(p['pair'])} ({p['count']})" for p in c["top_confused_pairs"][:5])
    if pairs:
        console.print(f"most confused: {pairs}", highlight=False, soft_wrap=True)
    if "look_alike_errors" in c:
        console.print(
            f"look-alike pairs: {c['look_alike_errors']:,} of {c['errors']:,} errors",
            highlight=False,
            soft_wrap=True,
        )
    if "case_only_errors" in c:
        console.print(
            f"case-only errors: {c['case_only_errors']:,} of {c['errors']:,}; accuracy ignoring "
            f"case {_pct(c['accuracy_ignoring_case'])}",
            highlight=False,
            soft_wrap=True,
        )
    console.print(f"report: {result.files['html']}", highlight=False, soft_wrap=True)


def compare(
    runs: Annotated[list[Path], typer.Argument(help="Run folders to compare.")],
    out: Annotated[
        Optional[Path],
        typer.Option(
            "--out",
            "-o",
            help="Write compare.md, compare.csv and val_curves.png here.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Compare runs side by side: a table and the validation curves overlaid.

    The table shows model, the settings that differ between the runs, parameters, data,
    epochs, training time, validation and test accuracy, and macro F1 where evaluated.
    """
    from charrec.evaluate.compare import compare_runs, write_comparison

    comparison = compare_runs(runs)
    console = Console()
    if not console.is_terminal:
        # Written to a file or a pipe: no terminal width to respect, keep every cell whole.
        console = Console(width=max(console.width, 200))
    table = Table(*comparison.HEADER)
    for i, column in enumerate(table.columns):
        if i in comparison.NUMERIC:
            column.justify, column.no_wrap = "right", True
        else:
            column.overflow = "fold"
    best = {
        key: max(
            (getattr(r, key) for r in comparison.runs if getattr(r, key) is not None), default=None
        )
        for key in ("val_accuracy", "test_accuracy")
    }
    for run, cells in zip(comparison.runs, comparison.rows(), strict=True):
        row = [escape(cell) for cell in cells]  # settings like hidden=[512,256] are not markup
        # The best accuracies in bold.
        for key, column in (("val_accuracy", 7), ("test_accuracy", 8)):
            if (
                len(comparison.runs) > 1
                and best[key] is not None
                and getattr(run, key) == best[key]
            ):
                row[column] = f"[bold]{row[column]}[/]"
        table.add_row(*row)
    console.print(table)
    if out is not None:
        paths = write_comparison(comparison, out)
        console.print(
            f"wrote {paths['markdown']}, {paths['csv']}, {paths['curves']}",
            highlight=False,
            soft_wrap=True,
        )
