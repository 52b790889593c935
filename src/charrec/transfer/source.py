"""The source of a transfer: a run folder or a shipped model, and its checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from charrec.errors import CharrecError, ConfigError

# What every target is made into at load (charrec.data: uint8, 28×28, one channel).
TARGET_INPUT = (28, 28)


def source_folder(source: str) -> Path:
    """The checkpoint folder of a run folder or a shipped model's name."""
    from charrec.infer.pretrained import WEIGHTS_DIR, list_pretrained

    path = Path(source).expanduser()
    if path.is_dir():
        if not (path / "model.json").is_file():
            raise CharrecError(f"{path} is not a run folder with a checkpoint (no model.json)")
        return path.resolve()
    if source in list_pretrained():
        return WEIGHTS_DIR / source
    shipped = ", ".join(list_pretrained()) or "none"
    raise ConfigError(
        f"transfer source {source!r} is neither a run folder nor a shipped model "
        f"(shipped: {shipped})"
    )


def source_name(source: str) -> str:
    """How a config records the source: a shipped name as it is, a folder as a full path."""
    folder = source_folder(source)
    from charrec.infer.pretrained import WEIGHTS_DIR

    return folder.name if folder.parent == WEIGHTS_DIR else str(folder)


def _refuse_ensemble(source: str, meta: Any) -> None:
    # An ensemble has no one body to carry over, nor one architecture to start from.
    model = (meta.get("model") if isinstance(meta, dict) else None) or {}
    if isinstance(model, dict) and model.get("name") == "ensemble":
        raise CharrecError(
            f"transfer source {source!r} is an ensemble; transfer from one of its members"
        )


def load_source(source: str) -> tuple[nn.Module, dict[str, Any]]:
    """The source model (eval mode, CPU) and its model.json, checked to fit the targets."""
    from charrec.train.checkpoint import load_run, read_json

    folder = source_folder(source)
    # Checked before the model is built: a network made for other inputs cannot be.
    described = read_json(folder / "model.json")
    pre = (described.get("preprocessing") if isinstance(described, dict) else None) or {}
    try:
        size = tuple(int(s) for s in pre.get("input_size", TARGET_INPUT))
        channels = int(pre.get("channels", 1))
    except (TypeError, ValueError):
        raise CharrecError(f"{folder / 'model.json'}: unreadable input size") from None
    _refuse_ensemble(source, described)
    if size != TARGET_INPUT or channels != 1:
        raise CharrecError(
            f"transfer source {source!r} takes {channels}×{'×'.join(map(str, size))} images; "
            f"charrec's data sets are 1×{TARGET_INPUT[0]}×{TARGET_INPUT[1]}, so its input "
            "cannot be matched"
        )
    return load_run(folder)


def source_architecture(source: str) -> tuple[str, dict[str, Any]]:
    """The source's model name and options (what a transfer run's model section holds)."""
    from charrec.train.checkpoint import read_json

    meta = read_json(source_folder(source) / "model.json")
    _refuse_ensemble(source, meta)
    try:
        return str(meta["model"]["name"]), dict(meta["model"]["options"])
    except (KeyError, TypeError):
        raise CharrecError(f"{source}: model.json does not name its model") from None
