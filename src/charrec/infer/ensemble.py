"""Ensembles: trained models (run folders or shipped names) made into one model folder.

    build_ensemble(["runs/a", "runs/b", "digits"], "runs/ens", weighted=True, data="mnist")

The folder is a model folder like any run's, so every command that takes a run folder
takes it (evaluate, compare, predict, serve, export, `charrec.load`):

    model.json         format "charrec-model", model name "ensemble": each member's own
                       model entry (plus its input map), the weights, how they were chosen
    model.safetensors  every member's weights, keyed members.<i>.<member's key>
    metrics.json       parameters, FLOPs per image, members' training time, and the
                       evaluation on --data
    card.json, card.md the members (where from, their own test scores, cost), the ensemble's
                       score on --data and its inference cost

`write_ensemble` does the same for members already loaded (the epochs a run kept:
`charrec.infer.ensemble_snapshots`). `charrec.models.ensemble.Ensemble` averages the
members' softmax probabilities (weighted by their validation accuracy with `weighted`).
Members must name the same classes in the same order and take the same input (size,
channels, ink, framing of pictures); a member trained with another mean and std gets an
affine map to its own normalisation.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from charrec.errors import CharrecError, ConfigError
from charrec.fileio import read_json, write_json

# The files an ensemble folder holds, beside any members trained into it (members/).
ENSEMBLE_FILES = ("model.safetensors", "model.json", "metrics.json", "card.json", "card.md")


@dataclass
class Member:
    """One model of an ensemble, loaded."""

    source: str
    folder: Path
    shipped: bool
    model: Any
    meta: dict[str, Any]
    card: dict[str, Any]
    frame: dict[str, Any]

    @property
    def val_accuracy(self) -> float | None:
        value = (self.meta.get("metrics") or {}).get("val_accuracy")
        return float(value) if value is not None else None

    @property
    def test_score(self) -> tuple[float | None, str | None]:
        """Its own test accuracy, as its card or metrics.json records it, and on what."""
        accuracy = self.card.get("test_accuracy")
        if accuracy is None:
            return None, None
        where = self.card.get("test_data") or f"{(self.meta.get('data') or {}).get('name')}:test"
        return float(accuracy), str(where)


def load_member(source: str | os.PathLike[str]) -> Member:
    """A shipped model's name or a run folder, loaded with its card and picture framing."""
    from charrec.infer.recognizer import _card, _resolve, preprocess_config_for
    from charrec.train.checkpoint import load_run

    folder, name, shipped = _resolve(source)
    model, meta = load_run(folder)
    card = _card(folder, meta, shipped)
    frame = preprocess_config_for(meta, card).to_dict()
    return Member(name, folder, shipped, model, meta, card, frame)


def input_form(meta: dict[str, Any]) -> dict[str, Any]:
    """What a model takes: input size, channels, ink polarity (from its model.json)."""
    prep = meta.get("preprocessing") or {}
    return {
        "input_size": [int(v) for v in prep.get("input_size", (28, 28))],
        "channels": int(prep.get("channels", 1)),
        "ink": prep.get("ink", "white-on-black"),
    }


def check_members(members: Sequence[Member]) -> None:
    """Refuse members that cannot be averaged: different classes or input."""
    if len(members) < 2:
        raise ConfigError(f"an ensemble needs at least two members, got {len(members)}")
    first = members[0]
    sources = [str(m.source) for m in members]
    if len(set(sources)) != len(sources):
        raise ConfigError("a member is named twice; each model joins an ensemble once")
    for member in members[1:]:
        if list(member.meta["classes"]) != list(first.meta["classes"]):
            raise ConfigError(
                f"members {first.source} and {member.source} have different classes "
                f"({_classes(first)} vs {_classes(member)}); an ensemble averages one class list"
            )
        if input_form(member.meta) != input_form(first.meta):
            raise ConfigError(
                f"members {first.source} and {member.source} take different input "
                f"({input_form(first.meta)} vs {input_form(member.meta)})"
            )
        if member.frame != first.frame:
            raise ConfigError(
                f"members {first.source} and {member.source} frame pictures differently "
                f"({first.frame.get('style')} vs {member.frame.get('style')} style); "
                "their inputs would not match"
            )


def _classes(member: Member) -> str:
    classes = [str(c) for c in member.meta["classes"]]
    shown = " ".join(classes[:8]) + (" ..." if len(classes) > 8 else "")
    return f"{len(classes)}: {shown}"


def member_weights(members: Sequence[Member], weighted: bool) -> list[float]:
    """Equal weights, or each member's validation accuracy (normalised by the Ensemble)."""
    if not weighted:
        return [1.0] * len(members)
    missing = [m.source for m in members if not m.val_accuracy]
    if missing:
        raise ConfigError(
            f"--weighted needs every member's validation accuracy; {', '.join(missing)} "
            "records none (leave out --weighted to average equally)"
        )
    return [float(m.val_accuracy) for m in members]  # type: ignore[arg-type]


