"""`charrec transfer` end to end on real Binary AlphaDigits images, with tiny epochs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from charrec.infer.pretrained import pretrained_dir
from charrec.train.checkpoint import load_run

pytestmark = pytest.mark.realdata

STRATEGIES = ("zero-shot", "linear-probe", "added-layers", "top-blocks", "finetune", "scratch")


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_each_strategy_makes_a_run_folder(
    strategy: str, tmp_path: Path, capsys, run_cli, tiny
) -> None:
    out = tmp_path / strategy
    code, _, err = run_cli(
        ["transfer", "--from", "letters", "--strategy", strategy, "--out", str(out), *tiny],
        capsys,
    )
    assert code == 0, err
    for name in ("config.yaml", "model.safetensors", "model.json", "history.json"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    model, meta = load_run(out)
    assert meta["classes"] == list("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["transfer"]["strategy"] == strategy
    assert config["transfer"]["source"] == "letters"
    # The architecture is the source's (the shipped letters model's).
    source_model, source_meta = load_run(pretrained_dir("letters"))
    assert config["model"]["name"] == source_meta["model"]["name"]
    # The held-out fold (203 images) is scored; a model that kept its letters does well.
    accuracy = metrics["val"]["accuracy"]
    if strategy == "scratch":
        assert 0.0 <= accuracy < 0.5
    elif strategy in ("zero-shot", "linear-probe", "top-blocks", "finetune"):
        assert accuracy > 0.8, accuracy
    if strategy == "added-layers":
        # As wide as the source's features (the layer the source's head reads).
        assert meta["model"]["added"] == source_model.head.in_features
        frozen = [p for name, p in model.named_parameters() if name.startswith("features.0.")]
        assert frozen  # the base is under features.0, the added layer under features.1


def test_evaluate_and_predict_accept_a_transfer_run(
    tmp_path: Path, capsys, run_cli, tiny, bad_folder
) -> None:
    out = tmp_path / "run"
    code, _, err = run_cli(
        ["transfer", "--from", "letters", "--strategy", "added-layers", "--out", str(out), *tiny],
        capsys,
    )
    assert code == 0, err
    code, stdout, err = run_cli(["evaluate", str(out)], capsys)
    assert code == 0, err
    assert "binary-alphadigits-letters" in stdout
    image = next((bad_folder("Q", 1)).rglob("*.png"))
    code, stdout, err = run_cli(["predict", str(image), "--model", str(out), "--json"], capsys)
    assert code == 0, err
    assert json.loads(stdout)[0]["label"] in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    onnx = tmp_path / "model.onnx"
    code, _, err = run_cli(["export", str(out), "--format", "onnx", "--out", str(onnx)], capsys)
    assert code == 0, err
    assert onnx.is_file()


def test_config_reruns_the_same_numbers(tmp_path: Path, capsys, run_cli, tiny) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    args = ["transfer", "--from", "letters", "--strategy", "finetune", *tiny]
    assert run_cli([*args, "--out", str(first)], capsys)[0] == 0
    code, _, err = run_cli(
        ["transfer", "--config", str(first / "config.yaml"), "--out", str(second)], capsys
    )
    assert code == 0, err
    a = json.loads((first / "metrics.json").read_text())["val"]
    b = json.loads((second / "metrics.json").read_text())["val"]
    assert a == b


def test_zero_shot_matches_26_classes_on_bad_letters(tmp_path: Path, capsys, run_cli, tiny) -> None:
    out = tmp_path / "zs"
    code, _stdout, err = run_cli(
        ["transfer", "--from", "letters", "--strategy", "zero-shot", "--out", str(out)], capsys
    )
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    # Every BAD letter image is scored: nothing was fitted to any of them.
    assert json.loads((out / "model.json").read_text())["data"]["images"] == 1014
    assert metrics["label_space"] == "model and data have the same classes"
    assert metrics["val"]["accuracy"] > 0.85


def test_zero_shot_merges_case_of_a_62_class_source(tmp_path: Path, capsys, run_cli, tiny) -> None:
    out = tmp_path / "zs62"
    code, _, err = run_cli(
        ["transfer", "--from", "alphanumeric", "--strategy", "zero-shot", "--out", str(out)],
        capsys,
    )
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    # 'a' and 'A' count for BAD's 'A'; the digits are columns of their own (errors).
    assert "A=A+a" in metrics["label_space"]
    assert "0123456789" in metrics["label_space"]
    assert metrics["val"]["accuracy"] > 0.6
    # The run keeps the source's 62 classes: evaluate matches them again by name.
    assert len(json.loads((out / "model.json").read_text())["classes"]) == 62


def test_a_class_the_source_never_saw(tmp_path: Path, capsys, run_cli, bad_folder) -> None:
    target = bad_folder("AB7", 8)
    zero = tmp_path / "zero"
    code, _, err = run_cli(
        [
            "transfer",
            "--from",
            "letters",
            "--data",
            str(target),
            "--strategy",
            "zero-shot",
            "--out",
            str(zero),
        ],
        capsys,
    )
    assert code == 2 and "'7'" in err and len(err.strip().splitlines()) == 1
    assert not zero.exists()
    taught = tmp_path / "taught"
    code, _, err = run_cli(
        [
            "transfer",
            "--from",
            "letters",
            "--data",
            str(target),
            "--strategy",
            "finetune",
            "--out",
            str(taught),
            "--epochs",
            "2",
            "--threads",
            "1",
        ],
        capsys,
    )
    assert code == 0, err
    _, meta = load_run(taught)
    assert meta["classes"] == ["7", "A", "B"]
    assert meta["num_classes"] == 3


def test_resize_policy_is_recorded(tmp_path: Path, capsys, run_cli, tiny) -> None:
    out = tmp_path / "pad"
    code, _, err = run_cli(
        [
            "transfer",
            "--from",
            "letters",
            "--strategy",
            "linear-probe",
            "--resize",
            "pad",
            "--out",
            str(out),
            *tiny,
        ],
        capsys,
    )
    assert code == 0, err
    assert yaml.safe_load((out / "config.yaml").read_text())["data"]["resize"] == "pad"


def test_compare_writes_a_report(tmp_path: Path, capsys, run_cli, bad_folder) -> None:
    target = bad_folder("ABCD", 6)
    out = tmp_path / "cmp"
    code, _stdout, err = run_cli(
        [
            "transfer",
            "--compare",
            "--from",
            "letters",
            "--data",
            str(target),
            "--out",
            str(out),
            "--strategies",
            "zero-shot,linear-probe,top-blocks,scratch",
            "--tta",
            "shift",
            "--folds",
            "2",
            "--curve",
            "1",
            "--epochs",
            "1",
            "--threads",
            "1",
        ],
        capsys,
    )
    assert code == 0, err
    for name in (
        "report.md",
        "report.html",
        "results.json",
        "folds.csv",
        "accuracy.png",
        "learning_curve.png",
        "confusion.png",
    ):
        assert (out / name).is_file(), name
    results = json.loads((out / "results.json").read_text())
    names = ["zero-shot", "linear-probe", "top-blocks", "ensemble", "scratch"]
    assert [s["candidate"] for s in results["scores"]] == names * 2
    assert {s["per_class"] for s in results["curve"]} == {1}
    assert results["conclusion"][0].startswith("The best transfer strategy")
    report = (out / "report.md").read_text()
    assert "Paired differences" in report and "Conclusion" in report
    assert "test-time augmentation `shift`" in report and "ensemble" in report
    assert results["tta"] == "shift"
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and 'src="http' not in html
    # Same folds for every candidate: paired, and every image held out once per repeat.
    # The best strategy's mistakes: as many as its fold accuracies leave, in a gallery.
    best = results["summary"]["best_transfer"]
    wrong = sum(
        round((1 - s["accuracy"]) * 12) for s in results["scores"] if s["candidate"] == best
    )
    mistakes = results["summary"]["mistakes"]
    assert (mistakes["candidate"], mistakes["count"], mistakes["held_out"]) == (best, wrong, 24)
    assert sum(n for _, _, n in mistakes["pairs"]) == wrong
    assert (out / "mistakes.png").is_file() == (wrong > 0)
    held = [s for s in results["scores"] if s["candidate"] == "zero-shot"]
    assert len(held) == 2
    assert np.isclose(results["summary"]["candidates"]["zero-shot"]["runs"], 2)


def test_compare_with_a_zoo_model_from_scratch(tmp_path: Path, capsys, run_cli, bad_folder) -> None:
    target = bad_folder("ABC", 4)
    out = tmp_path / "zoo"
    args = ["transfer", "--compare", "--from", "letters", "--data", str(target)]
    args += ["--out", str(out), "--strategies", "scratch", "--zoo", "chollet-mlp"]
    code, stdout, err = run_cli([*args, "--folds", "2", "--curve", "none", "--epochs", "1"], capsys)
    assert code == 0, err
    results = json.loads((out / "results.json").read_text())
    assert set(results["summary"]["candidates"]) == {"scratch", "scratch:chollet-mlp"}
    _, meta = load_run(out / "runs" / "scratch-chollet-mlp" / "r0-f0")
    assert meta["model"]["name"] == "chollet-mlp"
    assert "scratch:chollet-mlp" in stdout
    # A second comparison into the same folder is refused unless --overwrite.
    code, _, err = run_cli([*args, "--folds", "2", "--curve", "none"], capsys)
    assert code == 2 and "already holds a comparison" in err


def test_compare_with_per_class_trains_every_candidate_on_that_many(
    tmp_path: Path, capsys, run_cli, bad_folder
) -> None:
    target = bad_folder("ABC", 6)
    out = tmp_path / "few"
    args = ["transfer", "--compare", "--from", "letters", "--data", str(target), "--out", str(out)]
    args += ["--strategies", "linear-probe,scratch", "--folds", "2", "--epochs", "1"]
    code, _, err = run_cli([*args, "--per-class", "2", "--curve", "1,2", "--threads", "1"], capsys)
    assert code == 0, err
    results = json.loads((out / "results.json").read_text())
    for score in results["scores"]:
        config = yaml.safe_load((Path(score["run_dir"]) / "config.yaml").read_text())
        assert config["data"]["per_class"] == 2, score["run_dir"]
    # The curve stops below the comparison's own size: 1 per class, not 2 again.
    assert {s["per_class"] for s in results["curve"]} == {1}
    assert "`data.per_class=2`" in (out / "report.md").read_text()
