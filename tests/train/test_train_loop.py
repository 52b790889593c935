"""The training loop on a few hundred real MNIST images: every model, optimizer, schedule
and option runs, writes its run folder, and changes what it should."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pytest
import torch
from rich.console import Console
from safetensors.torch import load_file

from charrec.errors import CharrecError, ConfigError
from charrec.models import list_models
from charrec.train import Callback, TrainConfig, apply_overrides, load_run, resume, train
from charrec.train.augment import AugmentConfig
from charrec.train.checkpoint import RunFolder
from charrec.train.config import OPTIMIZERS, SCHEDULES

pytestmark = pytest.mark.realdata

TIMES = ("epoch_time", "train_time", "images_per_second")


def _numbers(history: list[dict]) -> list[dict]:
    """History without the timings, which differ from run to run."""
    return [{k: v for k, v in row.items() if k not in TIMES} for row in history]


def _weight_norm(model: torch.nn.Module, p: int) -> float:
    return sum(w.norm(p).item() ** p for w in model.parameters() if w.ndim > 1) ** (1 / p)


@pytest.mark.parametrize("name", list_models())
def test_every_model_trains_one_epoch(name: str, run_tiny) -> None:
    result = run_tiny({"model.name": name, "model.options": {}})
    [row] = result.history
    assert row["epoch"] == 1 and math.isfinite(row["train_loss"])
    assert 0.0 <= row["val_accuracy"] <= 1.0 and row["images_per_second"] > 0
    for file in ("config.yaml", "history.json", "model.safetensors", "model.json", "state.pt"):
        assert (result.run_dir / file).is_file(), file
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert metrics["parameters"] > 1000 and metrics["val"]["loss"] > 0


def test_run_folder_contents(run_tiny) -> None:
    result = run_tiny({"training.epochs": 2})
    run = result.run_dir
    history = json.loads((run / "history.json").read_text())
    assert [row["epoch"] for row in history] == [1, 2]
    assert set(history[0]) >= {
        "train_loss",
        "train_accuracy",
        "val_loss",
        "val_accuracy",
        "lr",
        "epoch_time",
        "images_per_second",
    }
    meta = json.loads((run / "model.json").read_text())
    # Every option is named, the model's defaults included, so the checkpoint stands alone.
    options = meta["model"]["options"]
    assert meta["model"]["name"] == "mlp" and options["hidden"] == [32, 16]
    assert {"activation", "init", "batch_norm", "dropout"} <= set(options)
    assert meta["classes"] == [str(d) for d in range(10)] and meta["num_classes"] == 10
    prep = meta["preprocessing"]
    assert prep["ink"] == "white-on-black" and prep["input_size"] == [28, 28]
    assert 0.05 < prep["mean"] < 0.25 and 0.2 < prep["std"] < 0.45  # MNIST's ~0.13, ~0.31
    assert meta["data"]["name"] == "mnist" and meta["data"]["train_images"] == 270
    assert meta["data"]["fingerprint"].startswith("sha256:") and meta["epoch"] == 2
    # The saved config is complete: the model's options are resolved.
    saved = TrainConfig.from_yaml(run / "config.yaml")
    assert saved.model.options == meta["model"]["options"] and saved.run.out == str(run)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["epochs"] == 2 and metrics["train_time"] > 0 and metrics["test"] is None


def test_load_run_gives_the_trained_model(run_tiny, real_data_dir: Path) -> None:
    result = run_tiny({"training.epochs": 2})
    model, meta = load_run(result.run_dir)
    assert not model.training
    # Recompute validation accuracy from the loaded model and the stored preprocessing.
    from charrec.data import load_dataset
    from charrec.data.splits import stratified_split, stratified_subsample

    data = stratified_subsample(load_dataset("mnist", "train", real_data_dir), 300, 0)
    _, val = stratified_split(data, 0.1, 0)
    prep = meta["preprocessing"]
    x = torch.from_numpy(val.images).unsqueeze(1).float() / 255
    with torch.no_grad():
        logits = model((x - prep["mean"]) / prep["std"])
    accuracy = (logits.argmax(1).numpy() == val.labels).mean()
    assert accuracy == pytest.approx(result.metrics["val"]["accuracy"])


def test_load_run_errors_are_clear(run_tiny, tmp_path: Path) -> None:
    with pytest.raises(CharrecError, match="not found"):
        load_run(tmp_path / "missing")
    with pytest.raises(CharrecError, match="not a run folder"):
        load_run(tmp_path)
    run = run_tiny().run_dir
    (run / "model.safetensors").write_bytes(b"\x00" * 40)
    with pytest.raises(CharrecError, match="corrupt"):
        load_run(run)
    (run / "model.json").write_text("{not json")
    with pytest.raises(CharrecError, match="corrupt"):
        load_run(run)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer(name: str, run_tiny) -> None:
    result = run_tiny({"optim.name": name, "optim.lr": 0.01})
    assert math.isfinite(result.history[0]["train_loss"])
    assert TrainConfig.from_yaml(result.run_dir / "config.yaml").optim.name == name


@pytest.mark.parametrize("name", SCHEDULES)
def test_every_schedule(name: str, run_tiny) -> None:
    result = run_tiny({"schedule.name": name, "training.epochs": 2})
    lrs = [row["lr"] for row in result.history]
    assert all(math.isfinite(lr) and lr > 0 for lr in lrs)
    expected_last = {
        "constant": 1e-3,
        "step": 1e-3,  # step_size 10
        "plateau": 1e-3,  # patience 5
        "exponential": 0.95e-3,  # epoch 2 uses gamma^1
        # The last of 12 steps, almost at the end of the curve:
        "cosine": 1e-3 * 0.5 * (1 + math.cos(math.pi * 11 / 12)),
        # 4 steps up to the peak, then 8 down towards lr / 25e4; the last is 7/8 down.
        "onecycle": 4e-9 + (1e-3 - 4e-9) * 0.5 * (1 + math.cos(math.pi * 7 / 8)),
    }[name]
    assert lrs[1] == pytest.approx(expected_last)


def test_same_seed_same_history_other_seed_differs(run_tiny) -> None:
    overrides = {"training.epochs": 2, "augment": "standard", "model.options.dropout": 0.2}
    first, second = run_tiny(overrides), run_tiny(overrides)
    assert _numbers(first.history) == _numbers(second.history)
    assert first.metrics["val"] == second.metrics["val"]
    other = run_tiny({**overrides, "training.seed": 1})
    assert _numbers(other.history) != _numbers(first.history)


def test_weight_decay_shrinks_weights(run_tiny) -> None:
    base = {"optim.name": "sgd", "optim.lr": 0.05, "training.epochs": 2}
    plain = run_tiny(base).model
    decayed = run_tiny({**base, "optim.weight_decay": 0.5}).model
    assert _weight_norm(decayed, 2) < 0.95 * _weight_norm(plain, 2)


def test_l1_pushes_weights_towards_zero(run_tiny) -> None:
    base = {"optim.name": "sgd", "optim.lr": 0.05, "training.epochs": 2}
    plain = run_tiny(base).model
    sparse = run_tiny({**base, "regularisation.l1": 0.02}).model
    assert _weight_norm(sparse, 1) < 0.8 * _weight_norm(plain, 1)

    def near_zero(model: torch.nn.Module) -> float:
        weights = torch.cat([w.flatten() for w in model.parameters() if w.ndim > 1])
        return (weights.abs() < 0.005).float().mean().item()

    assert near_zero(sparse) > 1.5 * near_zero(plain)


def test_label_smoothing_raises_the_training_loss(run_tiny) -> None:
    plain = run_tiny({"training.epochs": 2})
    smooth = run_tiny({"training.epochs": 2, "regularisation.label_smoothing": 0.3})
    # Smoothed targets have entropy, so the smoothed cross-entropy cannot get as low.
    assert smooth.history[-1]["train_loss"] > plain.history[-1]["train_loss"]


def test_augmentation_preset_changes_training(run_tiny) -> None:
    plain = run_tiny()
    augmented = run_tiny({"augment": "strong"})
    assert augmented.history[0]["train_loss"] != plain.history[0]["train_loss"]
    saved = TrainConfig.from_yaml(augmented.run_dir / "config.yaml")
    assert saved.augment == AugmentConfig.preset("strong")


def test_early_stopping_stops_and_restores_best(run_tiny) -> None:
    result = run_tiny(
        {"training.epochs": 10, "optim.lr": 0.01, "training.early_stopping.patience": 1}
    )
    metrics, history = result.metrics, result.history
    assert metrics["stopped_early"] and len(history) < 10
    best = metrics["best_epoch"]
    assert best == min(history, key=lambda row: row["val_loss"])["epoch"] and best < len(history)
    assert metrics["restored_best"] and metrics["final_epoch"] == best
    # The final model is the best epoch's: same validation loss, same weights on disk.
    assert metrics["val"]["loss"] == pytest.approx(history[best - 1]["val_loss"], rel=1e-9)
    run = result.run_dir
    final, kept = load_file(run / "model.safetensors"), load_file(run / "best.safetensors")
    assert all(torch.equal(final[k], kept[k]) for k in final)
    assert json.loads((run / "model.json").read_text())["epoch"] == best


def test_keep_last_does_not_restore(run_tiny) -> None:
    result = run_tiny(
        {
            "training.epochs": 10,
            "optim.lr": 0.01,
            "training.early_stopping.patience": 1,
            "training.early_stopping.restore_best": False,
        }
    )
    assert result.metrics["stopped_early"] and not result.metrics["restored_best"]
    assert result.metrics["val"]["loss"] == pytest.approx(result.history[-1]["val_loss"])


def test_bf16_autocast_trains_and_differs_slightly(run_tiny) -> None:
    overrides = {"model.name": "keras-convnet", "model.options": {}}
    fp32 = run_tiny(overrides).history[0]
    bf16 = run_tiny({**overrides, "training.precision": "bf16"}).history[0]
    assert math.isfinite(bf16["train_loss"]) and bf16["train_loss"] != fp32["train_loss"]
    assert bf16["train_loss"] == pytest.approx(fp32["train_loss"], rel=0.05)


def test_channels_last_is_the_default_and_matches_contiguous(run_tiny) -> None:
    overrides = {"model.name": "keras-convnet", "model.options": {}}
    plain = run_tiny({**overrides, "training.channels_last": False})
    last = run_tiny(overrides)
    assert last.history[0]["train_loss"] == pytest.approx(plain.history[0]["train_loss"], rel=1e-4)
    # The second conv: with one input channel the first is laid out the same either way.
    conv = [p for p in last.model.parameters() if p.ndim == 4][1]
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    conv = [p for p in plain.model.parameters() if p.ndim == 4][1]
    assert conv.is_contiguous() and not conv.is_contiguous(memory_format=torch.channels_last)
    # Weights are saved contiguous, and load into a plain model.
    model, _ = load_run(last.run_dir)
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_test_split_is_evaluated_at_the_end(run_tiny) -> None:
    result = run_tiny({"data.evaluate_test": True})
    test = result.metrics["test"]
    assert test is not None and 0.0 < test["accuracy"] <= 1.0
    meta = json.loads((result.run_dir / "model.json").read_text())
    assert meta["metrics"]["test_accuracy"] == test["accuracy"]


class Recorder(Callback):
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def on_train_start(self, model, config, sample_batch) -> None:
        self.calls.append(("start", tuple(sample_batch.shape), config.training.epochs))

    def on_step(self, step, metrics) -> None:
        self.calls.append(("step", step, metrics["batch"], metrics["loss"]))

    def on_validation_end(self, epoch, images, labels, predictions, classes) -> None:
        accuracy = (predictions == labels).double().mean().item()
        self.calls.append(("val", epoch, tuple(images.shape), images.dtype, accuracy))

    def on_epoch_end(self, epoch, metrics, model) -> None:
        self.calls.append(("epoch", epoch, metrics["val_accuracy"]))

    def on_train_end(self, final_metrics) -> None:
        self.calls.append(("end", final_metrics["epochs"]))


def test_callbacks_are_called_in_order(run_tiny) -> None:
    recorder = Recorder()
    run_tiny({"training.epochs": 2, "training.batch_size": 20}, callbacks=[recorder])
    kinds = [call[0] for call in recorder.calls]
    assert kinds[0] == "start" and kinds[-1] == "end" and kinds.count("epoch") == 2
    assert recorder.calls[0] == ("start", (8, 1, 28, 28), 2)
    # 270 images, batch 20: 14 steps per epoch, each reported on a CPU.
    steps = [call[1] for call in recorder.calls if call[0] == "step"]
    assert steps == list(range(1, 29))
    assert [call[2] for call in recorder.calls if call[0] == "step"][13:15] == [14, 1]
    assert all(math.isfinite(call[3]) for call in recorder.calls if call[0] == "step")
    # Validation hands over the uint8 images and the predictions behind val_accuracy.
    vals = [call for call in recorder.calls if call[0] == "val"]
    epochs = [call for call in recorder.calls if call[0] == "epoch"]
    assert [v[1] for v in vals] == [1, 2] and vals[0][2:4] == ((30, 1, 28, 28), torch.uint8)
    assert [v[4] for v in vals] == pytest.approx([e[2] for e in epochs])
    assert kinds.index("val") < kinds.index("epoch")


def test_progress_without_terminal_prints_summary_lines(tiny_config) -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=False, width=200)
    train(tiny_config({"training.epochs": 2}), console=console)
    lines = buffer.getvalue().splitlines()
    epoch_lines = [line for line in lines if line.startswith("epoch ")]
    assert len(epoch_lines) == 2 and "val_acc" in epoch_lines[0] and "img/s" in epoch_lines[0]
    assert lines[-1].startswith("trained 2 epochs in")
    assert "━" not in buffer.getvalue()  # no progress bar


def test_an_existing_run_is_not_overwritten(tiny_config) -> None:
    config = tiny_config()
    train(config, verbose=False)
    with pytest.raises(CharrecError, match="already holds a run; continue it with --resume"):
        train(config, verbose=False)
    again = train(config, verbose=False, overwrite=True)
    assert len(again.history) == 1


def test_divergence_stops_with_a_clear_error_and_keeps_the_checkpoint(tiny_config) -> None:
    # Epoch 1 trains normally; the step schedule then multiplies lr by 1e9.
    config = tiny_config(
        {
            "training.epochs": 3,
            "optim.name": "sgd",
            "optim.lr": 0.01,
            "schedule.name": "step",
            "schedule.params": {"step_size": 1, "gamma": 1e9},
        }
    )
    with pytest.raises(CharrecError, match=r"diverged.*epoch 2.*last good checkpoint \(epoch 1\)"):
        train(config, verbose=False)
    run = Path(config.run.out)
    assert json.loads((run / "model.json").read_text())["epoch"] == 1
    assert len(json.loads((run / "history.json").read_text())) == 1
    assert not (run / "metrics.json").exists()
    model, _ = load_run(run)
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_resume_in_process_matches_and_rejects_corrupt_state(tiny_config) -> None:
    full = train(tiny_config({"training.epochs": 3}), verbose=False)
    # A run that stopped after epoch 2 (same config, its state.pt from epoch 2) ...
    short = tiny_config({"training.epochs": 3})
    partial = apply_overrides(short, {"training.epochs": 2})
    train(partial, verbose=False)
    run = Path(short.run.out)
    short.to_yaml(run / "config.yaml")  # ... that was meant to run 3 epochs
    (run / "metrics.json").unlink()
    resumed = resume(run, verbose=False)
    assert _numbers(resumed.history) == _numbers(full.history)
    assert resumed.metrics["val"] == full.metrics["val"]
    # A damaged state.pt or model.safetensors is a clear error, not a traceback.
    state = (run / "state.pt").read_bytes()
    (run / "state.pt").write_bytes(state[: len(state) // 2])
    with pytest.raises(CharrecError, match=r"state\.pt is corrupt, cannot resume"):
        resume(run, verbose=False)
    (run / "state.pt").write_bytes(state)
    (run / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(CharrecError, match=r"model\.safetensors is corrupt"):
        resume(run, verbose=False)
    with pytest.raises(CharrecError, match="nothing to resume"):
        (run / "state.pt").unlink()
        resume(run, verbose=False)


def test_resume_of_a_run_stopped_before_its_first_epoch_trains_it_from_the_start(
    tiny_config,
) -> None:
    config = tiny_config({"training.epochs": 2})
    full = train(config, verbose=False)
    run = Path(config.run.out)
    # What a run leaves when stopped while loading its data or in epoch 1: its config and
    # the start of its TensorBoard events.
    for name in ("history.json", "model.safetensors", "model.json", "state.pt", "metrics.json"):
        (run / name).unlink(missing_ok=True)
    assert run.joinpath("config.yaml").is_file()
    assert RunFolder(run).started_without_epoch()
    resumed = resume(run, verbose=False)
    assert _numbers(resumed.history) == _numbers(full.history)
    assert resumed.metrics["val"] == full.metrics["val"]
    assert not RunFolder(run).started_without_epoch()


def test_a_data_set_without_test_split(run_tiny) -> None:
    # Binary AlphaDigits has one split, "all": train and validation come from it, no test.
    result = run_tiny(
        {"data.name": "binary-alphadigits", "data.limit": 720, "data.evaluate_test": True}
    )
    assert result.metrics["test"] is None and result.metrics["val"]["accuracy"] >= 0
    meta = json.loads((result.run_dir / "model.json").read_text())
    assert meta["num_classes"] == 36 and meta["data"]["split"] == "all"


def test_too_small_validation_split_is_a_clear_error(run_tiny) -> None:
    with pytest.raises(CharrecError, match="cannot hold each of its 36 classes"):
        run_tiny({"data.name": "binary-alphadigits", "data.limit": 300})


def test_pixel_stats_match_numpy() -> None:
    import numpy as np

    from charrec.train.tensor_data import pixel_stats

    images = np.random.default_rng(0).integers(0, 256, (50, 28, 28), dtype=np.uint8)
    mean, std = pixel_stats(images)
    assert mean == pytest.approx((images / 255).mean()) and std == pytest.approx(
        (images / 255).std()
    )


def test_a_last_batch_of_one_image_is_skipped(run_tiny) -> None:
    # 300 images, 10% validation: 270 training images; batches of 269 leave one over,
    # which batch norm could not train on.
    result = run_tiny({"model.options.batch_norm": True, "training.batch_size": 269})
    assert math.isfinite(result.history[-1]["train_loss"])
    assert result.history[-1]["images_per_second"] > 0


CONVNET = {"model.name": "keras-convnet", "model.options": {}}


def test_batch_shards_give_the_same_training_as_one_shard(run_tiny) -> None:
    # Without dropout or augmentation the only difference is the order in which the
    # shards' gradients are summed.
    overrides = {**CONVNET, "model.options": {"dropout": 0.0}, "training.epochs": 2}
    whole = run_tiny(overrides)
    sharded = run_tiny({**overrides, "training.batch_shards": 2, "training.num_threads": 2})
    for a, b in zip(whole.history, sharded.history, strict=True):
        for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy"):
            assert b[key] == pytest.approx(a[key], rel=1e-4, abs=1e-6), key
    for (name, a), b in zip(
        whole.model.state_dict().items(), sharded.model.state_dict().values(), strict=True
    ):
        torch.testing.assert_close(b, a, rtol=1e-3, atol=1e-5, msg=name)
    assert sharded.history[0]["images_per_second"] > 0


def test_batch_shards_are_reproducible_with_dropout_and_augmentation(run_tiny) -> None:
    overrides = {
        **CONVNET,
        "augment": "standard",
        "training.epochs": 2,
        "training.batch_shards": 2,
        "training.num_threads": 2,
    }
    threads = torch.get_num_threads()
    first, second = run_tiny(overrides), run_tiny(overrides)
    assert torch.get_num_threads() == threads
    assert _numbers(first.history) == _numbers(second.history)
    other = run_tiny({**overrides, "training.seed": 1})
    assert _numbers(other.history) != _numbers(first.history)


def test_batch_shards_survive_batches_smaller_than_the_shard_count(run_tiny) -> None:
    result = run_tiny({**CONVNET, "training.batch_size": 3, "training.batch_shards": 4})
    assert math.isfinite(result.history[-1]["train_loss"])


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"model.name": "vgg", "model.options": {}}, ["batch_shards=2", "batch norm", "vgg"]),
        ({"training.batch_shards": 0}, ["training.batch_shards", "≥ 1"]),
    ],
)
def test_batch_shards_refuse_what_they_cannot_train(run_tiny, overrides, words) -> None:
    with pytest.raises(ConfigError) as error:
        run_tiny({"training.batch_shards": 2, **overrides})
    for word in words:
        assert word in str(error.value)
