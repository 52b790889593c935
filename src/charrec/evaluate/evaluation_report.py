"""The figures and the report document of one evaluation (see evaluation.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from charrec.evaluate import figures
from charrec.evaluate.report import Figure, Report, Table, Text

if TYPE_CHECKING:
    from charrec.evaluate.evaluation import EvaluationResult

SAMPLES = 6
# The sample is drawn with this seed from the whole split, so the same run and data show
# the same images (a class-sorted test file's first images would all be one class).
SAMPLE_SEED = 0
TOP_K = 5
MISTAKES = 16


def _pct(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{100 * value:.{digits}f}%"


def _num(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def most_confident_mistakes(result: EvaluationResult, count: int = MISTAKES) -> np.ndarray:
    """Indices of the wrong predictions with the highest confidence, highest first."""
    preds = result.predictions
    wrong = np.flatnonzero(preds != result.labels)
    confidence = result.probs[wrong, preds[wrong]]
    # Stable sort: equal confidences keep image order, so the gallery is deterministic.
    return wrong[np.argsort(-confidence, kind="stable")[:count]]


def sample_indices(count: int, size: int = SAMPLES, seed: int = SAMPLE_SEED) -> np.ndarray:
    """`size` indices drawn at random (without replacement, seeded) from `count`, sorted."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(count, size=min(size, count), replace=False))


def make_figures(result: EvaluationResult, folder: Path) -> dict[str, Path]:
    """Write every figure of the report into `folder`; returns their paths by role."""
    m = result.metrics
    classes, columns = m["classes"], result.space.columns
    where = f"{result.data}:{result.split}"
    paths: dict[str, Path] = {}
    if result.history:
        paths["history"] = folder / "history.png"
        figures.plot_history(result.history, paths["history"], title="Training curves")
    # Rows only for classes with images (letters-dev's test has none of T..Z); every
    # column stays, since a prediction of any class is worth seeing.
    present = [i for i, c in enumerate(classes) if m["per_class"][c]["support"] > 0]
    matrix = np.asarray(m["confusion_matrix"])[present]
    for role, normalise, what in (
        ("confusion_counts", False, "counts"),
        ("confusion_normalised", True, "row-normalised"),
    ):
        paths[role] = folder / f"{role}.png"
        figures.plot_confusion(
            matrix,
            [classes[i] for i in present],
            m["confusion_columns"],
            paths[role],
            normalise=normalise,
            title=f"Confusion matrix, {what} ({where})",
        )
    paths["reliability"] = folder / "reliability.png"
    figures.plot_reliability(m["calibration"], paths["reliability"])
    names = [classes[i] for i in present]
    paths["per_class_f1"] = folder / "per_class_f1.png"
    figures.plot_per_class(
        names,
        [m["per_class"][c]["f1"] for c in names],
        paths["per_class_f1"],
        "F1",
        m["macro"]["f1"],
    )
    preds = result.predictions
    confidence = result.probs[np.arange(len(preds)), preds]
    sample = sample_indices(len(preds))
    paths["samples"] = folder / "samples.png"
    figures.prediction_grid(
        result.images[sample],
        [classes[i] for i in result.labels[sample]],
        [columns[i] for i in preds[sample]],
        confidence[sample],
        paths["samples"],
        columns=max(len(sample), 1),
        suptitle=f"{len(sample)} images of {where} drawn at random (seed {SAMPLE_SEED})",
    )
    k = min(TOP_K, len(columns))
    order = np.argsort(-result.probs[sample], axis=1, kind="stable")[:, :k]
    paths["samples_top"] = folder / "samples_top.png"
    figures.plot_top_predictions(
        result.images[sample],
        [classes[i] for i in result.labels[sample]],
        [
            [(columns[j], float(result.probs[i, j])) for j in row]
            for i, row in zip(sample, order, strict=True)
        ],
        paths["samples_top"],
        suptitle=f"Top {k} predictions of the same images",
    )
    mistakes = most_confident_mistakes(result)
    if len(mistakes):
        paths["mistakes"] = folder / "mistakes.png"
        figures.prediction_grid(
            result.images[mistakes],
            [classes[i] for i in result.labels[mistakes]],
            [columns[i] for i in preds[mistakes]],
            confidence[mistakes],
            paths["mistakes"],
            columns=min(8, len(mistakes)),
            suptitle="Most confident mistakes",
        )
    return paths


