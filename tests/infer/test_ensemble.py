"""Ensembles: one folder that evaluate, predict, export and charrec.load take like a run's,
averaging its members' probabilities (equally or by validation accuracy); bad members refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from infer_images import render_text
from PIL import Image

import charrec
from charrec.data import load_dataset
from charrec.errors import CharrecError, ConfigError
from charrec.evaluate import evaluate_run
from charrec.fileio import write_json
from charrec.infer.benchmark import member_costs
from charrec.infer.ensemble import build_ensemble
from charrec.serve.models import ModelPool
from charrec.train import TrainConfig, apply_overrides, train
from charrec.train.checkpoint import (
    FORMAT,
    FORMAT_VERSION,
    build_model,
    load_run,
    save_weights,
    state_dict_for_saving,
)
from clirun import run_cli as run

TOLERANCE = 1e-5


def tiny_config(data_dir: Path, out: Path, seed: int, hidden: int = 32) -> TrainConfig:
    """An MLP trained one epoch on 300 MNIST images: seconds, and better than chance."""
    values = {
        "data.name": "mnist",
        "data.data_dir": str(data_dir),
        "data.limit": 300,
        "model.name": "mlp",
        "model.options.hidden": [hidden],
        "training.epochs": 1,
        "training.batch_size": 50,
        "training.seed": seed,
        "training.num_threads": 1,
        "run.out": str(out),
    }
    return apply_overrides(TrainConfig(), values)


@pytest.fixture(scope="module")
def members(real_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two tiny MNIST runs that differ in seed and width."""
    root = tmp_path_factory.mktemp("ensemble-members")
    folders = [root / "a", root / "b"]
    train(tiny_config(real_data_dir, folders[0], seed=0, hidden=32), verbose=False)
    train(tiny_config(real_data_dir, folders[1], seed=1, hidden=16), verbose=False)
    return folders


@pytest.fixture(scope="module")
def test_images(real_data_dir: Path) -> np.ndarray:
    return np.ascontiguousarray(load_dataset("mnist", "test", real_data_dir).images[:200])


def probabilities(folder: Path, images: np.ndarray) -> np.ndarray:
    return charrec.load(folder).predict_arrays(images).astype(np.float64)


def random_run(folder: Path, classes: list[str], *, mean: float, std: float, seed: int) -> Path:
    """A run folder of an untrained MLP (seeded weights) with the given normalisation."""
    torch.manual_seed(seed)
    options = {"hidden": [16], "activation": "relu", "init": "kaiming"}
    model = build_model("mlp", options, len(classes))
    folder.mkdir(parents=True)
    save_weights(folder / "model.safetensors", state_dict_for_saving(model))
    write_json(
        folder / "model.json",
        {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "model": {"name": "mlp", "options": options},
            "num_classes": len(classes),
            "classes": classes,
            "parameters": sum(p.numel() for p in model.parameters()),
            "preprocessing": {"input_size": [28, 28], "mean": mean, "std": std},
            "data": {"name": "mnist"},
            "epoch": 1,
            "metrics": {},
        },
    )
    return folder


