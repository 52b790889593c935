"""Publish a trained run folder as a model shipped inside charrec, with its model card.

    python -m charrec.infer.publish runs/letters --name letters
    python -m charrec.infer.publish runs/x --name x --dest /tmp/models --recipe recipes/x.yaml

Copies the run's `model.safetensors` and `model.json` (only those: `state.pt` holds the
optimizer and is not needed to predict) into `<dest>/<name>/`, evaluates that copy on the
test split of the data it was trained on (`charrec.evaluate`), and writes `card.json` and
`card.md` beside it. The folder is built under a temporary name and swapped in whole, so
an interrupted or failed publish leaves the previous model as it was. An ensemble folder
(`charrec ensemble`) publishes the same way; its card lists the members
(`charrec.infer.publish_ensemble`).

When a recipe is named (by default `recipes/<name>.yaml`, if it exists), the run must
have been trained with exactly that config (apart from where it was written and how many
threads it used), so that the card's retraining command reproduces what is shipped.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import shutil
import sys
import uuid
from pathlib import Path
from typing import Any

from charrec.data import get_spec
from charrec.errors import CharrecError, ConfigError
from charrec.fileio import atomic_open, write_json
from charrec.infer.publish_realworld import real_handwriting, real_handwriting_markdown

# What each data set protocol is, for the card (the data modules say the same in full).
PROTOCOLS = {
    "mnist": "MNIST's official split: trained on the 60,000 training images (a stratified "
    "5% held out for validation), tested on the official 10,000 test images.",
    "letters-dev": "letters-dev: train = the letters of EMNIST ByClass test (case merged) "
    "plus the EMNIST Letters train partial file, without any image byte-identical to a "
    "Letters test image and without exact duplicates (59,384 images, a stratified 5% held "
    "out for validation); test = the EMNIST Letters test partial file (14,800 images, "
    "classes A-S).",
    "letters-case-dev": "letters-case-dev: the 52 letter classes A-Z and a-z of "
    "alphanumeric-dev (EMNIST ByClass test, exact duplicates dropped, split 80/20 stratified "
    "by class, seed 0), its digits left out; train = the 80% without any image "
    "byte-identical to a letters-dev test image (45,066 images, a stratified 5% held out for "
    "validation); test = the 20% (11,680 images). Its letters are also scored on letters-dev's "
    "test with each letter's two cases summed, beside the case-merged letters model.",
    "alphanumeric-dev": "alphanumeric-dev: EMNIST ByClass test (the only ByClass split at "
    "hand), exact duplicates dropped, split 80/20 stratified by class (seed 0); train = the "
    "80% without any image byte-identical to a letters-dev test image (91,399 images, a "
    "stratified 5% held out for validation); test = the 20% (23,265 images).",
}

DESCRIPTIONS = {
    "digits": "Handwritten digits 0-9.",
    "letters": "Handwritten letters A-Z, upper and lower case merged (26 classes).",
    "alphanumeric": "Handwritten digits and letters with case: 0-9, A-Z, a-z (62 classes).",
    "letters-case": "Handwritten letters with case: A-Z and a-z (52 classes); answers the "
    "letter (its two cases summed) and its case.",
}
# Where a case-aware model's letters are scored with each letter's two cases summed.
CASE_MERGED_DATA = "letters-dev"

# Keys that may differ between a recipe and the run it made without changing the model.
_IGNORED_CONFIG_KEYS = (
    "run.out",
    "training.num_threads",
    "data.data_dir",
    "training.keep_snapshots",
)

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_WEAKEST = 5
_PAIRS = 5


def default_dest() -> Path:
    from charrec.infer.pretrained import WEIGHTS_DIR

    return WEIGHTS_DIR


def publish(
    run_dir: str | Path,
    name: str,
    *,
    dest: str | Path | None = None,
    recipe: str | Path | None = None,
    description: str | None = None,
    data: str | None = None,
    data_dir: str | Path | None = None,
) -> Path:
    """Publish `run_dir` as `<dest>/<name>/` (default dest: the package's weights folder).

    Returns the published folder. `data` (default: the run's own data set) is evaluated on
    its test split for the card; `recipe` is the repository path of the YAML config that
    trained the run.
    """
    from charrec.infer.publish_ensemble import ensemble_facts, is_ensemble
    from charrec.train.checkpoint import RunFolder, load_run

    if not _NAME.match(name):
        raise ConfigError(
            f"model name {name!r} must be lower-case letters, digits, '-' or '_' "
            "(it becomes a folder name and charrec.load's argument)"
        )
    run = RunFolder(run_dir)
    _, meta = load_run(run.path)  # a run folder with a loadable checkpoint, or a clear error
    if not run.metrics.is_file():
        # Training writes metrics.json last: without it the weights are of an unfinished run.
        raise CharrecError(
            f"{run.path} holds no metrics.json: its training has not finished; "
            f"finish it with charrec train --resume {run.path}"
        )
    ensemble = ensemble_facts(run.path) if is_ensemble(meta) else None
    if ensemble is not None and recipe is not None:
        raise ConfigError(
            f"{run.path} is an ensemble: no single recipe made it (its card lists the "
            "members); publish it without --recipe"
        )
    recipe_path = None if ensemble is not None else _recipe_for(name, recipe)
    if ensemble is not None and description is None and name not in DESCRIPTIONS:
        description = (
            f"An ensemble of {len(ensemble['members'])} models, their probabilities averaged."
        )
    if recipe_path is not None:
        _check_recipe(recipe_path, run)

    root = Path(dest) if dest is not None else default_dest()
    root.mkdir(parents=True, exist_ok=True)
    final = root / name
    work = root / f".{name}.{uuid.uuid4().hex[:8]}.tmp"
    work.mkdir()
    try:
        for source in (run.weights, run.model_json):
            shutil.copyfile(source, work / source.name)
        card = build_card(
            work,
            name,
            meta,
            trained=_trained_date(run.weights),
            recipe=recipe_path,
            description=description,
            data=data,
            data_dir=data_dir,
        )
        card.update(ensemble or {})
        write_json(work / "card.json", card)
        with atomic_open(work / "card.md") as handle:
            handle.write(card_markdown(card))
        _swap_in(work, final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return final


def _recipe_for(name: str, recipe: str | Path | None) -> Path | None:
    if recipe is not None:
        path = Path(recipe)
        if not path.is_file():
            raise ConfigError(f"recipe {path} not found")
        return path
    default = Path("recipes") / f"{name}.yaml"
    return default if default.is_file() else None


def _flatten(values: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(values, dict):
        return {prefix: values}
    flat: dict[str, Any] = {}
    for key, value in values.items():
        flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def _check_recipe(recipe: Path, run: Any) -> None:
    """The run's config.yaml must be the recipe's config, or the card would not be true."""
    from charrec.train.config import TrainConfig

    if not run.config.is_file():
        raise CharrecError(f"{run.path} has no config.yaml to check against recipe {recipe}")
    shown = config_differences(TrainConfig.from_yaml(recipe), run.config)
    if shown:
        raise CharrecError(
            f"{run.path} was not trained with recipe {recipe}: it differs in {shown}; "
            "retrain with the recipe, or name the recipe that made it with --recipe"
        )


def config_differences(wanted: Any, used_yaml: Path) -> str:
    """The keys (at most five, with the run's and the wanted value) in which the run config
    `used_yaml` differs from the TrainConfig `wanted`; "" if it is the same run."""
    from charrec.models import model_info
    from charrec.train.config import TrainConfig

    config = TrainConfig.from_dict(wanted.to_dict())
    # A run's config.yaml names every model option (defaults resolved); so must the recipe's.
    config.model.options = model_info(config.model.name).resolve(config.model.options)
    want = _flatten(TrainConfig.from_dict(config.to_dict()).to_dict())
    used = _flatten(TrainConfig.from_yaml(used_yaml).to_dict())
    differing = sorted(
        key
        for key in set(want) | set(used)
        if key not in _IGNORED_CONFIG_KEYS and want.get(key) != used.get(key)
    )
    return ", ".join(f"{k} ({used.get(k)!r} vs {want.get(k)!r})" for k in differing[:5])


def _trained_date(weights: Path) -> str:
    """The day the run's final weights were written (UTC), as an ISO date."""
    stamp = dt.datetime.fromtimestamp(weights.stat().st_mtime, tz=dt.timezone.utc)
    return stamp.date().isoformat()


def _swap_in(work: Path, final: Path) -> None:
    if final.exists():
        old = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.old")
        final.rename(old)
        work.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        work.rename(final)


# --- the card ---------------------------------------------------------------------------


def build_card(
    folder: Path,
    name: str,
    meta: dict[str, Any],
    *,
    trained: str,
    recipe: Path | None,
    description: str | None = None,
    data: str | None = None,
    data_dir: str | Path | None = None,
) -> dict[str, Any]:
    """The model card of the model in `folder`, evaluated on `data`'s test split."""
    import charrec
    from charrec.evaluate import evaluate_run

    trained_on = meta.get("data") or {}
    data = data or trained_on.get("name")
    if not data:
        raise CharrecError(f"{folder}: model.json names no data set; choose one with --data")
    spec = get_spec(data)
    if "test" not in spec.splits:
        raise CharrecError(f"data set {data!r} has no test split to put on the card")
    result = evaluate_run(folder, data=data, split="test", data_dir=data_dir, write=False)
    metrics = result.metrics
    recipe_text = recipe.as_posix() if recipe is not None else None
    command = (
        f"charrec train --config {recipe_text} --out runs/{name} && "
        f"python -m charrec.infer.publish runs/{name} --name {name}"
        if recipe_text
        else None
    )
    card = {
        "name": name,
        "description": description or DESCRIPTIONS.get(name, f"A charrec model, {name}."),
        "classes": list(meta["classes"]),
        "model": meta.get("model"),
        "data": {
            "name": trained_on.get("name"),
            "description": _describe(trained_on.get("name")),
            "train_images": trained_on.get("train_images"),
            "val_images": trained_on.get("val_images"),
            "fingerprint": trained_on.get("fingerprint"),
            "extra": trained_on.get("extra") or [],
        },
        "protocol": PROTOCOLS.get(data, spec.description),
        "test_data": f"{data}:test",
        "test_images": int(metrics["images"]),
        "test_accuracy": float(metrics["accuracy"]),
        "metrics": card_metrics(metrics),
        "trained": trained,
        "epochs": meta.get("epoch"),
        "recipe": recipe_text,
        "command": command,
        "parameters": int(meta["parameters"]),
        # The temperature folded into the logits after training (training.calibrate).
        "calibration": meta.get("calibration"),
        "weights_bytes": (folder / "model.safetensors").stat().st_size,
        "charrec_version": charrec.__version__,
    }
    case = _case_facts(folder, result, data_dir)
    if case is not None:
        card["case"] = case
    card["real_handwriting"] = real_handwriting(folder, meta["classes"], data_dir)
    return card


def _case_facts(folder: Path, result: Any, data_dir: str | Path | None) -> dict[str, Any] | None:
    """For a model that keeps both cases of letters: the case accuracy on the card's test
    data (charrec.evaluate.case) and, for a model of every letter, the accuracy on
    letters-dev's test with each letter's two cases summed. None for a model without case."""
    from charrec.evaluate import evaluate_run
    from charrec.evaluate.case import case_accuracy
    from charrec.infer.case import CaseReading

    reading = CaseReading.of(result.space.columns)
    if reading is None:
        return None
    scores = case_accuracy(result.probs, result.labels, result.space.columns)
    facts: dict[str, Any] = {
        "case_data": result.key,
        "groups": [group.to_dict() for group in scores.groups],
    }
    if int((reading.upper >= 0).sum()) == 26:
        merged = evaluate_run(folder, CASE_MERGED_DATA, "test", data_dir, write=False)
        facts["letters_data"] = merged.key
        facts["letters_images"] = len(merged.labels)
        facts["letters_accuracy"] = merged.accuracy
    return facts


def _describe(dataset: str | None) -> str | None:
    """The registry's description of a named data set; None for a user's own files."""
    from charrec.data import list_datasets

    return get_spec(dataset).description if dataset in list_datasets() else None


def card_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    per_class = {
        label: values
        for label, values in metrics["per_class"].items()
        if values["support"] > 0 and values["f1"] is not None
    }
    weakest = sorted(per_class.items(), key=lambda item: item[1]["f1"])[:_WEAKEST]
    confusions = metrics.get("confusions") or {}
    card = {
        "accuracy": metrics["accuracy"],
        "errors": metrics["errors"],
        "top_3_accuracy": metrics.get("top_3_accuracy"),
        "macro": metrics["macro"],
        "weighted": metrics["weighted"],
        "ece": metrics["ece"],
        "classes_evaluated": metrics["classes_evaluated"],
        "weakest_classes": [{"class": label, **values} for label, values in weakest],
        "top_confused_pairs": [
            {"pair": p["pair"], "count": p["count"]}
            for p in confusions.get("top_confused_pairs", [])[:_PAIRS]
        ],
    }
    if "case_only_errors" in confusions:
        # Many upper/lower pairs (c/C, o/O, s/S...) cannot be told apart from the image alone.
        card["case_only_errors"] = confusions["case_only_errors"]
        card["accuracy_ignoring_case"] = (
            metrics["images"] - metrics["errors"] + confusions["case_only_errors"]
        ) / metrics["images"]
    return card


def percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f}%"


def card_markdown(card: dict[str, Any]) -> str:
    """The card for people: what the model is, how well it does, how to use and retrain it."""
    from charrec.infer.publish_ensemble import members_markdown

    m = card["metrics"]
    data = card["data"]
    ensemble = card.get("kind") == "ensemble"
    if ensemble:
        models = ", ".join(member["model"] for member in card["members"])
        architecture = f"an ensemble of {len(card['members'])}: {models}"
        trained_on = f"{data['name']}, each member (see Members)"
    else:
        architecture = f"{card['model']['name']} {_options(card['model'])}"
        trained_on = (
            f"{data['name']}: {data['train_images']:,} images "
            f"({data['val_images']:,} more for validation), {card['epochs']} epochs"
            + _extra_words(data.get("extra") or [])
        )
    lines = [
        f"# charrec model `{card['name']}`",
        "",
        card["description"],
        "",
        "| | |",
        "|---|---|",
        f"| classes | {len(card['classes'])}: {' '.join(card['classes'])} |",
        f"| architecture | {architecture} |",
        f"| parameters | {card['parameters']:,} |",
        f"| weights | {card['weights_bytes']:,} bytes (safetensors) |",
        f"| trained on | {trained_on} |",
        f"| trained | {card['trained']} with charrec {card['charrec_version']} |",
        f"| test data | {card['test_data']}, {card['test_images']:,} images |",
        f"| test accuracy | {percent(card['test_accuracy'])} |",
        f"| macro F1 | {percent(m['macro']['f1'])} |",
        f"| macro precision / recall | {percent(m['macro']['precision'])} / "
        f"{percent(m['macro']['recall'])} |",
        f"| top-3 accuracy | {percent(m['top_3_accuracy'])} |",
    ]
    if "accuracy_ignoring_case" in m:
        lines.append(f"| accuracy ignoring case | {percent(m['accuracy_ignoring_case'])} |")
    lines.append(f"| calibration error (ECE) | {m['ece']:.4f} |")
    if calibration := card.get("calibration"):
        lines.append(
            f"| temperature | {calibration['temperature']:.3f}, fitted on "
            f"{calibration['images']:,} validation images (their ECE "
            f"{percent(calibration['ece_before'])} before, {percent(calibration['ece_after'])} "
            "after) |"
        )
    lines += [
        "",
        "## Protocol",
        "",
        card["protocol"],
        "",
        "## Weakest classes (test F1)",
        "",
        "| class | F1 | precision | recall | images |",
        "|---|---|---|---|---|",
        *(
            f"| {c['class']} | {percent(c['f1'])} | {percent(c['precision'])} | "
            f"{percent(c['recall'])} | {c['support']:,} |"
            for c in m["weakest_classes"]
        ),
        "",
        "Most confused pairs: "
        + ", ".join(
            f"{p['pair'][0]}/{p['pair'][1]} ({p['count']})" for p in m["top_confused_pairs"]
        )
        + ".",
        "",
        *(members_markdown(card) if ensemble else []),
        "## Use",
        "",
        "```python",
        "import charrec",
        f'print(charrec.load("{card["name"]}").predict("photo.png").label)',
        "```",
        "",
        f"`charrec predict photo.png --model {card['name']}` does the same from the shell.",
        "",
    ]
    lines += real_handwriting_markdown(card.get("real_handwriting") or [])
    if card.get("case"):
        lines += _case_markdown(card["name"], card["case"])
    if card["command"]:
        lines += [
            "## Retrain",
            "",
            f"Recipe: `{card['recipe']}`. From the repository root, with the data in "
            "`$CHARREC_DATA`:",
            "",
            "```bash",
            card["command"],
            "```",
            "",
        ]
    return "\n".join(lines)


def _extra_words(extras: list[dict[str, Any]]) -> str:
    """How the extra training data (`data.extra`) joined the training images."""
    if not extras:
        return ""
    parts = [
        e["name"]
        + (f":{e['split']}" if e.get("split") else "")
        + (f" drawn anew from its pen strokes ×{e['renders']}" if e.get("renders") else "")
        + _taken_words(e.get("take") or {})
        + (f" ×{e['repeat']}" if e.get("repeat", 1) > 1 else "")
        for e in extras
    ]
    return "; the training images include " + ", ".join(parts)


def _taken_words(take: dict[str, str]) -> str:
    """The classes an extra set lends under other names (`take`), e.g. " (its g as 9)"."""
    if not take:
        return ""
    return " (its " + ", ".join(f"{k} as {v}" for k, v in take.items()) + ")"


def _case_markdown(name: str, case: dict[str, Any]) -> list[str]:
    lines = ["## Case", ""]
    if "letters_accuracy" in case:
        lines += [
            f"Letters with each letter's two cases summed: {percent(case['letters_accuracy'])} "
            f"on {case['letters_data']} ({case['letters_images']:,} images), the question "
            "the case-merged letters model answers.",
            "",
        ]
    lines += [
        f"The case, on {case['case_data']}, among the images whose letter is read right:",
        "",
        "| letters | images | letter right | case right |",
        "|---|---|---|---|",
        *(
            f"| {g['name']} ({g['letters']}) | {g['images']:,} | "
            f"{percent(g['letter_accuracy'])} | {percent(g['case_accuracy'])} |"
            for g in case["groups"]
        ),
        "",
        f'`charrec.load("{name}").predict("photo.png").merged` holds the letter, its '
        "probability, the case and its probability.",
        "",
    ]
    return lines


def _options(model: dict[str, Any]) -> str:
    options = model.get("options") or {}
    return "(" + ", ".join(f"{k}={v}" for k, v in options.items()) + ")"


# --- command line -----------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m charrec.infer.publish",
        description="Publish a run folder as a shipped model with its model card.",
    )
    parser.add_argument("run", help="the run folder to publish")
    parser.add_argument("--name", required=True, help="the model's name (letters, digits...)")
    parser.add_argument(
        "--dest", default=None, help="folder to publish into (default: the package's weights)"
    )
    parser.add_argument(
        "--recipe", default=None, help="the recipe YAML that trained it (default recipes/NAME.yaml)"
    )
    parser.add_argument("--description", default=None, help="one line for the card")
    parser.add_argument("--data", default=None, help="data set to test on (default: the run's)")
    parser.add_argument("--data-dir", default=None, help="data directory (default: $CHARREC_DATA)")
    args = parser.parse_args(argv)
    try:
        folder = publish(
            args.run,
            args.name,
            dest=args.dest,
            recipe=args.recipe,
            description=args.description,
            data=args.data,
            data_dir=args.data_dir,
        )
    except CharrecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    from charrec.train.checkpoint import read_json

    card = read_json(folder / "card.json")
    print(
        f"published {args.name} to {folder}: {card['test_data']} accuracy "
        f"{percent(card['test_accuracy'])}, macro F1 {percent(card['metrics']['macro']['f1'])}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
