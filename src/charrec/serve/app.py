"""The FastAPI app of `charrec serve`: the API, its error shape, limits and the web page."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from charrec import __version__
from charrec.errors import ConfigError
from charrec.serve.errors import install_error_handlers
from charrec.serve.limits import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, BodyLimitMiddleware
from charrec.serve.models import ModelPool
from charrec.serve.reading import router as read_router
from charrec.serve.routes import router

STATIC_DIR = Path(__file__).parent / "static"
DEFAULT_MAX_BATCH_FILES = 64


def create_app(
    models: Sequence[Any] = ("letters",),
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_batch_files: int = DEFAULT_MAX_BATCH_FILES,
    max_batch: int = 64,
    tta: str | None = None,
) -> FastAPI:
    """The app serving `models` (pretrained names, run folders or Recognizers; the first is
    the default). `max_bytes` caps a request body, `max_pixels` an image's declared size,
    `max_batch_files` the images of one batch request, `max_batch` one forward pass; `tta`
    a test-time augmentation policy for the models given by name or folder."""
    for option, value in (
        ("max_bytes", max_bytes),
        ("max_pixels", max_pixels),
        ("max_batch_files", max_batch_files),
        ("max_batch", max_batch),
    ):
        if value < 1:
            raise ConfigError(f"{option} must be a positive number, got {value}")
    pool = ModelPool(models, max_batch=max_batch, tta=tta)
    app = FastAPI(
        title="charrec",
        version=__version__,
        description=(
            "Recognise a handwritten character in an image. Errors answer "
            '`{"error": {"code", "message"}}` with a 4xx status.'
        ),
    )
    app.state.pool = pool
    app.state.max_pixels = max_pixels
    app.state.max_batch_files = max_batch_files
    install_error_handlers(app)
    app.include_router(router)
    app.include_router(read_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    app.add_middleware(BodyLimitMiddleware, max_bytes=max_bytes)
    return app


# How `charrec serve --workers N` hands its options to each worker process.
SETTINGS_ENV = "CHARREC_SERVE_SETTINGS"


def app_from_environment() -> FastAPI:
    """The app built from the settings `charrec serve` put in the environment (a factory
    uvicorn calls in each worker process)."""
    raw = os.environ.get(SETTINGS_ENV)
    if not raw:
        raise ConfigError(f"{SETTINGS_ENV} is not set: start the server with charrec serve")
    settings = json.loads(raw)
    set_threads(settings.pop("threads", 1))
    return create_app(settings.pop("models"), **settings)


def set_threads(threads: int) -> None:
    """PyTorch's threads in this process (the server's, not a library default to override)."""
    import torch

    torch.set_num_threads(threads)