@pytest.mark.realdata
@pytest.mark.slow
def test_an_ensemble_folder_goes_through_evaluate_predict_and_export(
    members: list[Path],
    test_images: np.ndarray,
    real_data_dir: Path,
    tmp_path: Path,
    font: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "ens"
    args = ["ensemble", *map(str, members), "--out", str(out), "--data", "mnist"]
    code, stdout, stderr = run([*args, "--data-dir", str(real_data_dir)], capsys)
    assert code == 0, stderr
    assert "ensemble:" in stdout

    # The folder's model is the members' average, in Python as in every command.
    average = (probabilities(members[0], test_images) + probabilities(members[1], test_images)) / 2
    ours = probabilities(out, test_images)
    assert np.abs(ours - average).max() < TOLERANCE
    model, meta = load_run(out)
    assert meta["model"]["name"] == "ensemble" and len(meta["model"]["members"]) == 2

    # The card: members with their own scores and cost, the ensemble's score on --data.
    card = json.loads((out / "card.json").read_text())
    singles = [evaluate_run(m, "mnist", "test", real_data_dir, write=False) for m in members]
    ensemble = evaluate_run(out, "mnist", "test", real_data_dir, write=False)
    assert [m["accuracy_on_data"] for m in card["members"]] == [r.accuracy for r in singles]
    assert card["test_accuracy"] == ensemble.accuracy and card["test_data"] == "mnist:test"
    assert card["parameters"] == sum(r.metrics["model"]["parameters"] for r in singles)
    assert card["flops_per_image"] == sum(m["flops_per_image"] for m in card["members"]) > 0
    assert "mnist:test" in (out / "card.md").read_text()

    code, stdout, stderr = run(["evaluate", str(out), "--data-dir", str(real_data_dir)], capsys)
    assert code == 0, stderr
    assert f"{100 * ensemble.accuracy:.2f}%" in stdout

    picture = tmp_path / "seven.png"
    Image.fromarray(render_text("7", font)).save(picture)
    expected = charrec.load(out).predict(picture)
    code, stdout, stderr = run(["predict", str(picture), "--model", str(out), "--json"], capsys)
    assert code == 0, stderr
    assert json.loads(stdout)[0]["label"] == expected.label

    exported = tmp_path / "ens.onnx"
    code, _, stderr = run(["export", str(out), "--out", str(exported)], capsys)
    assert code == 0, stderr
    session = ort.InferenceSession(str(exported), providers=["CPUExecutionProvider"])
    onnx_probs = session.run(["probabilities"], {"images": test_images})[0]
    assert np.abs(onnx_probs - average).max() < TOLERANCE

    # serve loads it as any model, its card listing the members.
    served = ModelPool([str(out)]).get(None)
    assert served.recognizer.predict(picture).label == expected.label
    assert [m["source"] for m in served.info()["card"]["members"]] == [str(m) for m in members]

    # compare reads the ensemble's score; bench infer reports each member's cost.
    code, stdout, _ = run(["compare", str(out), *map(str, members)], capsys)
    assert code == 0 and "ensemble" in stdout
    assert [m["parameters"] for m in member_costs(model, meta)] == [
        r.metrics["model"]["parameters"] for r in singles
    ]


@pytest.mark.realdata
def test_weighted_averaging_uses_validation_accuracy(
    members: list[Path], test_images: np.ndarray, tmp_path: Path
) -> None:
    folder = build_ensemble([str(m) for m in members], tmp_path / "weighted", weighted=True)
    accuracies = [load_run(m)[1]["metrics"]["val_accuracy"] for m in members]
    assert accuracies[0] != accuracies[1]
    weights = np.array(accuracies) / sum(accuracies)
    expected = sum(w * probabilities(m, test_images) for w, m in zip(weights, members, strict=True))
    assert np.abs(probabilities(folder, test_images) - expected).max() < TOLERANCE
    card = json.loads((folder / "card.json").read_text())
    assert [m["weight"] for m in card["members"]] == pytest.approx(weights)


def test_members_normalised_differently_each_see_their_own_input(tmp_path: Path) -> None:
    classes = [str(d) for d in range(10)]
    a = random_run(tmp_path / "a", classes, mean=0.13, std=0.31, seed=0)
    b = random_run(tmp_path / "b", classes, mean=0.5, std=0.2, seed=1)
    folder = build_ensemble([str(a), str(b)], tmp_path / "ens")
    images = np.random.default_rng(0).integers(0, 256, (32, 28, 28), dtype=np.uint8)
    expected = (probabilities(a, images) + probabilities(b, images)) / 2
    assert np.abs(probabilities(folder, images) - expected).max() < TOLERANCE


def test_members_with_other_classes_are_refused_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    digits = random_run(tmp_path / "digits", [str(d) for d in range(10)], mean=0.1, std=0.3, seed=0)
    letters = random_run(tmp_path / "letters", list("ABCDEFGHIJ"), mean=0.1, std=0.3, seed=1)
    out = tmp_path / "ens"
    code, _, stderr = run(["ensemble", str(digits), str(letters), "--out", str(out)], capsys)
    assert code == 2
    assert "different classes" in stderr and "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize(
    ("members", "message"),
    [
        (["a"], "at least two members"),
        (["a", "missing"], "not found"),
        (["a", "a"], "named twice"),
        ([], "name at least two"),
    ],
)
def test_bad_member_lists_are_refused(
    members: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    random_run(tmp_path / "a", [str(d) for d in range(10)], mean=0.1, std=0.3, seed=0)
    out = tmp_path / "ens"
    args = ["ensemble", *(str(tmp_path / m) for m in members), "--out", str(out)]
    code, _, stderr = run(args, capsys)
    assert code == 2 and message in stderr and "Traceback" not in stderr
    assert not out.exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--tta", "zoom", "--data", "mnist"], "zoom"),
        (["--tta", "shift"], "give --data too"),
    ],
)
def test_bad_test_time_augmentation_is_refused(
    extra: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    classes = [str(d) for d in range(10)]
    a = random_run(tmp_path / "a", classes, mean=0.1, std=0.3, seed=0)
    b = random_run(tmp_path / "b", classes, mean=0.1, std=0.3, seed=1)
    out = tmp_path / "ens"
    code, _, stderr = run(["ensemble", str(a), str(b), "--out", str(out), *extra], capsys)
    assert code == 2 and message in stderr and "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.realdata
def test_the_card_records_scores_with_test_time_augmentation(
    members: list[Path], real_data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ens"
    args = ["ensemble", *map(str, members), "--out", str(out), "--data", "mnist"]
    code, _, stderr = run([*args, "--tta", "shift", "--data-dir", str(real_data_dir)], capsys)
    assert code == 0, stderr
    card = json.loads((out / "card.json").read_text())
    assert card["test_data"] == "mnist:test:tta-shift"
    assert card["tta"] == {"policy": "shift", "views": 5}
    # The same scores as evaluating each member and the ensemble folder with the policy.
    singles = [
        evaluate_run(m, "mnist", "test", real_data_dir, write=False, tta="shift") for m in members
    ]
    plain = [evaluate_run(m, "mnist", "test", real_data_dir, write=False) for m in members]
    assert [m["accuracy_on_data"] for m in card["members"]] == [r.accuracy for r in singles]
    assert [r.accuracy for r in singles] != [r.accuracy for r in plain]
    ensemble = evaluate_run(out, "mnist", "test", real_data_dir, write=False, tta="shift")
    assert card["test_accuracy"] == ensemble.accuracy
    assert "mnist:test:tta-shift" in json.loads((out / "metrics.json").read_text())["evaluation"]
    assert "test-time augmentation `shift`" in (out / "card.md").read_text()


def test_weighting_needs_every_members_validation_accuracy(tmp_path: Path) -> None:
    classes = [str(d) for d in range(10)]
    a = random_run(tmp_path / "a", classes, mean=0.1, std=0.3, seed=0)
    b = random_run(tmp_path / "b", classes, mean=0.1, std=0.3, seed=1)
    with pytest.raises(ConfigError, match="validation accuracy"):
        build_ensemble([str(a), str(b)], tmp_path / "ens", weighted=True)
    assert not (tmp_path / "ens").exists()


def test_an_ensemble_is_not_replaced_without_overwrite(tmp_path: Path) -> None:
    classes = [str(d) for d in range(10)]
    a = random_run(tmp_path / "a", classes, mean=0.1, std=0.3, seed=0)
    b = random_run(tmp_path / "b", classes, mean=0.1, std=0.3, seed=1)
    folder = build_ensemble([str(a), str(b)], tmp_path / "ens")
    before = (folder / "model.safetensors").read_bytes()
    with pytest.raises(ConfigError, match="--overwrite"):
        build_ensemble([str(b), str(a)], folder)
    assert (folder / "model.safetensors").read_bytes() == before
    build_ensemble([str(b), str(a)], folder, overwrite=True)
    assert load_run(folder)[1]["model"]["sources"] == [str(b), str(a)]


@pytest.mark.realdata
def test_a_seed_ensemble_trains_its_members_once_and_refuses_a_changed_recipe(
    real_data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(tiny_config(real_data_dir, tmp_path / "unused", seed=0).to_yaml())
    out = tmp_path / "seeds"
    args = ["ensemble", "--recipe", str(recipe), "--seeds", "3,4", "--out", str(out), "-q"]
    code, _, stderr = run(args, capsys)
    assert code == 0, stderr
    sources = load_run(out)[1]["model"]["sources"]
    assert sources == [str(out / "members" / "seed-3"), str(out / "members" / "seed-4")]
    seeds = [TrainConfig.from_yaml(Path(s) / "config.yaml").training.seed for s in sources]
    assert seeds == [3, 4]

    # Again: the finished members are kept, not retrained.
    weights = (out / "members" / "seed-3" / "model.safetensors").stat().st_mtime_ns
    code, stdout, stderr = run([*args[:-1], "--overwrite"], capsys)
    assert code == 0, stderr
    assert stdout.count("already trained") == 2
    assert (out / "members" / "seed-3" / "model.safetensors").stat().st_mtime_ns == weights

    changed = tiny_config(real_data_dir, tmp_path / "unused", seed=0, hidden=8)
    recipe.write_text(changed.to_yaml())
    code, _, stderr = run([*args, "--overwrite"], capsys)
    assert code == 2 and "another config" in stderr


@pytest.mark.realdata
def test_several_recipes_make_one_ensemble_with_every_seed_of_each(
    real_data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wide, narrow = tmp_path / "wide.yaml", tmp_path / "narrow.yaml"
    wide.write_text(tiny_config(real_data_dir, tmp_path / "unused", seed=0).to_yaml())
    narrow.write_text(tiny_config(real_data_dir, tmp_path / "unused", seed=0, hidden=8).to_yaml())
    out = tmp_path / "mix"
    args = ["ensemble", "--recipe", str(wide), "--recipe", str(narrow), "--seeds", "5"]
    code, _, stderr = run([*args, "--out", str(out), "-q"], capsys)
    assert code == 0, stderr
    sources = load_run(out)[1]["model"]["sources"]
    assert sources == [str(out / "members" / "wide-seed-5"), str(out / "members" / "narrow-seed-5")]
    hidden = [
        TrainConfig.from_yaml(Path(s) / "config.yaml").model.options["hidden"] for s in sources
    ]
    assert hidden == [[32], [8]]

    # One recipe with one seed is not an ensemble; one file named twice is refused.
    code, _, stderr = run(
        ["ensemble", "--recipe", str(wide), "--seeds", "5", "--out", str(tmp_path / "x")], capsys
    )
    assert code == 2 and "two different seeds" in stderr
    twice = tmp_path / "other" / "wide.yaml"
    twice.parent.mkdir()
    twice.write_text(wide.read_text())
    code, _, stderr = run(
        [*args[:3], "--recipe", str(twice), "--seeds", "5", "--out", str(tmp_path / "y")], capsys
    )
    assert code == 2 and "'wide' is given twice" in stderr
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_transfer_refuses_an_ensemble_as_its_source(tmp_path: Path) -> None:
    from charrec.transfer.source import source_architecture

    classes = [str(d) for d in range(10)]
    a = random_run(tmp_path / "a", classes, mean=0.1, std=0.3, seed=0)
    b = random_run(tmp_path / "b", classes, mean=0.1, std=0.3, seed=1)
    folder = build_ensemble([str(a), str(b)], tmp_path / "ens")
    with pytest.raises(CharrecError, match="is an ensemble"):
        source_architecture(str(folder))


def test_overwrite_never_replaces_a_training_run(tmp_path: Path) -> None:
    classes = [str(d) for d in range(10)]
    a = random_run(tmp_path / "a", classes, mean=0.1, std=0.3, seed=0)
    b = random_run(tmp_path / "b", classes, mean=0.1, std=0.3, seed=1)
    c = random_run(tmp_path / "c", classes, mean=0.1, std=0.3, seed=2)
    before = (c / "model.json").read_bytes()
    with pytest.raises(ConfigError, match="not an ensemble"):
        build_ensemble([str(a), str(b)], c, overwrite=True)
    assert (c / "model.json").read_bytes() == before


def test_an_ensemble_can_be_a_member_of_another(tmp_path: Path) -> None:
    classes = [str(d) for d in range(10)]
    a, b, c = (
        random_run(tmp_path / name, classes, mean=0.1 * (i + 1), std=0.3, seed=i)
        for i, name in enumerate("abc")
    )
    inner = build_ensemble([str(a), str(b)], tmp_path / "inner")
    outer = build_ensemble([str(inner), str(c)], tmp_path / "outer")
    images = np.random.default_rng(1).integers(0, 256, (16, 28, 28), dtype=np.uint8)
    expected = (probabilities(a, images) + probabilities(b, images)) / 4
    expected += probabilities(c, images) / 2
    assert np.abs(probabilities(outer, images) - expected).max() < TOLERANCE
