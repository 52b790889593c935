"""Where data lives: `--data-dir`, then `CHARREC_DATA`, then the per-user cache."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

ENV_VAR = "CHARREC_DATA"


def default_cache_dir() -> Path:
    """The per-user cache folder for data sets (e.g. ~/.cache/charrec/data on Linux)."""
    return Path(platformdirs.user_cache_dir("charrec")) / "data"


def resolve_data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The data directory to use: the explicit one, else $CHARREC_DATA, else the user cache."""
    if explicit:
        return Path(explicit).expanduser()
    from_env = os.environ.get(ENV_VAR)
    if from_env:
        return Path(from_env).expanduser()
    return default_cache_dir()


def describe_source(explicit: str | os.PathLike[str] | None = None) -> str:
    """Say which rule chose the data directory, for `charrec data list`."""
    if explicit:
        return "--data-dir"
    if os.environ.get(ENV_VAR):
        return ENV_VAR
    return "per-user cache"
