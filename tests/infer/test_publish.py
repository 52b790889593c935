"""Publishing a run folder as a shipped model: the files, the card, and the same outputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from charrec.data import load_dataset
from charrec.data.classes import EMNIST_CLASSES
from charrec.errors import CharrecError, ConfigError
from charrec.evaluate import evaluate_run
from charrec.infer.publish import main, publish
from charrec.infer.publish_realworld import main as remeasure_main
from charrec.infer.publish_realworld import sets_for
from charrec.train import TrainConfig, apply_overrides, train
from charrec.train.checkpoint import load_run

CARD_KEYS = {
    "name",
    "description",
    "classes",
    "data",
    "protocol",
    "test_data",
    "test_images",
    "test_accuracy",
    "metrics",
    "trained",
    "recipe",
    "command",
    "parameters",
    "weights_bytes",
    "charrec_version",
}

# A tiny MNIST run: one thread so other processes on the machine cannot slow it down much.
TINY = {
    "data.name": "mnist",
    "data.limit": 300,
    "data.evaluate_test": False,
    "model.name": "mlp",
    "model.options.hidden": [32, 16],
    "training.epochs": 1,
    "training.batch_size": 50,
    "training.num_threads": 1,
}

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def tiny_run(real_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("publish") / "run"
    values = {**TINY, "data.data_dir": str(real_data_dir), "run.out": str(out)}
    config = apply_overrides(TrainConfig(), values)
    train(config, verbose=False)
    config.to_yaml(out.parent / "recipe.yaml")
    return out


def test_publish_writes_checkpoint_and_card(
    tiny_run: Path, tmp_path: Path, real_data_dir: Path
) -> None:
    folder = publish(tiny_run, "tiny", dest=tmp_path, recipe=tiny_run.parent / "recipe.yaml")

    assert folder == tmp_path / "tiny"
    assert sorted(p.name for p in folder.iterdir()) == [
        "card.json",
        "card.md",
        "model.json",
        "model.safetensors",
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["tiny"]  # no temporary folder left
    card = json.loads((folder / "card.json").read_text())
    assert set(card) >= CARD_KEYS
    assert card["name"] == "tiny"
    assert card["classes"] == [str(d) for d in range(10)]
    assert card["test_data"] == "mnist:test"
    assert card["test_images"] == 10_000
    expected = evaluate_run(tiny_run, data="mnist", split="test", write=False).metrics
    assert card["test_accuracy"] == pytest.approx(expected["accuracy"])
    assert card["metrics"]["macro"]["f1"] == pytest.approx(expected["macro"]["f1"])
    weakest = [c["f1"] for c in card["metrics"]["weakest_classes"]]
    assert len(weakest) == 5 and weakest == sorted(weakest)
    assert card["weights_bytes"] == (folder / "model.safetensors").stat().st_size
    assert card["parameters"] == sum(p.numel() for p in load_run(folder)[0].parameters())
    assert card["data"]["train_images"] == 270
    assert "recipe.yaml" in card["command"] and "--name tiny" in card["command"]
    markdown = (folder / "card.md").read_text()
    assert "# charrec model `tiny`" in markdown
    assert f"{100 * card['test_accuracy']:.2f}%" in markdown
    # A digits model is scored on the real digits from outside NIST it can name.
    real = {row["data"]: row for row in card["real_handwriting"]}
    if (real_data_dir / "realworld" / "unipen" / "meta.csv").is_file():
        assert list(real) == ["unipen-digits:test", "semeion:test", "optdigits:test"]
        semeion = evaluate_run(tiny_run, data="semeion", split="test", write=False).metrics
        assert real["semeion:test"]["accuracy"] == pytest.approx(semeion["accuracy"])
        assert real["semeion:test"]["images"] == 1_593
        assert "## Real handwriting from outside NIST" in markdown
        assert f"| semeion:test | 1,593 | {100 * semeion['accuracy']:.2f}% |" in markdown


def test_real_handwriting_rows_are_measured_again_on_the_card(
    tiny_run: Path, tmp_path: Path, real_data_dir: Path, capsys
) -> None:
    # As after a change to preprocessing: the card's rows no longer hold, and measuring
    # them again rewrites card.json and card.md with what evaluation gives now.
    if not (real_data_dir / "realworld" / "semeion" / "labels.csv").is_file():
        pytest.skip("realworld/ is not in the data folder")
    folder = publish(tiny_run, "tiny", dest=tmp_path, recipe=tiny_run.parent / "recipe.yaml")
    card = json.loads((folder / "card.json").read_text())
    measured = card["real_handwriting"]
    stale = [{**row, "accuracy": 0.0} for row in measured]
    (folder / "card.json").write_text(json.dumps({**card, "real_handwriting": stale}))
    (folder / "card.md").write_text("stale")

    assert remeasure_main([str(folder), "--data-dir", str(real_data_dir)]) == 0
    again = json.loads((folder / "card.json").read_text())
    assert again == card
    semeion = next(row for row in measured if row["data"] == "semeion:test")
    assert f"semeion:test {100 * semeion['accuracy']:.2f}%" in capsys.readouterr().out
    assert f"| semeion:test | 1,593 | {100 * semeion['accuracy']:.2f}% |" in (
        folder / "card.md"
    ).read_text()

    assert remeasure_main([str(tmp_path)]) != 0  # a folder without a card
    assert "no card.json" in capsys.readouterr().err


def test_real_sets_follow_the_classes_a_model_holds() -> None:
    assert sets_for([str(d) for d in range(10)]) == ["unipen-digits", "semeion", "optdigits"]
    assert sets_for(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ")) == ["unipen-letters"]
    assert sets_for(list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")) == [
        "unipen-letters"
    ]
    assert sets_for(list(EMNIST_CLASSES["byclass"]))[0] == "unipen"
    assert sets_for(["A", "B"]) == []


def test_published_model_gives_the_runs_outputs(tiny_run: Path, tmp_path: Path) -> None:
    folder = publish(tiny_run, "tiny", dest=tmp_path)
    original, meta = load_run(tiny_run)
    shipped, shipped_meta = load_run(folder)
    assert shipped_meta == meta
    images = load_dataset("mnist", "test").images[:64]
    x = (
        torch.from_numpy(images.astype(np.float32) / 255).unsqueeze(1)
        - meta["preprocessing"]["mean"]
    ) / meta["preprocessing"]["std"]
    with torch.no_grad():
        assert torch.equal(original(x), shipped(x))


def test_republish_replaces_and_a_failure_keeps_the_old(tiny_run: Path, tmp_path: Path) -> None:
    publish(tiny_run, "tiny", dest=tmp_path, description="first")
    publish(tiny_run, "tiny", dest=tmp_path, description="second")
    card = json.loads((tmp_path / "tiny" / "card.json").read_text())
    assert card["description"] == "second"

    other = tmp_path / "other.yaml"
    TrainConfig.from_yaml(tiny_run / "config.yaml").to_yaml(other)
    other.write_text(other.read_text().replace("lr: 0.001", "lr: 0.1"))
    with pytest.raises(CharrecError, match=r"not trained with recipe .*optim\.lr"):
        publish(tiny_run, "tiny", dest=tmp_path, recipe=other, description="third")
    with pytest.raises(CharrecError, match="no test split"):
        publish(tiny_run, "tiny", dest=tmp_path, data="binary-alphadigits")
    card = json.loads((tmp_path / "tiny" / "card.json").read_text())
    assert card["description"] == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.yaml", "tiny"]


def test_bad_name_and_bad_run_are_user_errors(tiny_run: Path, tmp_path: Path, capsys) -> None:
    with pytest.raises(ConfigError, match="model name"):
        publish(tiny_run, "../escape", dest=tmp_path)
    assert main([str(tmp_path / "missing"), "--name", "x", "--dest", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "not found" in err and len(err.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []

    unfinished = tmp_path / "unfinished"
    shutil.copytree(tiny_run, unfinished)
    (unfinished / "metrics.json").unlink()
    with pytest.raises(CharrecError, match="has not finished"):
        publish(unfinished, "x", dest=tmp_path / "models")
    assert not (tmp_path / "models").exists()


@pytest.fixture(scope="module")
def tiny_ensemble(tiny_run: Path, real_data_dir: Path) -> Path:
    """The tiny run and a second seed of it, averaged."""
    from charrec.infer.ensemble import build_ensemble

    second = tiny_run.parent / "run-seed-1"
    values = {**TINY, "data.data_dir": str(real_data_dir), "run.out": str(second)}
    train(apply_overrides(TrainConfig(), {**values, "training.seed": 1}), verbose=False)
    return build_ensemble([str(tiny_run), str(second)], tiny_run.parent / "ens")


def test_an_ensemble_publishes_into_the_weights_folder_with_its_members_on_the_card(
    tiny_ensemble: Path,
    tiny_run: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import charrec
    from charrec.infer import pretrained

    weights = tmp_path / "weights"
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", weights)
    assert main([str(tiny_ensemble), "--name", "tiny-ens"]) == 0, capsys.readouterr().err
    folder = weights / "tiny-ens"
    assert sorted(p.name for p in folder.iterdir()) == [
        "card.json",
        "card.md",
        "model.json",
        "model.safetensors",
    ]
    assert pretrained.list_pretrained() == ["tiny-ens"]

    card = json.loads((folder / "card.json").read_text())
    assert set(card) >= CARD_KEYS
    built = json.loads((tiny_ensemble / "card.json").read_text())
    assert card["kind"] == "ensemble" and card["weighting"] == "equal"
    assert [m["source"] for m in card["members"]] == [m["source"] for m in built["members"]]
    assert [m["source"] for m in card["members"]] == [str(tiny_run), str(tiny_run) + "-seed-1"]
    assert card["flops_per_image"] == built["flops_per_image"] > 0
    assert card["preprocess"] == built["preprocess"]
    assert card["recipe"] is None and card["command"] is None
    expected = evaluate_run(tiny_ensemble, data="mnist", split="test", write=False)
    assert card["test_accuracy"] == pytest.approx(expected.accuracy)
    markdown = (folder / "card.md").read_text()
    assert "## Members" in markdown and str(tiny_run) + "-seed-1" in markdown
    assert f"{100 * card['test_accuracy']:.2f}%" in markdown

    # The shipped name answers as the ensemble folder does.
    images = load_dataset("mnist", "test").images[:64]
    shipped = charrec.load("tiny-ens").predict_arrays(images)
    assert np.allclose(shipped, charrec.load(tiny_ensemble).predict_arrays(images), atol=1e-6)


def test_an_ensemble_has_no_recipe_to_check(
    tiny_ensemble: Path, tiny_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [str(tiny_ensemble), "--name", "x", "--dest", str(tmp_path)]
    assert main([*args, "--recipe", str(tiny_run.parent / "recipe.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert "is an ensemble" in err and "without --recipe" in err and len(err.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_a_calibrated_run_shows_its_temperature_and_training_date_on_the_card(
    tiny_run: Path, tmp_path: Path
) -> None:
    from charrec.train.calibrate_run import calibrate_run

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)  # copytree keeps the files' times
    trained = (run / "model.safetensors").stat().st_mtime_ns
    calibration = calibrate_run(run)
    assert (run / "model.safetensors").stat().st_mtime_ns == trained
    folder = publish(run, "tiny-cal", dest=tmp_path / "models", recipe=run / "config.yaml")
    card = json.loads((folder / "card.json").read_text())
    assert card["calibration"]["temperature"] == pytest.approx(calibration.temperature)
    plain = json.loads(
        (publish(tiny_run, "tiny", dest=tmp_path / "models") / "card.json").read_text()
    )
    assert card["trained"] == plain["trained"]
    assert card["test_accuracy"] == plain["test_accuracy"]  # the same answers
    assert plain["calibration"] is None
    assert (
        f"| temperature | {calibration.temperature:.3f}, fitted on"
        in (folder / "card.md").read_text()
    )


def test_the_card_says_how_extra_training_images_joined() -> None:
    from charrec.infer.publish import _extra_words

    words = _extra_words(
        [
            {"name": "unipen-letters", "split": "train", "repeat": 4, "renders": 0},
            {"name": "unipen-letters", "split": "train", "repeat": 1, "renders": 3},
            {"name": "unipen", "split": "train", "repeat": 3, "take": {"g": "9"}},
        ]
    )
    assert words == (
        "; the training images include unipen-letters:train ×4, "
        "unipen-letters:train drawn anew from its pen strokes ×3, unipen:train (its g as 9) ×3"
    )
    assert _extra_words([]) == ""

