"""`charrec bench serve`: concurrent clients against the API, for a bounded time.

Starts `charrec serve` in a subprocess on a free 127.0.0.1 port (or targets --url), then
`concurrency` clients each send the same single-character PNG to POST /v1/predict over one
kept-alive connection, one request after another, until `duration` seconds have passed.
Reports requests per second, latency percentiles and errors.

The client shares the machine's cores with the server, so it is made cheap: the request is
encoded once, and each client speaks HTTP/1.1 over a plain asyncio stream (status line,
headers, Content-Length body) instead of a general HTTP library.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from charrec.errors import CharrecError


@dataclass
class LoadResult:
    url: str
    duration_s: float
    concurrency: int
    requests: int
    ok: int
    errors: int
    requests_per_s: float
    latency_ms: dict[str, float]
    # Non-200 answers by status, and failures to connect or read ("connection").
    error_kinds: dict[str, int] = field(default_factory=dict)
    # CPU seconds the load generator itself used (it competes with the server).
    client_cpu_s: float = 0.0
    # CPU seconds the server's processes used during the load (None: not measured, e.g.
    # with --url), and per successful request: what the server costs, whatever else runs.
    server_cpu_s: float | None = None
    server_cpu_ms_per_request: float | None = None
    image_bytes: int = 0
    # The machine's load average (1 min) before and after: other work on the same cores.
    load_before: float | None = None
    load_after: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def character_png(side: int = 128) -> bytes:
    """A dark letter "L" drawn with a round pen on white: what the drawing page sends."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (side, side), 255)
    draw = ImageDraw.Draw(image)
    pen = max(2, side // 14)
    points = [(0.32 * side, 0.18 * side), (0.32 * side, 0.82 * side), (0.72 * side, 0.82 * side)]
    draw.line(points, fill=0, width=pen, joint="curve")
    for x, y in (points[0], points[-1]):
        draw.ellipse([x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2], fill=0)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _request(host: str, port: int, path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: image/png\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, keep_alive) of one HTTP/1.1 response with a Content-Length."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip().lower()] = value.strip()
    if "content-length" not in headers:
        raise ConnectionError("response without Content-Length")
    body = await reader.readexactly(int(headers["content-length"]))
    return status, body, headers.get("connection", "").lower() != "close"


async def _client(
    host: str, port: int, request: bytes, deadline: float, latencies: list[float], kinds: Counter
) -> None:
    reader = writer = None
    while time.perf_counter() < deadline:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            start = time.perf_counter()
            writer.write(request)
            status, _, keep_alive = await _read_response(reader)  # type: ignore[arg-type]
            latencies.append(time.perf_counter() - start)
            if status != 200:
                kinds[str(status)] += 1
            if not keep_alive:
                await _close(writer)
                writer = None
        except (OSError, asyncio.IncompleteReadError, ConnectionError, ValueError, IndexError):
            kinds["connection"] += 1
            if writer is not None:
                await _close(writer)
            writer = None
            await asyncio.sleep(0.01)
    if writer is not None:
        await _close(writer)


async def _close(writer: asyncio.StreamWriter) -> None:
    """Close a connection and wait for its socket to go, so none outlives the event loop."""
    writer.close()
    with contextlib.suppress(OSError, ConnectionError):
        await writer.wait_closed()


async def _drive(url: str, body: bytes, duration: float, concurrency: int) -> LoadResult:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = (
        (parts.path.rstrip("/") or "") + "/v1/predict" + (f"?{parts.query}" if parts.query else "")
    )
    request = _request(host, port, path, body)
    latencies: list[float] = []
    kinds: Counter = Counter()
    cpu = time.process_time()
    start = time.perf_counter()
    deadline = start + duration
    await asyncio.gather(
        *(_client(host, port, request, deadline, latencies, kinds) for _ in range(concurrency))
    )
    elapsed = time.perf_counter() - start
    client_cpu = time.process_time() - cpu
    errors = sum(kinds.values())
    ordered = sorted(latencies)

    def pct(q: float) -> float:
        if not ordered:
            return float("nan")
        return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return LoadResult(
        url=url,
        duration_s=round(elapsed, 2),
        concurrency=concurrency,
        requests=len(latencies) + kinds["connection"],
        ok=len(latencies) - (errors - kinds["connection"]),
        errors=errors,
        requests_per_s=round(len(latencies) / elapsed, 1),
        latency_ms={"p50": pct(0.50), "p90": pct(0.90), "p99": pct(0.99), "max": pct(1.0)},
        error_kinds=dict(kinds),
        client_cpu_s=round(client_cpu, 2),
        image_bytes=len(body),
    )


def run_load(
    url: str,
    body: bytes,
    duration: float = 10.0,
    concurrency: int = 16,
    server_pid: int | None = None,
) -> LoadResult:
    """Drive POST /v1/predict at `url` with `concurrency` clients for `duration` seconds.

    With `server_pid`, the CPU time of that process and its children is measured too.
    """
    _check_answer(url, body)
    load_before = _load_average()
    cpu_before = process_tree_cpu(server_pid) if server_pid else None
    result = asyncio.run(_drive(url, body, duration, concurrency))
    if cpu_before is not None and server_pid:
        used = process_tree_cpu(server_pid) - cpu_before
        result.server_cpu_s = round(used, 2)
        if result.ok:
            result.server_cpu_ms_per_request = round(1000 * used / result.ok, 2)
    result.load_before, result.load_after = load_before, _load_average()
    return result


def _load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def process_tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and its children, from /proc (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the name: state, ppid, ... utime is field 14 and stime 15 of the whole line.
        if stat.parent.name == str(pid) or fields[1] == str(pid):
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _check_answer(url: str, body: bytes) -> None:
    """One request first: the server must answer the image with a prediction."""
    target = url.rstrip("/") + "/v1/predict"
    request = urllib.request.Request(target, data=body, headers={"Content-Type": "image/png"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise CharrecError(f"{target} answered {exc.code}: {exc.read()[:200]!r}") from None
    except OSError as exc:
        raise CharrecError(f"cannot reach {target}: {exc}") from None
    if "label" not in answer:
        raise CharrecError(f"{target} did not answer with a prediction: {answer!r}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_server(model: str, port: int | None = None, extra: tuple[str, ...] = ()):
    """`charrec serve` in a subprocess on 127.0.0.1; yields (URL, pid) once /healthz answers."""
    port = port or free_port()
    command = [sys.executable, "-m", "charrec", "serve", "--model", model, "--port", str(port)]
    command += ["--no-access-log", *extra]
    # The server's messages go to a file, not a pipe: a pipe nobody drains while the load
    # runs would stall the server once its buffer fills.
    with tempfile.TemporaryFile() as messages:
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=messages, env=os.environ.copy()
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, process, messages)
            yield url, process.pid
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_healthy(
    url: str, process: subprocess.Popen, messages: IO[bytes], timeout: float = 120.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            messages.seek(0)
            message = messages.read().decode(errors="replace")
            last = message.strip().splitlines()[-1:] or ["(no output)"]
            raise CharrecError(f"the server stopped before answering: {last[0]}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise CharrecError(f"the server at {url} did not answer /healthz within {timeout:.0f} s")
