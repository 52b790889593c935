"""Bad requests get a clear 4xx JSON error; none reaches the model or grows the server."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from serve_images import bomb_png, digit_png, png_bytes, zeros_png

from charrec.serve.limits import BodyLimitMiddleware

pytestmark = pytest.mark.realdata

PNG = {"Content-Type": "image/png"}


def _error(response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]["message"]


TEXT = {"Content-Type": "text/plain"}
JSON = {"Content-Type": "application/json"}
BLANK = png_bytes(np.full((50, 50), 255, np.uint8))
DAMAGED = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
# id: (request, status, code, a phrase the message holds)
BAD_REQUESTS = {
    "not-an-image": ({"content": b"GIF89a not", "headers": PNG}, 400, "invalid_image", "not an"),
    "damaged-png": ({"content": DAMAGED, "headers": PNG}, 400, "invalid_image", "<body>"),
    "empty-body": ({"content": b"", "headers": PNG}, 400, "empty_body", "empty"),
    "empty-upload": ({"files": {"file": ("e.png", b"", "image/png")}}, 400, "empty_body", "e.png"),
    "no-file": ({"files": {"note": (None, "text")}}, 400, "missing_file", "file"),
    "text-type": ({"content": b"hi", "headers": TEXT}, 415, "unsupported_media_type", "text/plain"),
    "json-type": ({"content": b"{}", "headers": JSON}, 415, "unsupported_media_type", "multipart"),
    "blank-page": ({"content": BLANK, "headers": PNG}, 422, "blank_image", "no character"),
}


@pytest.mark.parametrize(
    ("kwargs", "status", "code", "says"), BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys()
)
def test_bad_request_gets_its_error(client, kwargs, status, code, says):
    message = _error(client.post("/v1/predict", **kwargs), status, code)
    assert says in message


def test_unknown_model_lists_the_served_ones(client, recognizer, real_data_dir: Path):
    data, _ = digit_png(real_data_dir)
    message = _error(
        client.post("/v1/predict?model=klingon", content=data, headers=PNG), 404, "unknown_model"
    )
    assert "klingon" in message and recognizer.name in message


@pytest.mark.parametrize("query", ["top_k=0", "top_k=11", "top_k=three", "seen=maybe"])
def test_bad_query_parameter(client, real_data_dir: Path, query):
    data, _ = digit_png(real_data_dir)
    _error(client.post(f"/v1/predict?{query}", content=data, headers=PNG), 422, "invalid_request")


def test_unknown_path_and_wrong_method(client):
    _error(client.get("/v1/nothing"), 404, "not_found")
    _error(client.get("/v1/predict"), 405, "method_not_allowed")


def test_body_over_the_limit_is_refused_before_it_is_read(client, app):
    images_before = app.state.pool.models[app.state.pool.default].batcher.images
    huge = b"\x89PNG" + b"\x00" * (300 * 1024)  # over the test app's 256 KB
    message = _error(
        client.post("/v1/predict", content=huge, headers=PNG), 413, "payload_too_large"
    )
    assert "262,144 bytes" in message
    upload = client.post("/v1/predict", files={"file": ("big.png", huge, "image/png")})
    _error(upload, 413, "payload_too_large")
    assert app.state.pool.models[app.state.pool.default].batcher.images == images_before


def test_body_without_length_is_cut_off_at_the_limit(client):
    sent = []

    def chunks():
        for _ in range(100):  # 100 × 16 KB, far over 256 KB, streamed without a length
            sent.append(1)
            yield b"\x00" * 16384

    response = client.post("/v1/predict", content=chunks(), headers=PNG)
    _error(response, 413, "payload_too_large")


def test_limit_answers_from_the_header_without_reading_the_body():
    reached = []

    async def app(scope, receive, send):
        reached.append(scope)

    async def receive():
        raise AssertionError("the body must not be read")

    sent = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "headers": [(b"content-length", b"1000001")]}
    asyncio.run(BodyLimitMiddleware(app, max_bytes=1_000_000)(scope, receive, send))
    assert not reached
    assert sent[0]["status"] == 413


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (zeros_png(2100), "4,410,000 pixels"),  # a valid PNG of 4.4 Mpx, over the 4 Mpx limit
        (bomb_png(12_000, 12_000), "144,000,000 pixels"),  # 144 Mpx declared in 300 bytes
        (bomb_png(60_000, 60_000), "too many pixels"),  # beyond even Pillow's hard limit
    ],
    ids=["4-megapixels", "144-megapixels", "3.6-gigapixels"],
)
def test_decompression_bomb_is_refused_before_decoding(client, app, data, says):
    assert len(data) < 20_000
    images_before = app.state.pool.models[app.state.pool.default].batcher.images
    message = _error(client.post("/v1/predict", content=data, headers=PNG), 413, "image_too_large")
    assert says in message
    assert app.state.pool.models[app.state.pool.default].batcher.images == images_before


def test_repeated_bad_input_does_not_grow_memory(client, real_data_dir: Path):
    good, _ = digit_png(real_data_dir)
    bad = [
        {"content": b"junk" * 100, "headers": PNG},
        {"content": bomb_png(20_000, 20_000), "headers": PNG},
        {"content": b"\x00" * (300 * 1024), "headers": PNG},
        {"content": png_bytes(np.full((64, 64), 255, np.uint8)), "headers": PNG},
        {"files": {"file": ("x.png", b"\x89PNG\r\n\x1a\nbroken", "image/png")}},
        {"content": good, "headers": {"Content-Type": "text/plain"}},
    ]

    def round_of(n: int) -> None:
        for i in range(n):
            response = client.post("/v1/predict", **bad[i % len(bad)])
            assert 400 <= response.status_code < 500

    round_of(30)  # warm up: imports, caches, the thread pool
    gc.collect()
    tracemalloc.start()
    try:
        round_of(40)
        gc.collect()
        first = tracemalloc.get_traced_memory()[0]
        round_of(160)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - first
    finally:
        tracemalloc.stop()
    # Four times as many requests again: a leak of 2 KB a request would show as 320 KB.
    assert grown < 256 * 1024, f"memory grew by {grown:,} bytes over 160 bad requests"