def _pair_rows(pairs: list[dict[str, Any]], errors: int) -> list[list[object]]:
    rows = []
    for p in pairs:
        a, b = p["pair"]
        kind = "case only" if p["case_only"] else ("look-alike" if p["look_alike"] else "")
        share = f"{100 * p['count'] / errors:.1f}%" if errors else "—"
        rows.append([f"{a} / {b}", p["count"], share, p["a_as_b"], p["b_as_a"], kind])
    return rows


def _duration(seconds: float) -> str:
    minutes, rest = divmod(float(seconds), 60)
    hours, minutes = divmod(int(minutes), 60)
    if hours:
        return f"{hours} h {minutes} min {rest:.0f} s"
    return f"{minutes} min {rest:.1f} s" if minutes else f"{rest:.1f} s"


def _training_sentence(training: dict[str, Any]) -> str:
    epochs = training.get("epochs")
    speed = training.get("images_per_second")
    parts = [f"Trained in {_duration(training['train_time'])}"]
    if epochs:
        parts[0] += f" ({epochs} epoch{'s' * (epochs != 1)})"
    if speed:
        parts.append(f"{speed:,.0f} training images/s")
    if training.get("device"):
        parts.append(f"on {training['device']}")
    return ", ".join(parts) + " (the run's metrics.json)."


def _training_table(training: dict[str, Any]) -> Table:
    rows = [["training time", _duration(training["train_time"])]]
    if training.get("epochs"):
        rows.append(["epochs", str(training["epochs"])])
    if training.get("images_per_second"):
        rows.append(["training speed", f"{training['images_per_second']:,.0f} images/s"])
    if training.get("device"):
        rows.append(["device", str(training["device"])])
    return Table(["training", "value"], rows, numeric=(1,))


