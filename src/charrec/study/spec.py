"""A one-factor-at-a-time study as one YAML file that round-trips.

    name: letters-ofat            # the study's name in its storage
    data: letters-dev
    folds: 3                      # stratified k-fold CV on the training split
    trial_epochs: 3               # budget of each cross-validated trial
    trial_limit: 9000             # stratified subsample of the training split per trial
    final_epochs: 8               # the final models: whole training split, tested once
    arms:                         # the models studied side by side (an MLP and a CNN)
      - name: cnn
        base: {model: {name: vgg, options: {depth: 1}}, optim: {name: adam}, ...}
        factors:                  # explored in this order
          - name: activation
            options: {relu: {model.options.activation: relu}, elu: {...}}

A factor may be given short, by name (`- activation`, its default options for the arm's
model), by name with a subset of its options (`{name: activation, options: [relu, elu]}`),
or over any config key (`{name: lr, key: optim.lr, values: [0.001, 0.003]}`); the study
folder's study.yaml holds the resolved form, every option spelled out.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from charrec.errors import ConfigError
from charrec.fileio import atomic_open
from charrec.study.factors import (
    DEFAULT_FACTORS,
    FACTORS,
    Options,
    factor_options,
    key_factor,
)
from charrec.train.config import TrainConfig, apply_overrides, load_yaml

# The two models a study compares by default: Chollet-style dense net made deeper, and
# the VGG-style CNN that the shipped models use.
DEFAULT_BASES: dict[str, dict[str, Any]] = {
    "mlp": {
        "model.name": "mlp",
        "model.options.hidden": [512, 256, 128],
        "optim.name": "adam",
        "optim.lr": 1e-3,
        "training.precision": "auto",
    },
    "cnn": {
        "model.name": "vgg",
        "model.options.depth": 1,
        "optim.name": "adam",
        "optim.lr": 1e-3,
        # bf16 where the CPU computes it natively: trials train about twice as fast.
        "training.precision": "auto",
    },
}


@dataclass
class FactorSpec:
    name: str
    options: Options

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "options": {k: dict(v) for k, v in self.options.items()}}


@dataclass
class Arm:
    name: str
    base: TrainConfig
    factors: list[FactorSpec] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "base": self.base.to_dict(),
            "factors": [f.to_dict() for f in self.factors],
        }


@dataclass
class StudySpec:
    name: str
    data: str
    arms: list[Arm]
    data_dir: str | None = None
    folds: int = 3
    fold_seed: int = 0
    # The defaults keep a study of every factor for a CNN on letters-dev (3 folds) within
    # about 20 minutes on 2 cores; None: the base config's epochs, or every image.
    trial_epochs: int | None = 3
    trial_limit: int | None = 9000
    final_epochs: int | None = 8
    final_limit: int | None = None

    # --- YAML ------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        plain = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        plain["arms"] = [arm.to_dict() for arm in self.arms]
        return plain

    def to_yaml(self, path: str | Path | None = None) -> str:
        text = yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)
        if path is not None:
            with atomic_open(path) as handle:
                handle.write(text)
        return text

    @classmethod
    def from_dict(cls, values: Any) -> StudySpec:
        if not isinstance(values, dict):
            raise ConfigError(f"a study must be a mapping, got {values!r}")
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = [k for k in values if k not in names]
        if unknown:
            raise ConfigError(
                f"unknown key {unknown[0]!r} in the study; valid keys are: {', '.join(names)}"
            )
        for required in ("name", "data", "arms"):
            if required not in values:
                raise ConfigError(f"the study names no {required!r}")
        kwargs = dict(values)
        kwargs["arms"] = [_arm_from_dict(arm, values["data"]) for arm in values["arms"] or []]
        spec = cls(**kwargs)
        return spec.validate()

    @classmethod
    def from_yaml(cls, path: str | Path) -> StudySpec:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise ConfigError(f"cannot read study file {path}: {exc.strerror}") from None
        try:
            values = load_yaml(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}".replace("\n", " ")) from None
        return cls.from_dict(values)

    # --- checks ----------------------------------------------------------------------------

    def validate(self) -> StudySpec:
        if not self.arms:
            raise ConfigError("the study has no model to study (arms is empty)")
        names = [arm.name for arm in self.arms]
        if len(set(names)) != len(names):
            raise ConfigError(f"two arms of the study share a name: {names}")
        if self.folds < 2:
            raise ConfigError(f"cross-validation needs at least 2 folds, got {self.folds}")
        for key in ("trial_epochs", "final_epochs"):
            value = getattr(self, key)
            if value is not None and value < 1:
                raise ConfigError(f"{key} must be ≥ 1, got {value}")
        for key in ("trial_limit", "final_limit"):
            value = getattr(self, key)
            if value is not None and value < 2 * self.folds:
                raise ConfigError(f"{key} must be ≥ {2 * self.folds}, got {value}")
        for arm in self.arms:
            arm.base.validate()
            if not arm.factors:
                raise ConfigError(f"arm {arm.name!r} explores no factor")
            for factor in arm.factors:
                if len(factor.options) < 2:
                    only = ", ".join(factor.options) or "none"
                    raise ConfigError(
                        f"factor {factor.name!r} of arm {arm.name!r} has a single option "
                        f"({only}); a factor needs at least two"
                    )
                for label, overrides in factor.options.items():
                    try:
                        with_resolved_model(apply_overrides(arm.base, overrides)).validate()
                    except ConfigError as exc:
                        raise ConfigError(
                            f"option {label!r} of factor {factor.name!r} ({arm.name}): {exc}"
                        ) from None
        return self

    def differences(self, other: StudySpec) -> list[str]:
        """The top-level keys (or arm names) in which two studies differ."""
        mine, theirs = self.to_dict(), other.to_dict()
        return [key for key in mine if mine[key] != theirs.get(key)]


def _arm_from_dict(values: Any, data: str) -> Arm:
    if not isinstance(values, dict) or "name" not in values:
        raise ConfigError(f"each arm of a study is a mapping with a name, got {values!r}")
    unknown = [k for k in values if k not in ("name", "base", "factors")]
    if unknown:
        raise ConfigError(f"unknown key {unknown[0]!r} in arm {values['name']!r}")
    base = TrainConfig.from_dict(values.get("base") or {})
    base = with_resolved_model(apply_overrides(base, {"data.name": data}))
    factors = [
        _factor_from_entry(entry, base.model.name, values["name"])
        for entry in values.get("factors") or []
    ]
    return Arm(str(values["name"]), base, factors)


def with_resolved_model(config: TrainConfig) -> TrainConfig:
    """Every model option spelled out, so that an option equal to a default is the same
    candidate as the default (and is trained once)."""
    from charrec.models import model_info

    options = model_info(config.model.name).resolve(config.model.options)
    plain = {k: list(v) if isinstance(v, tuple) else v for k, v in options.items()}
    return apply_overrides(config, {"model.options": plain})


def _factor_from_entry(entry: Any, model: str, arm: str) -> FactorSpec:
    """A factor entry of any accepted form, resolved to explicit options."""
    if isinstance(entry, str):
        return FactorSpec(entry, factor_options(entry, model))
    if not isinstance(entry, dict) or "name" not in entry:
        raise ConfigError(f"a factor of arm {arm!r} must be a name or a mapping, got {entry!r}")
    name = str(entry["name"])
    if "key" in entry:
        return FactorSpec(name, key_factor(str(entry["key"]), list(entry.get("values") or [])))
    options = entry.get("options")
    if options is None or isinstance(options, list):
        return FactorSpec(name, factor_options(name, model, options))
    if isinstance(options, dict):
        return FactorSpec(name, {str(k): dict(v or {}) for k, v in options.items()})
    raise ConfigError(f"options of factor {name!r} must be a list of names or a mapping")


def parse_key_factor(text: str) -> dict[str, Any]:
    """`"optim.lr=[0.001,0.003]"` (a --factor flag) -> a factor entry over that key."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--factor expects KEY=[V1,V2,...], got {text!r}")
    try:
        values = load_yaml(raw)
    except yaml.YAMLError:
        values = None
    if not isinstance(values, list):
        values = [load_yaml(part) for part in raw.split(",")] if raw else []
    return {"name": key.strip(), "key": key.strip(), "values": values}


