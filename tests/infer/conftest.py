"""Fixtures shared by the recognition tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from charrec.infer.realistic.fonts import find_font


@pytest.fixture(scope="session")
def font() -> Path:
    """A TrueType font to draw test characters with (a handwriting one when installed)."""
    found = find_font()
    if found is None:
        pytest.skip(
            "no TrueType font found: install fonts-dkg-handwriting or fonts-dejavu-core "
            "to render test characters"
        )
    return found
