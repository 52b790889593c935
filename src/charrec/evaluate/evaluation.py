"""Evaluate a trained run on a data set split: predictions, metrics, and what gets written.

    result = evaluate_run("runs/convnet", data="letters-dev", split="test")
    result.metrics["accuracy"], result.files["html"]

writes RUN/evaluation/<data>-<split>/ (metrics.json, report.md, report.html, figures)
and merges a summary into RUN/metrics.json under "evaluation" → "<data>:<split>",
keeping what training wrote there.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from sklearn.metrics import confusion_matrix

from charrec.data.imageset import ImageSet
from charrec.errors import CharrecError, DataError
from charrec.evaluate.confusions import confusion_analysis
from charrec.evaluate.inference import DEFAULT_BATCH, predict_probs
from charrec.evaluate.labelspace import LabelSpace, match_classes, merge_data_case
from charrec.evaluate.metrics import compute_metrics
from charrec.fileio import write_json

# Left out of the run's own metrics.json (kept in the evaluation folder's): too long there.
_DETAIL_KEYS = ("confusion_matrix", "confusion_columns")


@dataclass
class EvaluationResult:
    run_dir: Path
    data: str
    split: str
    metrics: dict[str, Any]
    # What was evaluated, for figures: the images (model input size), true labels, and
    # probabilities over `space.columns` (data classes, then model classes outside them).
    images: np.ndarray
    labels: np.ndarray
    probs: np.ndarray
    space: LabelSpace
    meta: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    # Written files by role (metrics, markdown, html, figure names); empty if not written.
    files: dict[str, Path] = field(default_factory=dict)
    # Where the evaluation folders go when not RUN/evaluation/ (a shipped model's own
    # folder is part of the installed package, never written to).
    report_root: Path | None = None

    @property
    def tta(self) -> str | None:
        """The test-time augmentation policy scored with, if any."""
        return (self.metrics.get("tta") or {}).get("policy")

    @property
    def key(self) -> str:
        """data:split, and :tta-POLICY with test-time augmentation (kept apart from the
        plain score, as its own report and metrics entry)."""
        return f"{self.data}:{self.split}" + (f":tta-{self.tta}" if self.tta else "")

    @property
    def accuracy(self) -> float:
        return float(self.metrics["accuracy"])

    @property
    def predictions(self) -> np.ndarray:
        return self.probs.argmax(axis=1)

    @property
    def out_dir(self) -> Path:
        split = f"{self.split}-tta-{self.tta}" if self.tta else self.split
        if self.report_root is not None:
            return self.report_root / evaluation_dir("", self.data, split).name
        return evaluation_dir(self.run_dir, self.data, split)


def evaluation_dir(run_dir: str | os.PathLike[str], data: str, split: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{data}-{split}")
    return Path(run_dir) / "evaluation" / safe


def _run_data_option(run_dir: Path, key: str) -> str | None:
    """A data option the run was trained with (config.yaml), if it named one."""
    try:
        config = yaml.safe_load((run_dir / "config.yaml").read_text())
        return config["data"][key]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return None


def _run_data_dir(run_dir: Path) -> str | None:
    """The data directory the run was trained with (config.yaml), if it named one."""
    return _run_data_option(run_dir, "data_dir")


def _fit_size(dataset: ImageSet, size: tuple[int, int]) -> tuple[np.ndarray, str]:
    """Images at the model's input size; other sizes go to EMNIST's frame, once, here."""
    if dataset.image_shape == tuple(size):
        return dataset.images, ""
    if size[0] != size[1]:
        raise DataError(
            f"{dataset.name or 'the data'} has {dataset.image_shape[0]}×{dataset.image_shape[1]} "
            f"images but the model takes {size[0]}×{size[1]}"
        )
    from charrec.data.resize import to_emnist_frame

    note = (
        f"images converted from {dataset.image_shape[0]}×{dataset.image_shape[1]} "
        f"to EMNIST's {size[0]}×{size[1]} frame"
    )
    return to_emnist_frame(dataset.images, size=size[0]), note


def run_training_facts(run_dir: Path) -> dict[str, Any]:
    """How long the run trained and how fast (its metrics.json), or {} if it does not say."""
    path = run_dir / "metrics.json"
    if not path.is_file():
        return {}
    from charrec.fileio import read_json

    try:
        metrics = read_json(path)
    except CharrecError:
        return {}
    if not isinstance(metrics, dict):
        return {}
    keys = ("train_time", "images_per_second", "epochs", "device")
    return {key: metrics[key] for key in keys if metrics.get(key) is not None}


def evaluate_model(
    model: Any,
    meta: dict[str, Any],
    dataset: ImageSet,
    batch_size: int = DEFAULT_BATCH,
    device: str = "auto",
    tta: str | None = None,
) -> tuple[dict[str, Any], np.ndarray, np.ndarray, LabelSpace]:
    """Metrics of `model` (described by `meta`, model.json) on `dataset`.

    `tta` names a test-time augmentation policy (charrec.evaluate.tta): the probabilities
    are then averaged over its views of each image. Returns (metrics, images as fed to
    the model, probabilities over the label space's columns, the label space).
    """
    prediction = predict_dataset(
        model, meta, dataset, tta=tta, device=device, batch_size=batch_size
    )
    metrics = metrics_of(prediction, dataset)
    return metrics, prediction.images, prediction.probs, prediction.space


@dataclass
class Prediction:
    """A model's probabilities on a data set, before any metric is computed from them."""

    images: np.ndarray  # as fed to the model (its input size)
    probs: np.ndarray  # over space.columns
    space: LabelSpace
    throughput: dict[str, Any]
    tta: str | None
    resize_note: str


def predict_dataset(
    model: Any,
    meta: dict[str, Any],
    dataset: ImageSet,
    *,
    tta: str | None = None,
    device: str = "auto",
    batch_size: int = DEFAULT_BATCH,
) -> Prediction:
    """`model`'s probabilities on `dataset`, its classes matched to the data's."""
    model_classes = tuple(meta["classes"])
    space = match_classes(model_classes, dataset.classes, dataset.counts(), dataset.name)
    size = tuple(meta.get("preprocessing", {}).get("input_size", (28, 28)))
    images, resize_note = _fit_size(dataset, size)

    def predict(view: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
        return predict_probs(model, meta["preprocessing"], view, batch_size, device)

    if tta is None:
        model_probs, throughput = predict(images)
    else:
        from charrec.evaluate.tta import tta_probs

        model_probs, throughput = tta_probs(predict, images, tta)
    return Prediction(images, space.apply(model_probs), space, throughput, tta, resize_note)


def metrics_of(prediction: Prediction, dataset: ImageSet) -> dict[str, Any]:
    """Metrics, confusions and cost of a prediction on `dataset`."""
    probs, space = prediction.probs, prediction.space
    metrics = compute_metrics(probs, dataset.labels, dataset.classes)
    # Pairs over every model class, so that a ByClass model's 'O' shown as '0' is a pair
    # of its own rather than part of the "other" column.
    full = confusion_matrix(
        dataset.labels, probs.argmax(axis=1), labels=np.arange(len(space.columns))
    )[: len(dataset.classes)]
    metrics["confusions"] = confusion_analysis(full, dataset.classes, columns=space.columns)
    metrics["throughput"] = prediction.throughput
    views = prediction.throughput.get("views")
    metrics["tta"] = None if prediction.tta is None else {"policy": prediction.tta, "views": views}
    metrics["label_space"] = {
        "description": space.describe(),
        "merged": space.merged(),
        "outside": list(space.outside),
        "resized": prediction.resize_note or None,
    }
    return metrics


def model_facts(meta: dict[str, Any]) -> dict[str, Any]:
    """What an evaluation records of the model it scored (model.json)."""
    return {
        "name": (meta.get("model") or {}).get("name"),
        "epoch": meta.get("epoch"),
        "parameters": meta.get("parameters"),
        "trained_on": (meta.get("data") or {}).get("name"),
        # An ensemble's size: how many models each image goes through.
        "members": len((meta.get("model") or {}).get("members") or []) or None,
        # The temperature folded into its logits after training (training.calibrate).
        "temperature": (meta.get("calibration") or {}).get("temperature"),
    }


def evaluate_run(
    run_dir: str | os.PathLike[str],
    data: str | None = None,
    split: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    classes: str | None = None,
    dataset: ImageSet | None = None,
    batch_size: int = DEFAULT_BATCH,
    device: str = "auto",
    write: bool = True,
    report_root: str | os.PathLike[str] | None = None,
    tta: str | None = None,
) -> EvaluationResult:
    """Evaluate a run folder's (or a shipped model's) model on a data set split and (if
    `write`) write the report.

    `report_root`, when given, holds the evaluation folders instead of RUN/evaluation/
    and RUN's metrics.json is left alone: a shipped model's folder is part of the
    installed package (`charrec evaluate letters` writes ./evaluation/letters/).

    `data` (a data set name or a path to a data file or folder) defaults to the data set
    the run was trained on, `split` to "test" (or the data's only split), `data_dir` to
    the run's own, `classes` (the class list of a file that does not carry it, e.g. a
    CSV) to the run's own when its data is evaluated. Pass `dataset` to evaluate on an
    ImageSet in memory instead (`data` and `split` then only name it). `tta` names a
    test-time augmentation policy (charrec.evaluate.tta.POLICIES).
    """
    from charrec.train.checkpoint import RunFolder, load_run

    if tta is not None:
        from charrec.evaluate.tta import check_policy

        check_policy(tta)  # before any loading: a bad option is the user's first error

    run = RunFolder(run_dir)
    model, meta = load_run(run.path)
    if dataset is None:
        from charrec.data import data_label, dataset_splits, default_split, load_dataset

        trained_on = meta.get("data") or {}
        if not data:
            data = trained_on.get("name")
            classes = classes or trained_on.get("classes")
        if not data:
            raise CharrecError(f"{run.path}: the run names no data set; choose one with --data")
        data_dir = data_dir or _run_data_dir(run.path)
        split = split or default_split(dataset_splits(data, data_dir, classes), "test")
        # Small images are made 28×28 as the run's own were (data.resize).
        resize = _run_data_option(run.path, "resize") or "emnist"
        dataset = load_dataset(data, split, data_dir, classes, resize=resize)
        data = data_label(data)
    else:
        name, _, part = (dataset.name or "data").partition(":")
        data, split = data or name, split or part or "test"
    dataset = merge_data_case(dataset, meta["classes"])
    metrics, images, probs, space = evaluate_model(
        model, meta, dataset, batch_size, device, tta=tta
    )
    metrics = {"data": data, "split": split, **metrics}
    metrics["model"] = model_facts(meta)
    metrics["training"] = run_training_facts(run.path)
    result = EvaluationResult(
        run.path,
        data,
        split,
        metrics,
        images,
        dataset.labels,
        probs,
        space,
        meta,
        history=run.read_history() if run.history.exists() else [],
        report_root=None if report_root is None else Path(report_root),
    )
    if write:
        write_evaluation(result)
    return result


def write_evaluation(result: EvaluationResult) -> dict[str, Path]:
    """Write the evaluation folder (all or nothing), then merge into the run's metrics.json."""
    from charrec.evaluate.evaluation_report import build_report
    from charrec.evaluate.report import write_report

    final = result.out_dir
    final.parent.mkdir(parents=True, exist_ok=True)
    # Built in a temporary sibling and swapped in, so a failure leaves the old report whole.
    work = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.tmp")
    work.mkdir()
    try:
        write_json(work / "metrics.json", result.metrics)
        report, figures = build_report(result, work)
        pages = write_report(report, work)
        if final.exists():
            old = final.with_name(f".{final.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            final.rename(old)
            work.rename(final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            work.rename(final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    files = {"metrics": final / "metrics.json"}
    files.update({role: final / path.name for role, path in pages.items()})
    files.update({role: final / path.name for role, path in figures.items()})
    if result.report_root is None:
        merge_run_metrics(result)
    result.files = files
    return files


def merge_run_metrics(result: EvaluationResult) -> Path:
    """Put the evaluation summary into RUN/metrics.json, keeping every other entry."""
    path = result.run_dir / "metrics.json"
    existing: dict[str, Any] = {}
    if path.exists():
        from charrec.train.checkpoint import read_json

        existing = read_json(path)
        if not isinstance(existing, dict):
            raise CharrecError(f"{path} does not hold a JSON object; not overwriting it")
    summary = {k: v for k, v in result.metrics.items() if k not in _DETAIL_KEYS}
    summary["report"] = str(result.out_dir.relative_to(result.run_dir) / "report.html")
    evaluations = existing.get("evaluation")
    existing["evaluation"] = {**(evaluations if isinstance(evaluations, dict) else {})}
    existing["evaluation"][result.key] = summary
    write_json(path, existing)
    return path