def _member_spec(member: Member, reference: dict[str, Any]) -> dict[str, Any]:
    """The member's model entry with the map from the ensemble's normalised input to its own."""
    spec = dict(member.meta["model"])
    spec["input"] = list(input_map(reference, member.meta["preprocessing"]))
    return spec


def input_map(given: dict[str, Any], own: dict[str, Any]) -> tuple[float, float]:
    """(scale, shift) that take an input normalised with `given`'s mean and std to one
    normalised with `own`'s: pixels/255 = x·s0 + m0, so (pixels/255 − m)/s = x·(s0/s) +
    (m0 − m)/s. (1, 0) where they match."""
    m0, s0 = float(given["mean"]), float(given["std"])
    mean, std = float(own["mean"]), float(own["std"])
    return (1.0, 0.0) if (mean, std) == (m0, s0) else (s0 / std, (m0 - mean) / std)


def ensemble_meta(
    members: Sequence[Member], weights: list[float], weighted: bool
) -> dict[str, Any]:
    """model.json of the ensemble: the first member's classes, input and data."""
    from charrec.train.checkpoint import FORMAT, FORMAT_VERSION

    first = members[0].meta
    data = first.get("data") or {}
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "model": {
            "name": "ensemble",
            "options": {},
            "members": [_member_spec(m, first["preprocessing"]) for m in members],
            "weights": weights,
            "weighting": "validation accuracy" if weighted else "equal",
            "sources": [m.source for m in members],
        },
        "num_classes": len(first["classes"]),
        "classes": list(first["classes"]),
        "parameters": sum(int(m.meta.get("parameters") or _count(m.model)) for m in members),
        "preprocessing": dict(first["preprocessing"]),
        "data": {key: data.get(key) for key in ("name", "split", "classes")},
        "epoch": None,
        "metrics": {},
    }


def _count(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())


def ensemble_weights(members: Sequence[Member]) -> dict[str, Any]:
    """Every member's tensors under members.<i>., as the Ensemble module names them."""
    from charrec.train.checkpoint import state_dict_for_saving

    weights = {}
    for i, member in enumerate(members):
        for key, tensor in state_dict_for_saving(member.model).items():
            weights[f"members.{i}.{key}"] = tensor
    return weights


