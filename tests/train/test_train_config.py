"""The typed training config: YAML round trip, overrides, coercion, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from charrec.errors import ConfigError
from charrec.train import TrainConfig, apply_overrides, parse_assignment
from charrec.train.augment import AugmentConfig


def _busy_config() -> TrainConfig:
    return apply_overrides(
        TrainConfig(),
        {
            "data.name": "emnist-letters",
            "data.limit": 1000,
            "model.name": "mlp",
            "model.options.hidden": [256, 128, 64],
            "model.options.dropout": 0.3,
            "optim.name": "sgd",
            "optim.lr": 0.05,
            "optim.nesterov": True,
            "optim.betas": [0.8, 0.9],
            "schedule.name": "step",
            "schedule.params.gamma": 0.5,
            "schedule.warmup_epochs": 0.5,
            "regularisation.l1": 1e-5,
            "augment": "strong",
            "augment.rotation": 5,
            "training.early_stopping.patience": 3,
            "training.precision": "bf16",
            "run.out": "runs/x",
        },
    )


def test_yaml_round_trip_is_exact(tmp_path: Path) -> None:
    config = _busy_config()
    path = tmp_path / "run.yaml"
    text = config.to_yaml(path)
    again = TrainConfig.from_yaml(path)
    assert again == config
    assert again.to_yaml() == text
    # Types survive: tuples stay tuples, the augment section is an AugmentConfig.
    assert again.optim.betas == (0.8, 0.9)
    assert isinstance(again.augment, AugmentConfig)
    assert again.augment.rotation == 5.0 and again.augment.elastic_alpha > 0


def test_default_config_round_trips() -> None:
    assert TrainConfig.from_yaml(TrainConfig().to_yaml()) == TrainConfig()


def test_yaml_scientific_notation_is_a_float(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("optim:\n  lr: 1e-3\n  weight_decay: 5E-4\ntraining: {epochs: 3}\n")
    config = TrainConfig.from_yaml(path)
    assert config.optim.lr == 0.001 and config.optim.weight_decay == 0.0005
    assert config.training.epochs == 3


def test_augment_preset_name_in_yaml() -> None:
    config = TrainConfig.from_yaml("augment: light\n")
    assert config.augment == AugmentConfig.preset("light")
    based = TrainConfig.from_yaml("augment: {preset: standard, rotation: 3}\n")
    assert based.augment == AugmentConfig.preset("standard").with_options(rotation=3.0)


@pytest.mark.parametrize(
    ("yaml_text", "words"),
    [
        ("optimizer: {name: adam}\n", ["'optimizer'", "data, model, optim"]),
        ("training: {epoch: 3}\n", ["'epoch'", "'training'", "epochs, batch_size"]),
        ("training: {early_stopping: {patiance: 3}}\n", ["'patiance'", "patience"]),
        ("augment: {rotate: 3}\n", ["'rotate'", "rotation"]),
    ],
)
def test_unknown_keys_name_the_key_and_the_valid_ones(yaml_text: str, words: list[str]) -> None:
    with pytest.raises(ConfigError) as error:
        TrainConfig.from_yaml(yaml_text)
    for word in words:
        assert word in str(error.value)


@pytest.mark.parametrize(
    ("yaml_text", "words"),
    [
        ("training: {epochs: many}\n", ["training.epochs", "whole number"]),
        ("optim: {lr: fast}\n", ["optim.lr", "number"]),
        ("training: {channels_last: maybe}\n", ["channels_last", "true or false"]),
        ("optim: {betas: [0.9]}\n", ["optim.betas", "2 values"]),
        ("data: [1, 2]\n", ["'data'", "mapping"]),
    ],
)
def test_wrong_types_are_config_errors(yaml_text: str, words: list[str]) -> None:
    with pytest.raises(ConfigError) as error:
        TrainConfig.from_yaml(yaml_text)
    for word in words:
        assert word in str(error.value)


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        TrainConfig.from_yaml(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("optim: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        TrainConfig.from_yaml(bad)


def test_parse_assignment_reads_yaml_values() -> None:
    assert parse_assignment("model.options.hidden=[256,128,64]") == (
        "model.options.hidden",
        [256, 128, 64],
    )
    assert parse_assignment("optim.lr=1e-3") == ("optim.lr", 0.001)
    assert parse_assignment("training.channels_last=true") == ("training.channels_last", True)
    assert parse_assignment("data.name=emnist-letters") == ("data.name", "emnist-letters")
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_assignment("optim.lr")


def test_overrides_reach_nested_and_free_form_keys() -> None:
    config = apply_overrides(
        TrainConfig(),
        {
            "training.early_stopping.metric": "val_accuracy",
            "schedule.params.step_size": 4,
            "model.options.hidden": [8],
        },
    )
    assert config.training.early_stopping.metric == "val_accuracy"
    assert config.schedule.params == {"step_size": 4}
    assert config.model.options == {"hidden": [8]}
    # The original is untouched.
    assert TrainConfig().schedule.params == {}
    with pytest.raises(ConfigError, match=r"unknown key 'lrate' in config section 'optim'"):
        apply_overrides(TrainConfig(), {"optim.lrate": 0.1})
    with pytest.raises(ConfigError, match="not a section"):
        apply_overrides(TrainConfig(), {"optim.lr.value": 0.1})


def test_augment_preset_then_option_override() -> None:
    config = apply_overrides(TrainConfig(), {"augment": "standard", "augment.rotation": 2})
    assert config.augment == AugmentConfig.preset("standard").with_options(rotation=2.0)
    with pytest.raises(ConfigError, match="unknown augmentation preset 'wild'"):
        apply_overrides(TrainConfig(), {"augment": "wild"})


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"optim.name": "adamax"}, ["optimizer 'adamax'", "adagrad, adam, adamw, asgd"]),
        ({"schedule.name": "linear"}, ["schedule 'linear'", "constant, cosine, exponential"]),
        ({"training.precision": "fp16"}, ["precision 'fp16'", "bf16, fp32"]),
        ({"training.device": "tpu"}, ["device 'tpu'", "auto, cpu, cuda"]),
        ({"data.val_fraction": 1.0}, ["val_fraction"]),
        ({"optim.lr": -1}, ["optim.lr"]),
        ({"regularisation.label_smoothing": 1.5}, ["label_smoothing"]),
        ({"training.early_stopping.metric": "val_f1"}, ["val_f1", "val_accuracy, val_loss"]),
        (
            {"training.early_stopping.patience": 2, "data.val_fraction": 0},
            ["needs a validation split"],
        ),
    ],
)
def test_validate_names_the_problem(overrides: dict, words: list[str]) -> None:
    with pytest.raises(ConfigError) as error:
        apply_overrides(TrainConfig(), overrides).validate()
    for word in words:
        assert word in str(error.value)
