"""The HTTP API and web page of `charrec serve` (`create_app` builds the FastAPI app)."""

from __future__ import annotations

from typing import Any


def create_app(*args: Any, **kwargs: Any) -> Any:
    """See `charrec.serve.app.create_app` (imported on first use: FastAPI is not light)."""
    from charrec.serve.app import create_app as _create_app

    return _create_app(*args, **kwargs)
