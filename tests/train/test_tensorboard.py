"""TensorBoard logging: the callback driven by hand and by a real run, read back from the
event files; `launch_tensorboard` and `charrec tensorboard`."""

from __future__ import annotations

import logging
import urllib.request
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import metadata as hparams_metadata
from tensorboard.plugins.hparams.api_pb2 import Status
from torch import nn

from charrec.cli import main
from charrec.errors import CharrecError, ConfigError
from charrec.train import Callback, CallbackList, TrainConfig, apply_overrides
from charrec.train.tensorboard import (
    TensorBoardCallback,
    display_range,
    hparams_from_config,
    launch_tensorboard,
    make_grid,
)

CLASSES = tuple("0123456789")
# TensorBoard's web server imports a deprecated sanitizer of its own.
QUIET_SERVER = pytest.mark.filterwarnings("ignore:html5lib's sanitizer:DeprecationWarning")
EPOCH_ROW = {
    "epoch": 1,
    "train_loss": 0.5,
    "train_accuracy": 0.75,
    "val_loss": 0.625,
    "val_accuracy": 0.6875,
    "lr": 0.001,
    "train_time": 1.5,
    "epoch_time": 2.0,
    "images_per_second": 100.0,
}
FINAL = {
    "epochs": 1,
    "val": {"loss": 0.625, "accuracy": 0.6875},
    "test": {"loss": 0.75, "accuracy": 0.625},
    "train_time": 2.0,
    "parameters": 2738,
}


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 2, 3),
        nn.BatchNorm2d(2),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Flatten(),
        nn.Linear(2 * 26 * 26, 10),
    )


def _sample() -> torch.Tensor:
    """A normalised batch like the loop's: background (pixel 0) → -0.42, ink 255 → 2.8."""
    generator = torch.Generator().manual_seed(0)
    pixels = (torch.rand(8, 1, 28, 28, generator=generator) > 0.8).float()
    return (pixels - 0.13) / 0.31


def _read(log_dir: Path) -> EventAccumulator:
    everything = {"scalars": 0, "images": 0, "histograms": 0, "tensors": 0}
    # Two writers in one test process may get event file names that sort out of creation
    # order (their counters go .9, .10); read everything and order by step instead.
    reader = EventAccumulator(str(log_dir), size_guidance=everything, purge_orphaned_data=False)
    return reader.Reload()


def _scalars(acc: EventAccumulator, tag: str) -> list[tuple[int, float]]:
    events = sorted(acc.Scalars(tag), key=lambda event: event.step)
    return [(event.step, pytest.approx(event.value)) for event in events]


def _session_hparams(acc: EventAccumulator) -> dict[str, object]:
    content = acc.PluginTagToContent(hparams_metadata.PLUGIN_NAME)
    start = hparams_metadata.parse_session_start_info_plugin_data(
        content[hparams_metadata.SESSION_START_INFO_TAG]
    )
    values: dict[str, object] = {}
    for name, value in start.hparams.items():
        kind = value.WhichOneof("kind")
        values[name] = getattr(value, kind)
    return values


def _drive(tmp_path: Path, config: TrainConfig, model: nn.Module | None = None) -> Path:
    """One epoch of hooks by hand, as the loop calls them."""
    log_dir = tmp_path / "tensorboard"
    callback = TensorBoardCallback(log_dir, histogram_every=1, step_every=10)
    model = model or _model()
    callback.on_train_start(model, config, _sample())
    for step in range(1, 25):
        callback.on_step(step, {"loss": 2.0 / step, "accuracy": step / 25, "lr": 0.001})
    model.train()
    model(_sample()).logsumexp(1).mean().backward()
    callback.on_epoch_end(1, EPOCH_ROW, model)
    callback.on_train_end(FINAL)
    return log_dir


