"""Shared fixtures: the real data directory and tiny generated data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_DEFAULT_REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _real_data_dir() -> Path | None:
    candidate = Path(os.environ.get("CHARREC_DATA") or _DEFAULT_REAL_DATA)
    return candidate if (candidate / "mnist").is_dir() else None


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The folder of real data sets (../shared/data or $CHARREC_DATA); skips when absent."""
    found = _real_data_dir()
    if found is None:
        pytest.skip("real data not found: set CHARREC_DATA to the shared data folder")
    return found


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Never touch the user's real cache from a test."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
