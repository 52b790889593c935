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
    textbook = benchmark.textbook_throughput(data_dir=str(real_data_dir), **common)
    assert ours > 0 and plain > 0 and textbook > 0


FP32 = [v for v in benchmark.VARIANTS if v[1] == "fp32"]
TINY_RUN = {"images": 128, "batch": 64, "repeats": 1}


def test_model_throughput_keeps_the_fastest_variant(real_data_dir: Path) -> None:
    row = benchmark.model_throughput(
        "chollet-mlp", FP32, threads=2, data_dir=str(real_data_dir), **TINY_RUN
    )
    assert set(row["variants"]) == {
        "fp32",
        "fp32 channels_last",
        "fp32 sharded",
        "fp32 channels_last sharded",
    }
    assert row["images_per_second"] == max(row["variants"].values())
    assert row["variants"][row["best"]] == row["images_per_second"]


@pytest.mark.parametrize(("model", "threads"), [("vgg", 2), ("chollet-mlp", 1)])
def test_sharded_variants_are_left_out_where_they_cannot_run(
    real_data_dir: Path, model: str, threads: int
) -> None:
    # vgg has batch norm; one thread makes one shard, the same as unsharded.
    variants = [v for v in FP32 if not v[2]]
    options = {"threads": threads, "data_dir": str(real_data_dir), **TINY_RUN}
    if model == "vgg":
        options.update(images=16, batch=8)
    row = benchmark.model_throughput(model, variants, **options)
    assert set(row["variants"]) == {"fp32"}


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
    args += ["--baseline-rounds", "2"]
    try:
        main(args)
    except SystemExit as exc:
        assert not exc.code
    text = capsys.readouterr().out
    assert "keras-convnet" in text and "textbook PyTorch script" in text and "tiny.yaml" in text
    saved = json.loads(out.read_text())
    assert [r["model"] for r in saved["models"]] == ["keras-convnet"]
    baseline = saved["baseline"]
    rounds = baseline["rounds"]
    assert len(rounds) == 2 and baseline["charrec_variant"] in saved["models"][0]["variants"]
    for row in rounds:
        assert row["ratio"] == pytest.approx(row["charrec"] / row["textbook"])
    assert baseline["ratio"] == max(r["ratio"] for r in rounds)  # the upper median of two
    assert baseline["textbook"] == max(r["textbook"] for r in rounds)
    assert baseline["dataloader_charrec_model"] > 0
    assert saved["recipes"][0]["time_to_target"]["99.99%"] is None
    assert saved["recipes"][0]["time_to_target"]["10.0%"] is not None


# Stands in for a Python with Keras: records the arguments the peer script got and prints
# the line keras_peer.py prints.
FAKE_KERAS = """#!/bin/sh
echo "$@" > "$(dirname "$0")/peer-args.txt"
echo '{"epoch_seconds": [4.0, 6.0], "val_accuracy": 0.5, "test_accuracy": 0.5}'
"""


def test_keras_comparison_passes_each_sides_precision_and_options(
    tmp_path: Path, real_data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = tmp_path / "python"
    fake.write_text(FAKE_KERAS)
    fake.chmod(0o755)
    out = tmp_path / "bench.json"
    args = ["bench", "train", "--models", "none", "--no-recipes", "--keras", str(fake)]
    args += ["--keras-epochs", "1", "--baseline-rounds", "1", "--precision", "bf16"]
    args += ["--keras-precision", "bf16", "--train-args", "--limit 300 --threads 1"]
    args += ["--data-dir", str(real_data_dir), "--out", str(out)]
    try:
        main(args)
    except SystemExit as exc:
        assert not exc.code
    assert "--epochs 1 --precision mixed_bfloat16" in (tmp_path / "peer-args.txt").read_text()
    keras = json.loads(out.read_text())["keras"]
    assert (keras["precision"], keras["keras_precision"]) == ("bf16", "bf16")
    (row,) = keras["rounds"]
    assert row["keras"]["seconds"] == 10.0
    assert row["ratio"] == pytest.approx(10.0 / row["charrec"]["seconds"])
    assert 0 < row["charrec"]["test_accuracy"] <= 1
    assert "charrec (bf16)" in capsys.readouterr().out


def test_keras_comparison_refuses_an_unknown_precision(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "train", "--models", "none", "--keras", "python3", "--precision", "fp16"])
    assert exit_info.value.code == 2
    assert "--precision must be fp32 or bf16" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--models", "lenet"], ["lenet", "keras-convnet", "vgg"]),
        (["--models", "none", "--recipes", "nowhere.yaml"], ["nowhere.yaml", "not found"]),
        (["--models", "none", "--targets", "high"], ["--targets", "high"]),
        (["--models", "none", "--repeats", "0"], ["--repeats"]),
        (["--models", "none", "--baseline-rounds", "0"], ["--baseline-rounds"]),
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


@pytest.mark.parametrize("name", ["mnist-fast", "mnist-best", "mnist-top", "mnist-deotte"])
def test_recipes_are_fixed_full_mnist_runs(name: str) -> None:
    """No validation split and no early stopping: the epoch count is part of the recipe."""
    config = TrainConfig.from_yaml(RECIPES / f"{name}.yaml").validate()
    assert config.data.name == "mnist" and config.data.limit is None
    assert config.data.val_fraction == 0.0 and config.data.evaluate_test
    assert config.training.early_stopping.patience == 0
    from charrec.models import create_model

    create_model(config.model.name, 10, **config.model.options)


def test_the_textbook_script_trains_the_same_function_as_charrecs_keras_convnet() -> None:
    import torch

    from charrec.models import count_parameters, create_model
    from charrec.train import textbook_loop

    ours = create_model("keras-convnet", 10).eval()
    plain = textbook_loop.keras_convnet(10).eval()
    assert count_parameters(plain) == count_parameters(ours) == 34_826
    convs = [m for m in ours.features if isinstance(m, torch.nn.Conv2d)]
    for mine, theirs in zip([*convs, ours.head], [plain[0], plain[3], plain[8]], strict=True):
        theirs.load_state_dict(mine.state_dict())
    x = torch.randn(4, 1, 28, 28)
    assert torch.equal(ours(x), plain(x))
