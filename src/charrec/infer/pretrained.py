"""The models shipped inside charrec, one folder each under `charrec/infer/weights/<name>/`.

A folder holds what a run folder's checkpoint holds (`model.safetensors` + `model.json`,
so `charrec.train.checkpoint.load_run` reads it) and the model card (`card.json`,
`card.md`): data, protocol, test metrics, date, and the command that retrains it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from charrec.errors import ConfigError, unknown_choice

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
# The two files that make a folder a loadable model.
_CHECKPOINT = ("model.safetensors", "model.json")


def list_pretrained() -> list[str]:
    """Names of the shipped models, sorted."""
    if not WEIGHTS_DIR.is_dir():
        return []
    return sorted(
        folder.name
        for folder in WEIGHTS_DIR.iterdir()
        # Hidden folders are models being published (swapped in when complete).
        if not folder.name.startswith(".")
        and folder.is_dir()
        and all((folder / f).is_file() for f in _CHECKPOINT)
    )


def is_pretrained(name: str) -> bool:
    return name in list_pretrained()


def pretrained_dir(name: str) -> Path:
    """The folder of a shipped model; an unknown name is a ConfigError listing the valid ones."""
    names = list_pretrained()
    if name not in names:
        if not names:
            raise ConfigError(
                f"unknown pretrained model {name!r}: this installation ships none; "
                "give a run folder instead"
            )
        raise unknown_choice("pretrained model", name, names)
    return WEIGHTS_DIR / name


def read_card(name: str) -> dict[str, Any]:
    """The model card of a shipped model (card.json) as a dict."""
    from charrec.fileio import read_json

    path = pretrained_dir(name) / "card.json"
    if not path.is_file():
        raise ConfigError(f"pretrained model {name!r} has no model card ({path} is missing)")
    card = read_json(path)
    if not isinstance(card, dict):
        raise ConfigError(f"{path} is not a model card (expected a JSON object)")
    return card
