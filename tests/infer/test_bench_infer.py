"""`charrec bench infer`: what it measures and prints (no timing asserts)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from tiny_runs import mnist_mlp_run

from charrec.cli import main
from charrec.errors import ConfigError
from charrec.infer.benchmark import (
    PICTURES,
    flops_per_image,
    percentiles_ms,
    pictures,
    run_benchmark,
    time_calls,
)


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """stdout of a `charrec` command that must succeed."""
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    out, err = capsys.readouterr()
    assert exit_info.value.code in (0, None), err
    return out


def test_flops_count_a_multiply_add_as_two() -> None:
    dense = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))
    assert flops_per_image(dense) == 2 * 784 * 10
    # 3×3 conv, 1 → 4 channels, 'same' padding: 28·28 outputs × 4 channels × 9 taps.
    conv = torch.nn.Conv2d(1, 4, 3, padding=1)
    assert flops_per_image(conv) == 2 * 28 * 28 * 4 * 9


def test_pictures_are_a_small_png_and_a_megapixel_jpeg(tmp_path: Path) -> None:
    paths = pictures(tmp_path)
    assert list(paths) == list(PICTURES)
    with Image.open(paths["128×128 PNG"]) as png:
        assert (png.format, png.size) == ("PNG", (128, 128))
    with Image.open(paths["1 MP JPEG"]) as jpeg:
        assert jpeg.format == "JPEG" and jpeg.mode == "RGB"
        assert jpeg.size[0] * jpeg.size[1] == 1_000_000


def test_timing_helpers_count_calls_and_order_percentiles() -> None:
    calls = []
    times = time_calls(lambda: calls.append(1), repeat=7, warmup=3)
    assert len(times) == 7 and len(calls) == 10
    stats = percentiles_ms([0.001, 0.002, 0.003, 0.010], cpu=[0.001, 0.001, 0.002, 0.002])
    assert stats["min"] == pytest.approx(1.0)
    assert stats["cpu_p50"] == pytest.approx(1.5)
    assert stats["min"] <= stats["p50"] <= stats["p90"] <= 10.0


def test_bad_options_are_user_errors() -> None:
    with pytest.raises(ConfigError, match="repeat must be at least 1"):
        run_benchmark("letters", repeat=0)
    with pytest.raises(ConfigError, match="batch sizes"):
        run_benchmark("letters", batches=[0])
    with pytest.raises(ConfigError, match="unknown backend 'tensorrt'"):
        run_benchmark("letters", backends=["tensorrt"])
    with pytest.raises(ConfigError, match="unknown test-time augmentation 'flip'"):
        run_benchmark("letters", tta="flip")


@pytest.mark.realdata
@pytest.mark.slow
def test_bench_infer_measures_both_backends(
    real_data_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = mnist_mlp_run(real_data_dir, tmp_path_factory.getbasetemp())
    args = ["bench", "infer", "--model", str(run), "--repeat", "2", "--batch", "32"]
    result = json.loads(run_cli([*args, "--json"], capsys))
    assert set(result["backends"]) == {"torch", "onnx"}
    # The MLP's hidden layer of 64 and its output layer, 2 FLOPs per multiply-add.
    assert result["flops_per_image"] == 2 * (784 * 64 + 64 * 10)
    assert result["peak_flops"] > 0
    for measured in result["backends"].values():
        assert set(measured["latency_ms"]) == set(PICTURES)
        for stats in measured["latency_ms"].values():
            assert 0 < stats["min"] <= stats["p50"] <= stats["p90"]
            assert stats["cpu_p50"] > 0
        rate = measured["images_per_second"]["32"]
        expected = rate * result["flops_per_image"] / result["peak_flops"]
        assert measured["fraction_of_peak"] == pytest.approx(expected)
    table = run_cli([*args, "--backend", "onnx"], capsys)
    assert "End-to-end latency" in table and "Batch throughput" in table
    assert "targets, onnx:" in table and "targets, torch" not in table
    assert np.isfinite(result["load_average"]["before"])
    assert result["tta"] is None and result["views"] == 1
    # With test-time augmentation every image goes through the model nine times.
    tta = json.loads(run_cli([*args, "--backend", "onnx", "--tta", "affine", "--json"], capsys))
    assert tta["tta"] == "affine" and tta["views"] == 9
    measured = tta["backends"]["onnx"]
    expected = 9 * measured["images_per_second"]["32"] * tta["flops_per_image"] / tta["peak_flops"]
    assert measured["fraction_of_peak"] == pytest.approx(expected)