def test_scalars_histograms_images_graph_hparams(tmp_path: Path) -> None:
    config = apply_overrides(TrainConfig(), {"model.name": "mlp", "augment": "light"})
    acc = _read(_drive(tmp_path, config))
    tags = acc.Tags()
    assert _scalars(acc, "loss/train") == [(1, 0.5)]
    assert _scalars(acc, "loss/val") == [(1, 0.625)]
    assert _scalars(acc, "accuracy/train") == [(1, 0.75)]
    assert _scalars(acc, "accuracy/val") == [(1, 0.6875)]
    assert _scalars(acc, "lr") == [(1, 0.001)]
    assert _scalars(acc, "speed/images_per_second") == [(1, 100.0)]
    assert _scalars(acc, "time/epoch_seconds") == [(1, 2.0)]
    # Every 10 steps: the step metrics at steps 10 and 20.
    assert _scalars(acc, "step/loss") == [(10, 0.2), (20, 0.1)]
    assert _scalars(acc, "step/accuracy") == [(10, 0.4), (20, 0.8)]
    assert _scalars(acc, "step/lr") == [(10, 0.001), (20, 0.001)]
    assert _scalars(acc, "final/val_accuracy") == [(1, 0.6875)]
    assert _scalars(acc, "final/test_loss") == [(1, 0.75)]
    assert _scalars(acc, "final/train_seconds") == [(1, 2.0)]

    names = [name for name, _ in _model().named_parameters()]
    assert set(tags["histograms"]) == {
        f"{kind}/{n}" for kind in ("weights", "gradients") for n in names
    }
    # Weights at the start (step 0) and after epoch 1; gradients after epoch 1 only.
    assert [e.step for e in acc.Histograms("weights/0.weight")] == [0, 1]
    assert [e.step for e in acc.Histograms("gradients/5.weight")] == [1]

    samples, augmented = acc.Images("inputs/samples")[0], acc.Images("inputs/augmented")[0]
    # 8 images of 28×28 in a row with 2-pixel gaps; four augmented rows of them.
    assert (samples.width, samples.height) == (8 * 30 + 2, 30 + 2)
    assert (augmented.width, augmented.height) == (8 * 30 + 2, 4 * 30 + 2)
    assert tags["graph"] is True
    assert "custom_scalars__config__" in tags["tensors"]

    hparams = _session_hparams(acc)
    assert hparams["model.name"] == "mlp" and hparams["optim.name"] == "adam"
    assert hparams["optim.lr"] == pytest.approx(0.001)
    assert hparams["training.batch_size"] == 128 and hparams["augment.preset"] == "light"
    assert hparams["model.options.batch_norm"] == "false"  # the model's default, resolved
    assert "run.out" not in hparams and "data.data_dir" not in hparams
    content = acc.PluginTagToContent(hparams_metadata.PLUGIN_NAME)
    end = hparams_metadata.parse_session_end_info_plugin_data(
        content[hparams_metadata.SESSION_END_INFO_TAG]
    )
    assert end.status == Status.STATUS_SUCCESS
    # No experiment summary: TensorBoard builds the table from all runs' sessions.
    assert hparams_metadata.EXPERIMENT_TAG not in content
    # One run folder: nothing written into sub-folders.
    assert [p.name for p in tmp_path.iterdir()] == ["tensorboard"]
    assert all(p.is_file() for p in (tmp_path / "tensorboard").iterdir())


def test_no_augmented_grid_without_augmentation(tmp_path: Path) -> None:
    acc = _read(_drive(tmp_path, TrainConfig()))
    assert acc.Tags()["images"] == ["inputs/samples"]
    assert _session_hparams(acc)["augment.preset"] == "none"


def test_callback_leaves_the_run_alone(tmp_path: Path) -> None:
    model = _model()
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    callback = TensorBoardCallback(tmp_path / "tb")
    config = apply_overrides(TrainConfig(), {"augment": "strong"})
    callback.on_train_start(model, config, _sample())
    # The graph trace ran in eval mode, augmentation drew from its own generator.
    assert model.training
    assert torch.equal(torch.get_rng_state(), rng)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # batch-norm stats too
    callback.close()


def test_resumed_run_adds_to_the_same_folder(tmp_path: Path) -> None:
    log_dir = _drive(tmp_path, TrainConfig())
    model = _model()
    resumed = TensorBoardCallback(log_dir)
    resumed.on_train_start(model, TrainConfig(), _sample())
    resumed.on_epoch_end(2, {**EPOCH_ROW, "epoch": 2, "train_loss": 0.25}, model)
    resumed.close()
    acc = _read(log_dir)
    assert _scalars(acc, "loss/train") == [(1, 0.5), (2, 0.25)]
    # No second step-0 histogram: it would replace the initial weights' one.
    assert sorted(e.step for e in acc.Histograms("weights/0.weight")) == [0, 1, 2]