def build_report(result: EvaluationResult, folder: Path) -> tuple[Report, dict[str, Path]]:
    """The figures (written into `folder`) and the report document."""
    m = result.metrics
    paths = make_figures(result, folder)
    model = m["model"]
    report = Report(f"Evaluation of {result.run_dir.name} on {result.key}")

    params = f"{model['parameters']:,} parameters" if model.get("parameters") else ""
    trained = f"trained on {model['trained_on']}" if model.get("trained_on") else ""
    epoch = f"epoch {model['epoch']}" if model.get("epoch") is not None else ""
    described = ", ".join(x for x in (params, trained, epoch) if x)
    intro = [
        Text(f"Model `{model['name']}` ({described}), run folder `{result.run_dir}`."),
        Text(
            f"Data: {result.key}, {m['images']:,} images in {m['classes_evaluated']} of "
            f"{len(m['classes'])} classes; {m['label_space']['description']}."
        ),
    ]
    if m["label_space"].get("resized"):
        intro.append(Text(f"Note: {m['label_space']['resized']}."))
    if m.get("tta"):
        intro.append(
            Text(
                f"Test-time augmentation `{m['tta']['policy']}`: each image's probabilities "
                f"are the mean over {m['tta']['views']} views of it (the image and altered "
                "copies); throughput counts each image once, over all its views."
            )
        )
    throughput = m["throughput"]
    headline = Table(
        ["metric", "value"],
        [
            ["accuracy", _pct(m["accuracy"])],
            ["top-3 accuracy", _pct(m.get("top_3_accuracy"))],
            ["top-5 accuracy", _pct(m.get("top_5_accuracy"))],
            ["errors", f"{m['errors']:,} of {m['images']:,}"],
            ["macro precision", _num(m["macro"]["precision"])],
            ["macro recall", _num(m["macro"]["recall"])],
            ["macro F1", _num(m["macro"]["f1"])],
            ["expected calibration error (15 bins)", _pct(m["ece"])],
            [
                "inference throughput",
                f"{throughput['images_per_second']:,.0f} images/s "
                f"(batch {throughput['batch_size']}, {throughput['device']})",
            ],
        ],
        numeric=(1,),
    )
    if m["outside_predictions"]:
        intro.append(
            Text(
                f"{m['outside_predictions']:,} predictions fell on model classes outside the "
                'data\'s classes (column "other" of the confusion matrix); they count as errors.'
            )
        )
    training = m.get("training") or {}
    if training.get("train_time") is not None:
        intro.append(Text(_training_sentence(training)))
    report.section("Summary", *intro, headline)

    if "history" in paths or training.get("train_time") is not None:
        blocks: list[Any] = []
        if training.get("train_time") is not None:
            blocks.append(_training_table(training))
        if "history" in paths:
            blocks.append(
                Figure(paths["history"], "Loss and accuracy per epoch, train and validation")
            )
        report.section("Training", *blocks)

    present = [c for c in m["classes"] if m["per_class"][c]["support"] > 0]
    per_class_rows = [
        [
            c,
            _num(m["per_class"][c]["precision"]),
            _num(m["per_class"][c]["recall"]),
            _num(m["per_class"][c]["f1"]),
            m["per_class"][c]["support"],
        ]
        for c in present
    ]
    worst = sorted(present, key=lambda c: m["per_class"][c]["f1"])[:5]
    report.section(
        "Per class",
        Figure(paths["per_class_f1"], "F1 per class; dashed: macro F1"),
        Text("Lowest F1: " + ", ".join(f"{c} ({m['per_class'][c]['f1']:.3f})" for c in worst)),
        Table(["class", "precision", "recall", "F1", "images"], per_class_rows, (1, 2, 3, 4)),
    )

    report.section(
        "Confusion matrix",
        Figure(paths["confusion_counts"], "Counts (rows: true class, columns: predicted)"),
        Figure(paths["confusion_normalised"], "Row-normalised: share of each true class"),
    )

    c = m["confusions"]
    errors = c["errors"]
    blocks: list[Any] = [
        Text("Pairs of classes by symmetric count (a shown as b plus b shown as a)."),
        Table(
            ["pair", "errors", "share of errors", "a→b", "b→a", "kind"],
            _pair_rows(c["top_confused_pairs"], errors),
            (1, 2, 3, 4),
        ),
    ]
    if "look_alike_errors" in c:
        blocks.append(
            Text(
                f"Look-alike pairs (g/q, i/l, u/v, o/0, …) account for "
                f"{c['look_alike_errors']:,} of {errors:,} errors "
                f"({_pct(c['look_alike_share'], 1)})."
            )
        )
    if "case_only_errors" in c:
        blocks.append(
            Text(
                f"Case-only errors (c shown as C and the like): {c['case_only_errors']:,} of "
                f"{errors:,} errors ({_pct(c['case_only_share'], 1)}); accuracy ignoring case "
                f"would be {_pct(c['accuracy_ignoring_case'])}."
            )
        )
    report.section("Most confused pairs", *blocks)

    temperature = (m.get("model") or {}).get("temperature")
    scaled = (
        f" The model's logits are divided by a temperature of {temperature:.3f}, fitted on "
        "its validation split after training."
        if temperature
        else ""
    )
    report.section(
        "Calibration",
        Text(
            f"Expected calibration error {_pct(m['ece'])}: the mean confidence is "
            f"{_pct(m['calibration']['mean_confidence'])} for an accuracy of "
            f"{_pct(m['accuracy'])}.{scaled}"
        ),
        Figure(paths["reliability"], "Reliability diagram: accuracy per confidence bin"),
    )

    examples = [
        Figure(
            paths["samples"],
            f"{SAMPLES} test images drawn at random (seed {SAMPLE_SEED}), predicted and true "
            "labels",
        ),
        Figure(paths["samples_top"], "The same images: top predictions and probabilities"),
    ]
    if "mistakes" in paths:
        examples.append(Figure(paths["mistakes"], "Most confident mistakes"))
    report.section("Examples", *examples)

    report.section(
        "Speed",
        Text(
            f"{throughput['images_per_second']:,.0f} images/s: {throughput['images']:,} images "
            f"in {throughput['seconds']:.2f} s, batches of {throughput['batch_size']} on "
            f"{throughput['device']}"
            + (f" ({throughput['threads']} threads)" if throughput.get("threads") else "")
            + ", measured in this evaluation, preprocessing and softmax included."
        ),
    )
    return report, paths
