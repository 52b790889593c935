"""`charrec bench train` and its library: results are well-formed and scored correctly.

Only what does not depend on speed is asserted (no timing asserts): shapes of results,
the test-accuracy curve agreeing with the loop's own score, targets reached or not.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from charrec.cli import main
from charrec.train import TrainConfig, benchmark

pytestmark = pytest.mark.realdata

RECIPES = Path(__file__).resolve().parents[2] / "recipes"


def _tiny_recipe(tmp_path: Path, data_dir: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(
        f"data: {{name: mnist, data_dir: {data_dir}, val_fraction: 0.0, limit: 300}}\n"
        "model: {name: mlp, options: {hidden: [32, 16]}}\n"
        "training: {epochs: 2, batch_size: 50, num_threads: 1}\n"
    )
    return path


def test_throughputs_are_positive(real_data_dir: Path) -> None:
    common = {"images": 128, "batch": 64, "repeats": 1, "threads": 1}
    ours = benchmark.charrec_throughput("chollet-mlp", data_dir=str(real_data_dir), **common)
    plain = benchmark.dataloader_throughput("chollet-mlp", data_dir=str(real_data_dir), **common)
    assert ours > 0 and plain > 0


def test_model_throughput_keeps_the_fastest_variant(real_data_dir: Path) -> None:
    variants = [v for v in benchmark.VARIANTS if v[1] == "fp32"]
    row = benchmark.model_throughput(
        "chollet-mlp", variants, images=128, batch=64, repeats=1, data_dir=str(real_data_dir)
    )
    assert set(row["variants"]) == {"fp32", "fp32 channels_last"}
    assert row["images_per_second"] == max(row["variants"].values())
    assert row["variants"][row["best"]] == row["images_per_second"]


def test_time_to_target_scores_the_test_set_after_each_epoch(
    tmp_path: Path, real_data_dir: Path
) -> None:
    row = benchmark.time_to_target(_tiny_recipe(tmp_path, real_data_dir), (0.0, 1.01))
    curve = row["curve"]
    assert [r["epoch"] for r in curve] == [1, 2] and row["epochs"] == 2
    assert 0 < curve[0]["train_time"] < curve[1]["train_time"] == pytest.approx(row["train_time"])
    # The tracker normalises like the checkpoint says: it agrees with the loop's own score.
    assert row["test_accuracy"] == pytest.approx(row["final_test_accuracy"], abs=1e-12)
    assert 0.3 < row["test_accuracy"] < 1.0
    assert row["time_to_target"] == {"0.0%": curve[0]["train_time"], "101.0%": None}


def test_cli_prints_and_saves_every_part(
    tmp_path: Path, real_data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench.json"
    recipe = _tiny_recipe(tmp_path, real_data_dir)
    args = ["bench", "train", "--models", "keras-convnet", "--fp32-only", "--images", "128"]
    args += ["--batch-size", "64", "--repeats", "1", "--threads", "1", "--recipes", str(recipe)]
    args += ["--targets", "10,99.99", "--data-dir", str(real_data_dir), "--out", str(out)]
    try:
        main(args)
    except SystemExit as exc:
        assert not exc.code
    text = capsys.readouterr().out
    assert "keras-convnet" in text and "DataLoader loop" in text and "tiny.yaml" in text
    saved = json.loads(out.read_text())
    assert [r["model"] for r in saved["models"]] == ["keras-convnet"]
    baseline = saved["baseline"]
    assert baseline["ratio"] == pytest.approx(baseline["charrec"] / baseline["dataloader"])
    assert saved["recipes"][0]["time_to_target"]["99.99%"] is None
    assert saved["recipes"][0]["time_to_target"]["10.0%"] is not None


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--models", "lenet"], ["lenet", "keras-convnet", "vgg"]),
        (["--models", "none", "--recipes", "nowhere.yaml"], ["nowhere.yaml", "not found"]),
        (["--models", "none", "--targets", "high"], ["--targets", "high"]),
        (["--models", "none", "--repeats", "0"], ["--repeats"]),
    ],
)
def test_bad_options_exit_2_with_one_line(
    args: list[str], words: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "train", *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for word in words:
        assert word in err


@pytest.mark.parametrize("name", ["mnist-fast", "mnist-best"])
def test_recipes_are_fixed_full_mnist_runs(name: str) -> None:
    """No validation split and no early stopping: the epoch count is part of the recipe."""
    config = TrainConfig.from_yaml(RECIPES / f"{name}.yaml").validate()
    assert config.data.name == "mnist" and config.data.limit is None
    assert config.data.val_fraction == 0.0 and config.data.evaluate_test
    assert config.training.early_stopping.patience == 0
    from charrec.models import create_model

    create_model(config.model.name, 10, **config.model.options)
