"""The typed configuration of a training run: nested dataclasses that round-trip to YAML.

A technique is a field of this config, so a study is a loop over configs:

    config = TrainConfig()
    config = apply_overrides(config, {"model.name": "mlp", "model.options.hidden": [256, 128]})
    config.to_yaml("run.yaml"); assert TrainConfig.from_yaml("run.yaml") == config

Every section rejects unknown keys with an error that lists the valid ones. Values read
from YAML or `--set a.b=VALUE` are coerced to the field's type (YAML reads `1e-3` as a
string; here it becomes the float 0.001), and a value that cannot be is a ConfigError.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import yaml

from charrec.errors import ConfigError, unknown_choice
from charrec.fileio import atomic_open
from charrec.train.augment import AugmentConfig


class _Loader(yaml.SafeLoader):
    """YAML 1.1 reads 1e-3 as a string; read it as the float everyone means (as YAML 1.2)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def load_yaml(text: str) -> Any:
    """Parse YAML text with `_Loader`."""
    return yaml.load(text, Loader=_Loader)  # a SafeLoader: builds plain values only


OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "asgd")
SCHEDULES = ("constant", "step", "exponential", "cosine", "onecycle", "plateau")
MONITORS = ("val_loss", "val_accuracy", "train_loss", "train_accuracy")
DEVICES = ("auto", "cpu", "cuda")
# auto: bf16 autocast for convolutional nets where the hardware computes bf16 natively
# (a CUDA GPU with bf16, a CPU with AMX or AVX512-BF16), fp32 otherwise
# (charrec.train.precision).
PRECISIONS = ("fp32", "bf16", "auto")
# How predict frames pictures (charrec.infer.preprocess.STYLES).
FRAMES = ("emnist", "mnist")
# How images that are not 28×28 are made so at load (charrec.data.resize.POLICIES).
RESIZES = ("emnist", "pad")


@dataclass
class ExtraData:
    """More training images from another data set or file (`data.extra`)."""

    name: str = ""
    # The part of it to learn from (default: its training part, or a folder's only one);
    # "test" is refused, so that it stays for measuring.
    split: str | None = None
    # Each image counts this many times (a small set of real handwriting beside a big one).
    repeat: int = 1
    # Its class list, where a data file does not carry it (as data.classes).
    classes: str | None = None
    # 0: its pictures. k: k new drawings of each from its pen strokes instead, each with
    # another pen width and its strokes a little moved (sets of on-line handwriting).
    renders: int = 0
    # Only these of its classes, each learnt as the training class named ({its class:
    # training class}): a folder's "zero" pictures as 0 ({zero: "0"}), handwritten g's
    # as a digits model's 9 ({g: "9"}). Empty: every class it shares with the training
    # set, matched by name.
    take: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # YAML reads {g: 9} with a number for the digit: class names are text.
        if isinstance(self.take, dict):
            self.take = {str(k): str(v) for k, v in self.take.items()}


