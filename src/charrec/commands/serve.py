"""`charrec serve`: the REST API and the drawing page, until Ctrl-C."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from charrec.commands.options import RecognizerTtaOption

EPILOG = """\
[bold]Examples[/]

The letters model on http://127.0.0.1:8000 (the page to draw on is at /, the API
docs at /docs):

  charrec serve

Your own run folder and the shipped digits model (the first is the default), on every
interface, uploads up to 2 MB:

  charrec serve --model runs/vgg-letters --model digits \\
    --host 0.0.0.0 --max-mb 2

Ask it from the command line:

  curl -F file=@letter.png 'http://127.0.0.1:8000/v1/predict?top_k=3'
"""


def serve(
    model: Annotated[
        list[str],
        typer.Option(
            "--model",
            "-m",
            help="Pretrained name or run folder (repeat for several; the first is the default).",
        ),
    ] = ["letters"],  # noqa: B006 - typer reads the default list, never mutates it
    host: Annotated[
        str,
        typer.Option(help="Address to listen on (0.0.0.0: every interface; think first)."),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", help="Port.")] = 8000,
    max_mb: Annotated[
        float, typer.Option("--max-mb", help="Largest request body in MB; bigger is refused.")
    ] = 8.0,
    workers: Annotated[
        int,
        typer.Option(
            help="Worker processes, each with its own copy of the models (1: one process)."
        ),
    ] = 1,
    threads: Annotated[
        int,
        typer.Option(
            help="PyTorch threads per worker. 1 is fastest when workers fill the cores: "
            "threads that wait on a busy core cost more than they save on tiny batches.",
        ),
    ] = 1,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="Log each request.")
    ] = True,
    tta: RecognizerTtaOption = None,
) -> None:
    """Serve a recogniser over HTTP: a page to draw or upload a character, and a JSON API.

    POST /v1/predict (one image), POST /v1/predict/batch (several), GET /v1/models,
    GET /healthz; OpenAPI docs at /docs. Serves until Ctrl-C.
    """
    import json
    import os

    import uvicorn

    from charrec.errors import ConfigError
    from charrec.serve.app import SETTINGS_ENV, create_app, set_threads

    if not 0 < port < 65536:
        raise ConfigError(f"--port must lie in 1..65535, got {port}")
    if max_mb <= 0:
        raise ConfigError(f"--max-mb must be positive, got {max_mb:g}")
    if workers < 1 or threads < 1:
        raise ConfigError(f"--workers and --threads must be at least 1, got {workers}, {threads}")
    settings = {"models": model, "max_bytes": int(max_mb * 1024 * 1024), "tta": tta}
    set_threads(threads)
    # Built here even with several workers: a bad model or option fails now, in one line.
    app = create_app(**settings)
    shown = "localhost" if host in ("127.0.0.1", "::1") else host
    Console().print(
        f"charrec serving {', '.join(app.state.pool.names())} at http://{shown}:{port} "
        "(Ctrl-C to stop)",
        soft_wrap=True,
        highlight=False,
    )
    if workers == 1:
        uvicorn.run(app, host=host, port=port, access_log=access_log, log_level="info")
        return
    del app
    os.environ[SETTINGS_ENV] = json.dumps({**settings, "threads": threads})
    uvicorn.run(
        "charrec.serve.app:app_from_environment",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        access_log=access_log,
        log_level="info",
    )