class _DictOutput(nn.Module):
    """A model the tracer refuses (strict tracing rejects a dict output)."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(28 * 28, 10)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"logits": self.linear(x.flatten(1))}


def test_untraceable_model_warns_once_and_logs_the_rest(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    callback = TensorBoardCallback(tmp_path / "tb")
    model = _DictOutput()
    with caplog.at_level(logging.WARNING, logger="charrec.train.tensorboard"):
        callback.on_train_start(model, TrainConfig(), _sample())
        callback.on_train_start(model, TrainConfig(), _sample())
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "no graph for _DictOutput" in warnings[0]
    assert capsys.readouterr().out == ""  # torch's own error print is kept quiet
    callback.on_epoch_end(1, EPOCH_ROW, model)
    callback.close()
    acc = _read(tmp_path / "tb")
    assert acc.Tags()["graph"] is False
    assert _scalars(acc, "loss/train") == [(1, 0.5)]


def test_steps_logged_at_the_first_report_past_each_multiple(tmp_path: Path) -> None:
    # A GPU run reports only every few steps: 3, 9, 12, 14, 25, 31 -> 12, 25, 31.
    callback = TensorBoardCallback(tmp_path / "tb", step_every=10)
    for step in (3, 9, 12, 14, 25, 31):
        callback.on_step(step, {"loss": float(step), "accuracy": 0.5, "lr": 0.1})
    callback.close()
    assert [step for step, _ in _scalars(_read(tmp_path / "tb"), "step/loss")] == [12, 25, 31]


def test_misclassified_validation_images(tmp_path: Path) -> None:
    callback = TensorBoardCallback(tmp_path / "tb")
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (100, 28, 28), generator=generator, dtype=torch.uint8)
    labels = torch.arange(100) % 10
    predictions = labels.clone()
    predictions[[4, 17, 60]] = torch.tensor([9, 0, 3])
    # Through CallbackList, as the loop calls it.
    CallbackList([Callback(), callback]).on_validation_end(1, images, labels, predictions, CLASSES)
    callback.on_validation_end(2, images, labels, labels.clone(), CLASSES)  # no mistakes
    many = (labels + 1) % 10  # every image wrong: the grid keeps the first 64
    callback.on_validation_end(3, images.unsqueeze(1), labels, many, CLASSES)
    callback.close()
    acc = _read(tmp_path / "tb")
    grids = acc.Images("misclassified/val")
    assert [g.step for g in grids] == [1, 3]
    # 56×56 tiles (28 × 2) over a 13-pixel caption, 2-pixel gaps: 3 in one row; 8×8.
    assert (grids[0].width, grids[0].height) == (3 * 58 + 2, 71 + 2)
    assert (grids[1].width, grids[1].height) == (8 * 58 + 2, 8 * 71 + 2)
    # torch's add_text stores the text under TAG/text_summary.
    texts = [
        e.tensor_proto.string_val[0].decode() for e in acc.Tensors("misclassified/val/text_summary")
    ]
    assert texts[0].startswith("3 of 100 validation images misclassified")
    assert texts[0].index("| 1 | 4 | 9 | 4 |") < texts[0].index("| 2 | 7 | 0 | 17 |")
    assert "| 3 | 0 | 3 | 60 |" in texts[0]
    assert texts[1].startswith("100 of 100") and "| 64 |" in texts[1] and "| 65 |" not in texts[1]


def test_make_grid_and_display_range() -> None:
    images = torch.stack([torch.full((1, 2, 3), float(i)) for i in range(5)])
    grid = make_grid(images, columns=3, padding=1, pad_value=-1.0)
    assert grid.shape == (1, 2 * 3 + 1, 3 * 4 + 1)
    assert grid[0, 1, 1] == 0 and grid[0, 1, 5] == 1 and grid[0, 4, 5] == 4
    assert grid[0, 0, 0] == -1 and grid[0, 4, 9] == -1  # gap, and the empty sixth cell
    pixels = torch.tensor([0.0, 0.5, 1.0])
    restored = display_range((pixels - 0.13) / 0.31)
    assert torch.allclose(restored, pixels, atol=1e-6)


def test_hparams_from_config() -> None:
    config = apply_overrides(
        TrainConfig(),
        {
            "model.name": "mlp",
            "model.options.hidden": [32, 16],
            "augment": "standard",
            "augment.rotation": 3,
            "schedule.name": "cosine",
            "run.out": "runs/x",
        },
    )
    hparams = hparams_from_config(config)
    assert hparams["model.options.hidden"] == "[32, 16]"
    assert hparams["augment.preset"] == "custom" and hparams["augment.rotation"] == 3.0
    assert hparams["schedule.name"] == "cosine" and hparams["optim.betas"] == "[0.9, 0.999]"
    assert hparams["model.options.activation"] == "relu"
    assert {"model.options.dropout", "regularisation.l1", "training.seed"} <= set(hparams)
    assert "training.num_threads" not in hparams  # None: left out
    assert all(isinstance(v, (int, float, str)) for v in hparams.values())


def test_bad_arguments() -> None:
    with pytest.raises(ConfigError, match="histogram_every"):
        TensorBoardCallback("tb", histogram_every=-1)
    with pytest.raises(ConfigError, match="step_every"):
        TensorBoardCallback("tb", step_every=1.5)  # type: ignore[arg-type]


@pytest.mark.realdata
def test_real_training_run(tiny_config, tmp_path: Path) -> None:
    from charrec.train import train

    config = tiny_config({"training.epochs": 2, "model.options.batch_norm": True})
    log_dir = Path(config.run.out) / "tensorboard"
    callback = TensorBoardCallback(log_dir, histogram_every=2, step_every=2)
    result = train(config, callbacks=[callback], verbose=False)
    acc = _read(log_dir)
    history = result.history
    assert _scalars(acc, "loss/train") == [(r["epoch"], r["train_loss"]) for r in history]
    assert _scalars(acc, "accuracy/val") == [(r["epoch"], r["val_accuracy"]) for r in history]
    # 270 training images in batches of 50: 6 steps an epoch, logged every 2.
    assert [step for step, _ in _scalars(acc, "step/loss")] == [2, 4, 6, 8, 10, 12]
    assert _scalars(acc, "final/val_accuracy") == [(2, result.metrics["val"]["accuracy"])]
    weights = [n for n, _ in result.model.named_parameters()]
    assert {f"gradients/{n}" for n in weights} <= set(acc.Tags()["histograms"])
    assert [e.step for e in acc.Histograms(f"weights/{weights[0]}")] == [0, 2]
    assert acc.Tags()["graph"] is True and "inputs/samples" in acc.Tags()["images"]
    hparams = _session_hparams(acc)
    assert hparams["model.name"] == "mlp" and hparams["model.options.batch_norm"] == "true"
    assert hparams["data.limit"] == 300 and hparams["training.epochs"] == 2


@QUIET_SERVER
def test_launch_serves_http(tmp_path: Path) -> None:
    url = launch_tensorboard(tmp_path, port=0, host="127.0.0.1")
    assert url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(url, timeout=20) as response:
        assert response.status == 200
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    with pytest.raises(CharrecError, match=f"cannot start TensorBoard on 127.0.0.1:{port}"):
        launch_tensorboard(tmp_path, port=port)  # in use by the first server


def test_launch_errors(tmp_path: Path) -> None:
    with pytest.raises(CharrecError, match=r"runs folder .*missing not found"):
        launch_tensorboard(tmp_path / "missing")
    (tmp_path / "file").write_text("")
    with pytest.raises(CharrecError, match="is not a folder"):
        launch_tensorboard(tmp_path / "file")
    with pytest.raises(CharrecError, match="port must be"):
        launch_tensorboard(tmp_path, port=70000)


def test_cli_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["tensorboard", str(tmp_path / "nowhere")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "nowhere not found" in err and len(err.strip().splitlines()) == 1


@QUIET_SERVER
def test_cli_serves_until_ctrl_c(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import charrec.commands.tensorboard as command

    def interrupt() -> None:
        raise KeyboardInterrupt  # Ctrl-C while serving

    monkeypatch.setattr(command, "_wait", interrupt)
    with pytest.raises(SystemExit) as exit_info:
        main(["tensorboard", str(tmp_path), "--port", "0"])
    assert not exit_info.value.code
    out = capsys.readouterr().out
    assert "no TensorBoard events" in out
    assert f"TensorBoard on {tmp_path} at http://127.0.0.1:" in out and "stopped" in out
