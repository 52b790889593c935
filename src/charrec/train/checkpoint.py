"""Checkpoints and run folders: what a run leaves on disk, and `load_run` to read it back.

A run folder holds (see DESIGN.md, "A run is a folder"):

    config.yaml        the complete config; `charrec train --config` reruns it
    history.json       one row of metrics per epoch
    model.safetensors  the weights: each epoch's, then the final (best, if restored) model
    model.json         what the weights are: model name and options, classes, preprocessing,
                       data name and fingerprint, epoch, metrics
    best.safetensors   the best epoch's weights, when early stopping tracks one
    state.pt           everything `--resume` needs (weights, optimizer, schedule, early
                       stopping, history, RNG states), one file written last each epoch
    metrics.json       the final validation and test metrics, times, parameter count
    snapshots/         with `training.keep_snapshots: N`, the last N epochs' weights as
                       epoch-<E>.safetensors (`charrec ensemble --snapshots` averages them)

Every file is written atomically, so an interrupted run leaves the previous epoch's files.
Weights are safetensors; state.pt is read only with `torch.load(weights_only=True)`.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from charrec.errors import CharrecError
from charrec.fileio import atomic_path, read_json

FORMAT = "charrec-model"
FORMAT_VERSION = 1

RUN_FILES = (
    "config.yaml",
    "history.json",
    "model.safetensors",
    "model.json",
    "best.safetensors",
    "state.pt",
    "metrics.json",
)


class RunFolder:
    """The paths of one run folder."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    config = property(lambda self: self.path / "config.yaml")
    history = property(lambda self: self.path / "history.json")
    weights = property(lambda self: self.path / "model.safetensors")
    model_json = property(lambda self: self.path / "model.json")
    best_weights = property(lambda self: self.path / "best.safetensors")
    state = property(lambda self: self.path / "state.pt")
    tensorboard = property(lambda self: self.path / "tensorboard")
    metrics = property(lambda self: self.path / "metrics.json")
    snapshots = property(lambda self: self.path / "snapshots")

    def snapshot(self, epoch: int) -> Path:
        """Where epoch `epoch`'s weights are kept (with training.keep_snapshots)."""
        return self.snapshots / f"epoch-{epoch}.safetensors"

    def list_snapshots(self) -> list[tuple[int, Path]]:
        """The kept snapshots as (epoch, path), oldest first."""
        found = []
        for path in self.snapshots.glob("epoch-*.safetensors"):
            number = path.name[len("epoch-") : -len(".safetensors")]
            if number.isdigit():
                found.append((int(number), path))
        return sorted(found)

    def holds_run(self) -> bool:
        return any((self.path / name).exists() for name in RUN_FILES)

    def started_without_epoch(self) -> bool:
        """Its config is written but no epoch was saved: stopped while loading or in epoch 1."""
        return self.config.is_file() and not any(
            (self.path / name).exists() for name in RUN_FILES if name != self.config.name
        )

    def prepare(self, overwrite: bool = False) -> None:
        """Create the folder; refuse to mix with an earlier run unless `overwrite`."""
        if self.path.exists() and not self.path.is_dir():
            raise CharrecError(f"run folder {self.path} is a file")
        if self.holds_run():
            if not overwrite:
                raise CharrecError(
                    f"{self.path} already holds a run; continue it with --resume {self.path}, "
                    "replace it with --overwrite, or choose another folder with --out"
                )
            for name in RUN_FILES:
                (self.path / name).unlink(missing_ok=True)
            # Old events would mix with the new run's curves, old snapshots with its epochs.
            shutil.rmtree(self.tensorboard, ignore_errors=True)
            shutil.rmtree(self.snapshots, ignore_errors=True)
        self.path.mkdir(parents=True, exist_ok=True)

    def read_history(self) -> list[dict[str, Any]]:
        return read_json(self.history) if self.history.exists() else []


# --- weights --------------------------------------------------------------------------------


def state_dict_for_saving(model: nn.Module) -> dict[str, torch.Tensor]:
    """CPU copies, contiguous and unshared, as safetensors wants them."""
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in model.state_dict().items()}