@dataclass
class DataConfig:
    name: str = "mnist"
    # None: --data-dir, else $CHARREC_DATA, else the per-user cache.
    data_dir: str | None = None
    # Fraction of the training split held out for validation, stratified, seeded.
    # Validation never comes from the test split. 0 trains without validation.
    val_fraction: float = 0.1
    # Keep only this many training images (a seeded stratified subsample), for quick runs.
    limit: int | None = None
    # Cross-validation: with folds = K ≥ 2, the training split (subsampled to `limit`
    # with fold_seed) is cut into K stratified folds drawn with fold_seed; fold k
    # (0-based) validates, the other K-1 train, and val_fraction is not used. The same K
    # and fold_seed give the same folds whatever the model or training seed, so
    # candidates scored on them are paired.
    folds: int = 0
    fold: int = 0
    fold_seed: int = 0
    # Keep at most this many training images per class (seeded, after the folds are
    # cut; validation keeps all of its images): learning curves of small data.
    per_class: int | None = None
    # Images that are not 28×28 (Binary AlphaDigits' 20×16) are converted once at load:
    # "emnist" frames them as EMNIST was made, "pad" scales the whole image and pads it.
    resize: str = "emnist"
    # Evaluate the final model on the test split (when the data set has one) at the end.
    evaluate_test: bool = True
    # The EMNIST class list (byclass, bymerge, balanced, letters, digits, mnist) of a data
    # file that does not carry its classes: a CSV under any name, IDX files, an .npz.
    classes: str | None = None
    # More images for the training part only (validation and test stay this set's), e.g.
    # real handwriting from outside NIST or a user's own folder: [{name, split, repeat}].
    # Classes are matched to this set's by name, case merged where it merges case; images
    # of classes it does not hold are left out.
    extra: list[ExtraData] = field(default_factory=list)
    # How `charrec predict` frames a user's picture for this model (model.json records it):
    # "emnist" (ink box 24 px, centred by the box), "mnist" (20 px, centred by mass), or
    # None: MNIST's frame for a model of MNIST alone, EMNIST's for every other.
    frame: str | None = None


@dataclass
class ModelConfig:
    name: str = "keras-convnet"
    # Passed to charrec.models.create_model: activation, init, batch_norm, dropout, pooling,
    # and model-specific ones such as hidden for mlp.
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class OptimConfig:
    name: str = "adam"
    lr: float = 1e-3
    # L2 penalty on weights (not biases or norm layers); decoupled for adamw.
    weight_decay: float = 0.0
    # None: the optimizer's usual default (0.9 for sgd, 0 for rmsprop).
    momentum: float | None = None
    nesterov: bool = False
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    # Anything else the torch optimizer takes, e.g. {alpha: 0.9} for rmsprop (Keras' rho).
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class ScheduleConfig:
    name: str = "constant"
    # Linear warm-up from 0 to the base learning rate over this many epochs (fractions ok).
    warmup_epochs: float = 0.0
    # Per-schedule parameters; see charrec.train.optim.SCHEDULE_PARAMS for names and defaults.
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class RegularisationConfig:
    # Weight of the L1 penalty sum(|w|) over weights (not biases), added to the loss.
    l1: float = 0.0
    label_smoothing: float = 0.0


@dataclass
class EarlyStoppingConfig:
    # Stop after this many epochs without improvement; 0 turns early stopping off.
    patience: int = 0
    metric: str = "val_loss"
    # An improvement must beat the best value by more than this.
    min_delta: float = 0.0
    # At the end, go back to the weights of the best epoch.
    restore_best: bool = True


@dataclass
class TrainingConfig:
    epochs: int = 10
    batch_size: int = 128
    eval_batch_size: int = 1000
    seed: int = 0
    device: str = "auto"
    precision: str = "fp32"
    # NHWC feature maps: faster for every CNN of the zoo in fp32 on CPU (charrec bench
    # train), and the same for MLPs.
    channels_last: bool = True
    # None: torch's default number of CPU threads.
    num_threads: int | None = None
    # CPU only: split each batch into this many shards trained side by side on threads of
    # their own (one torch thread each), gradients summed in order; 1: off. Not with
    # batch norm or several processes.
    batch_shards: int = 1
    # Keep the last N epochs' weights in the run folder (snapshots/epoch-E.safetensors) for
    # `charrec ensemble --snapshots`; 0: none, the run folder as always.
    keep_snapshots: int = 0
    # After training, each class's logit bias loses τ·log(its share of the training images)
    # (logit adjustment, charrec.train.prior): the model answers as if every class were
    # equally likely rather than as often as training met it. 0: off; 1: full.
    prior_correction: float = 0.0
    # After training, every logit is divided by one temperature fitted on the validation
    # split (temperature scaling, charrec.train.temperature): the same answers, with
    # probabilities that match how often they are right. Needs a validation split.
    calibrate: bool = False
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)