def _check_out(out: Path, members: Sequence[Member], overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; give a folder")
    for member in members:
        if not member.shipped and member.folder.resolve() == out.resolve():
            raise ConfigError(
                f"--out {out} is member {member.source}; write the ensemble elsewhere"
            )
    if not (out / "model.json").exists():
        return
    if not overwrite:
        raise ConfigError(f"{out} already holds a model; replace it with --overwrite")
    try:
        name = read_json(out / "model.json")["model"]["name"]
    except (CharrecError, KeyError, TypeError):
        name = None
    if name != "ensemble":
        # --overwrite replaces an ensemble; a training run's other files would stay behind.
        raise ConfigError(f"{out} holds a trained run, not an ensemble; choose another --out")


def build_ensemble(
    sources: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    weighted: bool = False,
    data: str | None = None,
    split: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    tta: str | None = None,
) -> Path:
    """Write the ensemble of `sources` into `out` and return the folder.

    With `data` (a data set name or file), the ensemble and each member are evaluated on
    its `split` (default test) and the card records their scores; with test-time
    augmentation policy `tta` (charrec.evaluate.tta) if given. Files are built beside
    `out` and moved in last, so a failure leaves no half-written model.
    """
    if len(sources) < 2:
        raise ConfigError(f"an ensemble needs at least two members, got {len(sources)}")
    members = [load_member(source) for source in sources]
    return write_ensemble(
        members,
        out,
        weighted=weighted,
        data=data,
        split=split,
        data_dir=data_dir,
        overwrite=overwrite,
        tta=tta,
    )


def write_ensemble(
    members: Sequence[Member],
    out: str | os.PathLike[str],
    *,
    weighted: bool = False,
    data: str | None = None,
    split: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    tta: str | None = None,
) -> Path:
    """Write the ensemble of loaded `members` into `out` (see `build_ensemble`)."""
    from charrec.models.ensemble import Ensemble
    from charrec.train.checkpoint import save_weights

    if tta is not None:
        from charrec.evaluate.tta import check_policy

        check_policy(tta)
    check_members(members)
    out = Path(out).expanduser()
    _check_out(out, members, overwrite)
    weights = member_weights(members, weighted)
    meta = ensemble_meta(members, weights, weighted)
    model = Ensemble(
        [m.model for m in members], weights, [s["input"] for s in meta["model"]["members"]]
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    work = out.parent / f".{out.name}.{uuid.uuid4().hex[:8]}.tmp"
    work.mkdir()
    try:
        save_weights(work / "model.safetensors", ensemble_weights(members))
        write_json(work / "model.json", meta)
        scores = evaluate_members(members, meta, data, split, data_dir, tta) if data else None
        metrics = ensemble_metrics(model, members, meta, scores)
        write_json(work / "metrics.json", metrics)
        card = build_card(out.name, meta, members, metrics, scores)
        write_json(work / "card.json", card)
        (work / "card.md").write_text(card_markdown(card))
        _move_in(work, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def _move_in(work: Path, out: Path) -> None:
    """Put the built files into `out`: model.json goes first out and last in, so the folder
    is never a loadable model made of old and new files."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "model.json").unlink(missing_ok=True)
    # The export and the reports of a replaced ensemble would not describe the new one.
    (out / "model.onnx").unlink(missing_ok=True)
    shutil.rmtree(out / "evaluation", ignore_errors=True)
    for name in ENSEMBLE_FILES:
        if name != "model.json":
            os.replace(work / name, out / name)
    os.replace(work / "model.json", out / "model.json")


# --- evaluation and cost ---------------------------------------------------------------------


@dataclass
class Scores:
    """The ensemble's and each member's evaluation on one data split."""

    key: str
    ensemble: dict[str, Any]
    members: list[float]


def evaluate_members(
    members: Sequence[Member],
    meta: dict[str, Any],
    data: str,
    split: str | None,
    data_dir: str | os.PathLike[str] | None,
    tta: str | None = None,
) -> Scores:
    """Evaluate each member and the ensemble (`meta`, its model.json) on one loaded copy of
    the data, with test-time augmentation policy `tta` if given.

    Each member's probabilities are computed once: the ensemble's are their weighted mean,
    as its model computes them, and its cost the sum of theirs.
    """
    from charrec.data import data_label, dataset_splits, default_split, load_dataset
    from charrec.evaluate.evaluation import Prediction, metrics_of, model_facts, predict_dataset
    from charrec.evaluate.metrics import compute_metrics

    classes = (members[0].meta.get("data") or {}).get("classes")
    split = split or default_split(dataset_splits(data, data_dir, classes), "test")
    dataset = load_dataset(data, split, data_dir, classes)
    predictions = [predict_dataset(m.model, m.meta, dataset, tta=tta) for m in members]
    singles = [
        float(compute_metrics(p.probs, dataset.labels, dataset.classes)["accuracy"])
        for p in predictions
    ]
    weights = meta["model"]["weights"]
    total = sum(weights)
    probs = sum(w / total * p.probs for w, p in zip(weights, predictions, strict=True))
    first = predictions[0]
    seconds = sum(float(p.throughput["seconds"]) for p in predictions)
    throughput = {
        **first.throughput,
        "images_per_second": len(dataset.labels) / max(seconds, 1e-9),
        "seconds": seconds,
    }
    combined = Prediction(first.images, probs, first.space, throughput, tta, first.resize_note)
    label = data_label(data)
    metrics = {"data": label, "split": split, **metrics_of(combined, dataset)}
    metrics["model"] = model_facts(meta)
    key = f"{label}:{split}" + (f":tta-{tta}" if tta else "")
    return Scores(key, metrics, singles)


def flops_per_image(model: Any, meta: dict[str, Any]) -> int:
    """FLOPs of one image's forward pass (charrec.infer.benchmark counts them)."""
    from charrec.infer.benchmark import flops_per_image as count

    size = tuple(int(v) for v in meta["preprocessing"]["input_size"])
    return count(model, size)  # type: ignore[arg-type]


def ensemble_metrics(
    model: Any, members: Sequence[Member], meta: dict[str, Any], scores: Scores | None
) -> dict[str, Any]:
    """metrics.json: cost, the members' training time, and the evaluation when there is one."""
    metrics: dict[str, Any] = {
        "members": len(members),
        "parameters": meta["parameters"],
        "flops_per_image": flops_per_image(model, meta),
    }
    # Once per training run: a snapshot ensemble's members share one.
    folders = {m.folder.resolve(): m.folder for m in members}
    times = [_train_time(folder) for folder in folders.values()]
    if all(t is not None for t in times):
        metrics["train_time"] = sum(times)  # type: ignore[arg-type]
    if scores is not None:
        detail = ("confusion_matrix", "confusion_columns")
        summary = {k: v for k, v in scores.ensemble.items() if k not in detail}
        metrics["evaluation"] = {scores.key: summary}
        if scores.key == f"{meta['data'].get('name')}:test":
            metrics["test"] = {"accuracy": scores.ensemble["accuracy"]}
    return metrics


def _train_time(folder: Path) -> float | None:
    path = folder / "metrics.json"
    try:
        value = read_json(path).get("train_time") if path.is_file() else None
    except (CharrecError, AttributeError):
        return None
    return float(value) if value is not None else None


# --- the card --------------------------------------------------------------------------------


def build_card(
    name: str,
    meta: dict[str, Any],
    members: Sequence[Member],
    metrics: dict[str, Any],
    scores: Scores | None,
) -> dict[str, Any]:
    """The ensemble's model card: members with their own scores and cost; its own score."""
    import charrec
    from charrec.infer.publish import card_metrics

    rows = []
    for i, member in enumerate(members):
        accuracy, where = member.test_score
        rows.append(
            {
                "source": member.source,
                "shipped": member.shipped,
                "model": member.meta["model"]["name"],
                "parameters": int(member.meta.get("parameters") or _count(member.model)),
                "flops_per_image": flops_per_image(member.model, member.meta),
                "weight": meta["model"]["weights"][i] / sum(meta["model"]["weights"]),
                "val_accuracy": member.val_accuracy,
                "test_accuracy": accuracy,
                "test_data": where,
                "accuracy_on_data": scores.members[i] if scores else None,
            }
        )
    card: dict[str, Any] = {
        "name": name,
        "description": f"An ensemble of {len(members)} models averaging their probabilities "
        f"({meta['model']['weighting']} weights).",
        "kind": "ensemble",
        "classes": list(meta["classes"]),
        "model": {"name": "ensemble", "weighting": meta["model"]["weighting"]},
        "members": rows,
        "preprocess": members[0].frame,
        "parameters": metrics["parameters"],
        "flops_per_image": metrics["flops_per_image"],
        "test_data": None,
        "test_accuracy": None,
        "built": dt.datetime.now(dt.timezone.utc).date().isoformat(),
        "charrec_version": charrec.__version__,
    }
    if scores is not None:
        card["test_data"] = scores.key
        card["test_images"] = int(scores.ensemble["images"])
        card["test_accuracy"] = float(scores.ensemble["accuracy"])
        card["metrics"] = card_metrics(scores.ensemble)
        card["images_per_second"] = scores.ensemble["throughput"]["images_per_second"]
        card["tta"] = scores.ensemble.get("tta")
    return card


def member_row(member: dict[str, Any]) -> str:
    """A member's row of a card's members table: source, model, weight, cost, scores."""
    from charrec.infer.publish import percent

    m = member
    own = "–"
    if m["test_accuracy"] is not None:
        own = f"{percent(m['test_accuracy'])} ({m['test_data']})"
    return (
        f"| {m['source']} | {m['model']} | {m['weight']:.3f} | {m['parameters']:,} | "
        f"{m['flops_per_image'] / 1e6:.2f} | {percent(m['val_accuracy'])} | {own} |"
    )


def tta_sentence(tta: dict[str, Any]) -> str:
    """How the card's scores were made with test-time augmentation, in words."""
    from charrec.evaluate.tta import DESCRIPTIONS

    return (
        f"Members and ensemble scored with test-time augmentation `{tta['policy']}`: each "
        f"image's probabilities averaged over {tta['views']} views, the image itself and "
        f"copies {DESCRIPTIONS[tta['policy']]}."
    )


def card_markdown(card: dict[str, Any]) -> str:
    """The card for people: members, their scores and cost, the ensemble's."""
    from charrec.infer.publish import percent

    on = card["test_data"]
    lines = [
        f"# charrec ensemble `{card['name']}`",
        "",
        card["description"],
        "",
        "| member | model | weight | parameters | MFLOPs/image | val accuracy "
        f"| own test accuracy | accuracy on {on or '–'} |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in card["members"]:
        lines.append(f"{member_row(m)} {percent(m['accuracy_on_data'])} |")
    lines += [
        f"| **ensemble** | | 1 | {card['parameters']:,} | "
        f"{card['flops_per_image'] / 1e6:.2f} | – | – | {percent(card['test_accuracy'])} |",
        "",
        "MFLOPs: convolutions and matrix products per image, a multiply-add counted as 2.",
    ]
    if on:
        lines += [
            "",
            f"On {on} ({card['test_images']:,} images): accuracy "
            f"{percent(card['test_accuracy'])}, macro F1 {percent(card['metrics']['macro']['f1'])}"
            f", {card['images_per_second']:,.0f} images/s in batches of 1,000 on the machine "
            "that built it.",
        ]
        if card.get("tta"):
            lines += ["", tta_sentence(card["tta"])]
    lines += [
        "",
        "## Use",
        "",
        "```bash",
        "charrec evaluate ENSEMBLE_FOLDER --data DATA",
        "charrec predict photo.png --model ENSEMBLE_FOLDER",
        "charrec export ENSEMBLE_FOLDER --format onnx",
        "```",
        "",
    ]
    return "\n".join(lines)