def build_spec(
    name: str,
    data: str,
    factors: list[Any] | None = None,
    bases: dict[str, TrainConfig] | None = None,
    **settings: Any,
) -> StudySpec:
    """A study of `data` over `factors` (default: every factor) for each base config.

    `bases` maps arm names to base configs; by default an MLP and a CNN (DEFAULT_BASES).
    Factors that do not apply to an arm's model (pooling for an MLP) are left out of it.
    """
    if bases is None:
        bases = {
            arm: apply_overrides(TrainConfig(), overrides)
            for arm, overrides in DEFAULT_BASES.items()
        }
    entries = list(factors) if factors is not None else list(DEFAULT_FACTORS)
    if not entries:
        raise ConfigError("the study explores no factor; name at least one (--factors)")
    arms = []
    for arm, base in bases.items():
        resolved = []
        for entry in entries:
            named = entry if isinstance(entry, str) else entry.get("name")
            if (
                isinstance(entry, str)
                and named in FACTORS
                and not factor_options(named, base.model.name)
            ):
                continue  # e.g. pooling, for an MLP
            resolved.append(_factor_from_entry(entry, base.model.name, arm).to_dict())
        arms.append({"name": arm, "base": base.to_dict(), "factors": resolved})
    values = {"name": name, "data": data, "arms": arms, **settings}
    return StudySpec.from_dict(values)