# Ways to carry a trained model to new data (charrec.transfer.strategies).
TRANSFER_STRATEGIES = (
    "zero-shot",
    "linear-probe",
    "added-layers",
    "top-blocks",
    "finetune",
    "scratch",
)
HEAD_INITS = ("matched", "random")


@dataclass
class TransferConfig:
    # A run folder or a shipped model name (charrec.infer.pretrained); None: no transfer.
    # The model section then names the source's architecture.
    source: str | None = None
    strategy: str = "finetune"
    # top-blocks: how many feature blocks under the head train (the rest stay frozen).
    train_blocks: int = 2
    # finetune: each block's learning rate is this fraction of the block above it
    # (layer-wise decay; 1 trains every layer at the same rate).
    lr_decay: float = 0.5
    # added-layers: width of the trainable Dense layer added on the frozen base; None:
    # the features' own width, so the layer can start as the identity (see head_init).
    added_width: int | None = None
    # The new head's rows start from the source's rows of the classes matched by name
    # ("matched": training starts from the zero-shot model) or at random.
    head_init: str = "matched"


@dataclass
class DistillConfig:
    # Trained models (run folders, ensemble folders, shipped names) whose averaged,
    # softened probabilities the model learns from beside the labels (knowledge
    # distillation, charrec.train.distill); empty: off.
    teachers: list[str] = field(default_factory=list)
    # The teachers' share of the loss; the rest is the labels' cross-entropy.
    weight: float = 0.5
    # Teachers' and model's logits are divided by it before their softmax: above 1 the
    # teachers' second and third guesses carry more of what they know.
    temperature: float = 2.0


@dataclass
class RunConfig:
    # The run folder; None: runs/<model>-<data>-<date>-<time>.
    out: str | None = None


@dataclass
class TrainConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    regularisation: RegularisationConfig = field(default_factory=RegularisationConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    transfer: TransferConfig = field(default_factory=TransferConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)
    run: RunConfig = field(default_factory=RunConfig)

    # --- conversions -----------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain YAML/JSON values (tuples as lists), sections in a fixed order."""
        return _to_plain(self)

    @classmethod
    def from_dict(cls, values: Any) -> TrainConfig:
        """Build from plain values; unknown keys and values of the wrong type are errors."""
        return _from_plain(cls, values, "")

    def to_yaml(self, path: str | Path | None = None) -> str:
        """The config as YAML text; also written atomically to `path` when given."""
        text = yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None)
        if path is not None:
            with atomic_open(path) as handle:
                handle.write(text)
        return text

    @classmethod
    def from_yaml(cls, source: str | Path) -> TrainConfig:
        """Read a YAML file (a Path, or a str naming an existing file) or YAML text."""
        text = _read_text(source)
        try:
            values = load_yaml(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{source}: not valid YAML: {exc}".replace("\n", " ")) from None
        return cls.from_dict(values or {})

    def validate(self) -> TrainConfig:
        """Check value ranges and option names that need no import of models or data."""
        _validate(self)
        return self


def _read_text(source: str | Path) -> str:
    if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source):
        path = Path(source)
        if isinstance(source, Path) or path.suffix in (".yaml", ".yml") or path.exists():
            try:
                return path.read_text()
            except FileNotFoundError:
                raise ConfigError(f"config file {path} not found") from None
            except OSError as exc:
                raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    return str(source)


# --- plain values <-> dataclasses ---------------------------------------------------------


def _to_plain(value: Any) -> Any:
    if isinstance(value, AugmentConfig):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_plain(v) for v in value]
    return value


def _where(path: str) -> str:
    return f"config key {path!r}" if path else "config"


