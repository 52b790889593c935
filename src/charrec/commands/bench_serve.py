"""`charrec bench serve`: requests/s and latency of `charrec serve` under load."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def bench_serve(
    duration: Annotated[float, typer.Option(help="Seconds of load.")] = 10.0,
    concurrency: Annotated[int, typer.Option(help="Concurrent clients.")] = 16,
    model: Annotated[
        str, typer.Option("--model", "-m", help="Model the started server serves.")
    ] = "letters",
    url: Annotated[
        str | None,
        typer.Option(help="Load a server already running there instead of starting one."),
    ] = None,
    image: Annotated[
        Path | None,
        typer.Option(help="Send this picture (default: a drawn letter L, 128×128 PNG)."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="Worker processes of the started server (default: one per core)."),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Load test: concurrent clients POST one character PNG to /v1/predict for a while.

    Starts `charrec serve` on a free 127.0.0.1 port (or uses --url), then reports
    requests/s, latency p50/p90/p99 and errors. The client runs on the same machine and
    its own CPU time is reported, since it competes with the server for the cores.
    """
    import json
    import os

    from rich.console import Console

    from charrec.errors import ConfigError
    from charrec.serve.loadtest import character_png, run_load, running_server

    if duration <= 0 or concurrency < 1:
        raise ConfigError("--duration must be positive and --concurrency at least 1")
    if image is not None and not image.is_file():
        raise ConfigError(f"--image {image}: file not found")
    body = image.read_bytes() if image is not None else character_png()
    if url is not None:
        result = run_load(url, body, duration, concurrency)
    else:
        workers = workers or os.cpu_count() or 1
        with running_server(model, extra=("--workers", str(workers))) as (started, pid):
            result = run_load(started, body, duration, concurrency, server_pid=pid)
    console = Console()
    if json_out:
        console.print_json(json.dumps({**result.to_dict(), "workers": workers}))
        return
    lat = result.latency_ms
    console.print(
        f"{result.requests:,} requests in {result.duration_s} s from {concurrency} clients "
        f"({result.image_bytes:,}-byte PNG) to {result.url}"
        + (f" ({workers} workers)" if url is None else "")
        + "\n"
        f"throughput {result.requests_per_s} requests/s; latency p50 {lat['p50']} ms, "
        f"p90 {lat['p90']} ms, p99 {lat['p99']} ms, max {lat['max']} ms\n"
        f"errors {result.errors}"
        + (f" {result.error_kinds}" if result.errors else "")
        + f"; the load generator used {result.client_cpu_s} CPU s"
        + (
            f", the server {result.server_cpu_s} CPU s "
            f"({result.server_cpu_ms_per_request} ms a request)"
            if result.server_cpu_s is not None
            else ""
        )
        + f"\nload average (1 min) before {result.load_before}, after {result.load_after} "
        f"on {os.cpu_count()} cores",
        highlight=False,
        soft_wrap=True,
    )