def save_weights(
    path: Path, weights: dict[str, torch.Tensor], metadata: dict[str, str] | None = None
) -> None:
    with atomic_path(path) as tmp:
        save_file(weights, str(tmp), metadata=metadata)


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    """A safetensors file's tensors; a missing or corrupt file is a CharrecError."""
    if not path.is_file():
        raise CharrecError(f"{path} not found")
    try:
        return load_file(str(path))
    except Exception as exc:  # safetensors raises its own error type, or OSError
        raise CharrecError(f"{path} is corrupt or not a safetensors file: {exc}") from None


def load_weights_into(model: nn.Module, path: Path) -> None:
    try:
        model.load_state_dict(load_weights(path))
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0:2]
        raise CharrecError(
            f"{path} does not fit the model described in model.json: {' '.join(first)}"
        ) from None


# --- resume state -----------------------------------------------------------------------------


def save_state(path: Path, state: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_state(path: Path) -> dict[str, Any]:
    """The resume state; only tensors and plain values are ever unpickled."""
    if not path.is_file():
        raise CharrecError(
            f"{path} not found, so there is nothing to resume from; "
            f"start it again with --config {path.parent / 'config.yaml'} --overwrite"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises RuntimeError, EOFError, KeyError... on corruption
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CharrecError(f"{path} is corrupt, cannot resume: {detail}") from None
    if not isinstance(state, dict) or state.get("format") != "charrec-train-state":
        raise CharrecError(f"{path} is not a charrec training state")
    return state


# --- reading a run back ----------------------------------------------------------------------


def build_model(
    name: str,
    options: dict[str, Any],
    num_classes: int,
    image_size: int = 28,
    added: int | None = None,
):
    """The registry's model `name` (imported here so that training code loads lazily).

    `added`: the width of a Dense layer a transfer run added on its base (model.json's
    `model.added`; charrec.transfer.model.add_layers).
    """
    from charrec.models import create_model

    model = create_model(name, num_classes, in_channels=1, image_size=image_size, **options)
    if added:
        from charrec.transfer.model import add_layers

        model = add_layers(model, int(added))
    return model


def load_run(run_dir: str | Path, weights: str = "model") -> tuple[nn.Module, dict[str, Any]]:
    """The trained model of a run folder, in eval mode on the CPU, and its metadata.

    `weights` is "model" (the final model: the best epoch's when early stopping restored
    it) or "best". The metadata is model.json: model name and options, num_classes,
    classes, preprocessing (mean, std, input size, ink polarity), data name and
    fingerprint, epoch, metrics. To preprocess an image as in training: uint8 white ink on
    black, 28×28, x = (pixels / 255 - mean) / std. An ensemble folder (`charrec ensemble`)
    loads as one `charrec.models.ensemble.Ensemble` of its members.
    """
    run = RunFolder(run_dir)
    if not run.path.is_dir():
        raise CharrecError(f"run folder {run.path} not found")
    if not run.model_json.is_file():
        raise CharrecError(f"{run.path} is not a run folder with a checkpoint (no model.json)")
    meta = read_json(run.model_json)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CharrecError(f"{run.model_json} is not a charrec model description")
    if meta.get("version", 0) > FORMAT_VERSION:
        raise CharrecError(
            f"{run.model_json} has format version {meta['version']}; "
            f"this charrec reads up to {FORMAT_VERSION}, please upgrade"
        )
    if weights not in ("model", "best"):
        raise CharrecError(f"weights must be 'model' or 'best', got {weights!r}")
    path = run.weights if weights == "model" else run.best_weights
    try:
        size = int(meta["preprocessing"]["input_size"][0])
        model = model_from_spec(meta["model"], int(meta["num_classes"]), size)
    except (KeyError, TypeError, ValueError) as exc:
        raise CharrecError(f"{run.model_json} is incomplete: missing or bad {exc}") from None
    load_weights_into(model, path)
    return model.eval(), meta


def model_from_spec(spec: dict[str, Any], num_classes: int, image_size: int = 28) -> nn.Module:
    """The untrained model model.json's "model" entry describes: a registry model, or an
    ensemble (name "ensemble") whose "members" are such entries themselves."""
    from charrec.models.ensemble import ENSEMBLE, Ensemble

    if spec["name"] == ENSEMBLE:
        members = [model_from_spec(m, num_classes, image_size) for m in spec["members"]]
        inputs = [tuple(m.get("input", (1.0, 0.0))) for m in spec["members"]]
        return Ensemble(members, spec["weights"], inputs)
    return build_model(spec["name"], spec["options"], num_classes, image_size, spec.get("added"))