def _from_plain(cls: type, values: Any, path: str) -> Any:
    if cls is AugmentConfig:
        return _augment_from_plain(values, path)
    if not isinstance(values, dict):
        raise ConfigError(f"{_where(path)} must be a mapping, got {values!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in values.items():
        if key not in names:
            section = f"config section {path!r}" if path else "the config"
            raise ConfigError(
                f"unknown key {key!r} in {section}; valid keys are: {', '.join(names)}"
            )
        kwargs[key] = _coerce(hints[key], value, f"{path}.{key}" if path else str(key))
    return cls(**kwargs)


def _augment_from_plain(values: Any, path: str) -> AugmentConfig:
    """A preset name, None/"none", or a mapping of options with an optional `preset` base."""
    if values is None:
        return AugmentConfig()
    if isinstance(values, AugmentConfig):
        return values
    if isinstance(values, str):
        return AugmentConfig.preset(values)
    if not isinstance(values, dict):
        raise ConfigError(f"{_where(path)} must be a preset name or a mapping, got {values!r}")
    values = dict(values)
    base = AugmentConfig.preset(str(values.pop("preset"))) if "preset" in values else None
    options = AugmentConfig.from_dict(values)  # checks the keys, lists the valid ones
    if base is None:
        return options
    changed = {k: getattr(options, k) for k in values}
    return base.with_options(**changed)


def _coerce(hint: Any, value: Any, path: str) -> Any:
    """`value` as type `hint` (the subset of types the config uses)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            return _coerce(inner[0], value, path)
        raise TypeError(f"unsupported config type {hint}")  # a bug, not a user error
    if dataclasses.is_dataclass(hint):
        return _from_plain(hint, value, path)
    if hint is Any:
        return value
    if origin is dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ConfigError(f"{_where(path)} must be a mapping, got {value!r}")
        return {str(k): v for k, v in value.items()}
    if origin is list:
        if value is None:
            return []
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{_where(path)} must be a list, got {value!r}")
        return [_coerce(args[0], v, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is tuple:
        if not isinstance(value, (list, tuple)) or len(value) != len(args):
            raise ConfigError(f"{_where(path)} must be a list of {len(args)} values, got {value!r}")
        return tuple(
            _coerce(a, v, f"{path}[{i}]") for i, (a, v) in enumerate(zip(args, value, strict=True))
        )
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "on", "off"):
            return value.lower() in ("true", "yes", "on")
        raise ConfigError(f"{_where(path)} must be true or false, got {value!r}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
        raise ConfigError(f"{_where(path)} must be a whole number, got {value!r}")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)  # YAML 1.1 reads 1e-3 as a string
            except ValueError:
                pass
        raise ConfigError(f"{_where(path)} must be a number, got {value!r}")
    if hint is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"{_where(path)} must be a string, got {value!r}")
    raise TypeError(f"unsupported config type {hint}")


# --- overrides: CLI flags and --set a.b.c=value -----------------------------------------


def parse_assignment(text: str) -> tuple[str, Any]:
    """`"model.options.hidden=[256,128]"` -> ("model.options.hidden", [256, 128]).

    The value is read as YAML, so numbers, booleans, lists and mappings work; a value that
    is not valid YAML is kept as a string.
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set expects KEY=VALUE (e.g. optim.lr=0.01), got {text!r}")
    try:
        value = load_yaml(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    return key, value


def apply_overrides(config: TrainConfig, overrides: dict[str, Any]) -> TrainConfig:
    """A new config with dotted keys set, e.g. {"optim.lr": 0.01, "augment": "light"}.

    Keys inside a dict field (model.options.hidden, schedule.params.gamma) may be new;
    every other key must exist. Values are coerced as when reading YAML.
    """
    plain = config.to_dict()
    for dotted, value in overrides.items():
        _set_dotted(plain, TrainConfig, dotted, value)
    return TrainConfig.from_dict(plain)


def _set_dotted(plain: dict[str, Any], cls: type, dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node: Any = plain
    node_cls: Any = cls
    for i, part in enumerate(parts):
        here = ".".join(parts[: i + 1])
        last = i == len(parts) - 1
        if node_cls is AugmentConfig:
            if not last:
                raise ConfigError(f"config key {here!r} is not a section")
            if part != "preset":
                valid = [f.name for f in dataclasses.fields(AugmentConfig)]
                if part not in valid:
                    raise unknown_choice("augmentation option", part, valid)
                node[part] = value
            else:
                plain_preset = AugmentConfig.preset(str(value)).to_dict()
                node.clear()
                node.update(plain_preset)
            return
        if dataclasses.is_dataclass(node_cls):
            names = [f.name for f in dataclasses.fields(node_cls)]
            if part not in names:
                where = f"config section {'.'.join(parts[:i])!r}" if i else "the config"
                raise ConfigError(
                    f"unknown key {part!r} in {where}; valid keys are: {', '.join(names)}"
                )
            hint = typing.get_type_hints(node_cls)[part]
            if last:
                # A whole augment section may be a preset name: expand it now, so that
                # later keys (augment.rotation=...) change the preset's values.
                plain_value = _augment_from_plain(value, here) if hint is AugmentConfig else value
                node[part] = _to_plain(plain_value)
                return
            if node[part] is None:
                node[part] = {}
            node, node_cls = node[part], hint
        elif typing.get_origin(node_cls) is dict or node_cls is dict:
            # A free-form mapping: anything may be set; the consumer checks the names.
            if last:
                node[part] = _to_plain(value)
                return
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"config key {here!r} is not a section")
            node_cls = dict
        else:
            raise ConfigError(f"config key {'.'.join(parts[:i])!r} is not a section")


# --- validation ---------------------------------------------------------------------------


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def _validate(config: TrainConfig) -> None:
    data, optim, sched = config.data, config.optim, config.schedule
    reg, train, stop = config.regularisation, config.training, config.training.early_stopping
    _check(
        0.0 <= data.val_fraction < 1.0,
        f"data.val_fraction must be in [0, 1), got {data.val_fraction}",
    )
    _check(data.limit is None or data.limit >= 2, f"data.limit must be ≥ 2, got {data.limit}")
    _check(data.folds == 0 or data.folds >= 2, f"data.folds must be 0 (off) or ≥ 2, {data.folds}")
    _check(
        data.folds == 0 or 0 <= data.fold < data.folds,
        f"data.fold must be in 0..{data.folds - 1} for {data.folds} folds, got {data.fold}",
    )
    _check(
        data.per_class is None or data.per_class >= 1,
        f"data.per_class must be ≥ 1, got {data.per_class}",
    )
    if data.resize not in RESIZES:
        raise unknown_choice("resize policy", data.resize, RESIZES)
    if data.frame is not None and data.frame not in FRAMES:
        raise unknown_choice("picture frame", data.frame, FRAMES)
    for k, extra in enumerate(data.extra):
        where = f"data.extra[{k}]"
        _check(bool(extra.name), f"{where}.name must name a data set or a file")
        _check(extra.repeat >= 1, f"{where}.repeat must be ≥ 1, got {extra.repeat}")
        _check(extra.renders >= 0, f"{where}.renders must be ≥ 0, got {extra.renders}")
        _check(
            extra.split != "test",
            f"{where}: the test split is for measuring; train on another split",
        )
    if optim.name not in OPTIMIZERS:
        raise unknown_choice("optimizer", optim.name, OPTIMIZERS)
    for name, value in (("lr", optim.lr), ("eps", optim.eps)):
        _check(math.isfinite(value) and value > 0, f"optim.{name} must be > 0, got {value}")
    _check(optim.weight_decay >= 0, f"optim.weight_decay must be ≥ 0, got {optim.weight_decay}")
    _check(
        optim.momentum is None or 0.0 <= optim.momentum < 1.0,
        f"optim.momentum must be in [0, 1), got {optim.momentum}",
    )
    _check(
        all(0.0 <= b < 1.0 for b in optim.betas), f"optim.betas must be in [0, 1), {optim.betas}"
    )
    if sched.name not in SCHEDULES:
        raise unknown_choice("schedule", sched.name, SCHEDULES)
    _check(sched.warmup_epochs >= 0, f"schedule.warmup_epochs must be ≥ 0, {sched.warmup_epochs}")
    _check(reg.l1 >= 0, f"regularisation.l1 must be ≥ 0, got {reg.l1}")
    _check(
        0.0 <= reg.label_smoothing < 1.0,
        f"regularisation.label_smoothing must be in [0, 1), got {reg.label_smoothing}",
    )
    for name in ("epochs", "batch_size", "eval_batch_size"):
        value = getattr(train, name)
        _check(value >= 1, f"training.{name} must be ≥ 1, got {value}")
    if train.device not in DEVICES and not train.device.startswith("cuda:"):
        raise unknown_choice("device", train.device, DEVICES)
    if train.precision not in PRECISIONS:
        raise unknown_choice("precision", train.precision, PRECISIONS)
    _check(
        train.num_threads is None or train.num_threads >= 1,
        f"training.num_threads must be ≥ 1, got {train.num_threads}",
    )
    _check(train.batch_shards >= 1, f"training.batch_shards must be ≥ 1, got {train.batch_shards}")
    _check(
        train.keep_snapshots >= 0,
        f"training.keep_snapshots must be ≥ 0 (0: none), got {train.keep_snapshots}",
    )
    _check(
        0.0 <= train.prior_correction <= 2.0,
        f"training.prior_correction must be between 0 (off) and 2, got {train.prior_correction}",
    )
    _check(stop.patience >= 0, f"early stopping patience must be ≥ 0, got {stop.patience}")
    _check(stop.min_delta >= 0, f"early stopping min_delta must be ≥ 0, got {stop.min_delta}")
    if stop.metric not in MONITORS:
        raise unknown_choice("early stopping metric", stop.metric, MONITORS)
    _validate_transfer(config.transfer)
    _validate_distill(config.distill)
    no_validation = data.val_fraction == 0 and not data.folds
    if train.calibrate and no_validation:
        raise ConfigError(
            "training.calibrate fits a temperature on a validation split; set data.val_fraction > 0"
        )
    if stop.patience and stop.metric.startswith("val_") and no_validation:
        raise ConfigError(
            f"early stopping on {stop.metric} needs a validation split; set data.val_fraction > 0"
        )


def _validate_transfer(transfer: TransferConfig) -> None:
    if transfer.strategy not in TRANSFER_STRATEGIES:
        raise unknown_choice("transfer strategy", transfer.strategy, TRANSFER_STRATEGIES)
    if transfer.head_init not in HEAD_INITS:
        raise unknown_choice("transfer head_init", transfer.head_init, HEAD_INITS)
    _check(
        transfer.train_blocks >= 0, f"transfer.train_blocks must be ≥ 0, {transfer.train_blocks}"
    )
    _check(0 < transfer.lr_decay <= 1, f"transfer.lr_decay must be in (0, 1], {transfer.lr_decay}")
    _check(
        transfer.added_width is None or transfer.added_width >= 1,
        f"transfer.added_width must be ≥ 1, {transfer.added_width}",
    )


def _validate_distill(distill: DistillConfig) -> None:
    _check(
        0.0 < distill.weight <= 1.0,
        f"distill.weight is the teachers' share of the loss, in (0, 1]; got {distill.weight}",
    )
    _check(
        math.isfinite(distill.temperature) and distill.temperature > 0,
        f"distill.temperature must be > 0, got {distill.temperature}",
    )
    _check(
        all(str(teacher).strip() for teacher in distill.teachers),
        "distill.teachers: each teacher names a run folder or a shipped model",
    )
