"""Every endpoint of the API answers what the Recognizer answers, in the documented shape."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from serve_images import digit_png, png_bytes

from charrec.serve.app import STATIC_DIR

pytestmark = pytest.mark.realdata


def _decode_data_url(url: str) -> np.ndarray:
    assert url.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))


def test_predict_upload_answers_as_the_recognizer(client, recognizer, real_data_dir: Path):
    data, _ = digit_png(real_data_dir, 0)
    expected = recognizer.predict(data, top_k=4)
    response = client.post("/v1/predict?top_k=4", files={"file": ("seven.png", data, "image/png")})
    assert response.status_code == 200
    body = response.json()
    assert body["model"] == recognizer.name
    assert body["source"] == "seven.png"
    assert body["label"] == expected.label
    assert [c["label"] for c in body["top"]] == [label for label, _ in expected.top]
    probabilities = [c["probability"] for c in body["top"]]
    assert probabilities == sorted(probabilities, reverse=True)
    assert probabilities == pytest.approx([p for _, p in expected.top], abs=1e-6)
    assert body["preprocessing"]["polarity"] == "dark-on-light"
    assert body["seen"] is None


def test_predict_raw_body_equals_upload(client, real_data_dir: Path):
    data, _ = digit_png(real_data_dir, 1)
    raw = client.post("/v1/predict", content=data, headers={"Content-Type": "image/png"}).json()
    upload = client.post("/v1/predict", files={"file": ("x.png", data, "image/png")}).json()
    assert raw["source"] == "<body>"
    assert raw["top"] == upload["top"]


def test_seen_is_the_image_the_model_saw(client, recognizer, real_data_dir: Path):
    data, _ = digit_png(real_data_dir, 2)
    body = client.post(
        "/v1/predict?seen=true", content=data, headers={"Content-Type": "image/png"}
    ).json()
    seen = _decode_data_url(body["seen"])
    assert seen.shape == (28, 28)
    np.testing.assert_array_equal(seen, recognizer.predict(data).seen)


def test_batch_keeps_order_and_reports_each_bad_file(client, recognizer, real_data_dir: Path):
    first, _ = digit_png(real_data_dir, 3)
    second, _ = digit_png(real_data_dir, 4)
    blank = png_bytes(np.full((40, 40), 255, dtype=np.uint8))
    files = [
        ("files", ("a.png", first, "image/png")),
        ("files", ("notes.txt", b"not a picture", "text/plain")),
        ("files", ("b.png", second, "image/png")),
        ("files", ("blank.png", blank, "image/png")),
    ]
    response = client.post("/v1/predict/batch?top_k=2", files=files)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["source"] for r in results] == ["a.png", "notes.txt", "b.png", "blank.png"]
    assert results[0]["prediction"]["label"] == recognizer.predict(first).label
    assert results[2]["prediction"]["label"] == recognizer.predict(second).label
    assert len(results[0]["prediction"]["top"]) == 2
    assert results[1]["error"]["code"] == "invalid_image"
    assert "notes.txt" in results[1]["error"]["message"]
    assert results[3]["error"]["code"] == "blank_image"


def test_batch_without_files_is_an_error(client):
    response = client.post("/v1/predict/batch", files={"note": (None, "no file here")})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "missing_file"


def test_models_lists_classes_and_card(client, recognizer):
    body = client.get("/v1/models").json()
    assert body["default"] == recognizer.name
    (model,) = body["models"]
    assert model["classes"] == [str(d) for d in range(10)]
    assert model["card"]["data"] == "mnist"
    assert model["tta"] is None


def test_a_server_with_tta_answers_as_the_recognizer_with_it(digits_run: Path, real_data_dir: Path):
    from fastapi.testclient import TestClient

    import charrec
    from charrec.serve import create_app

    expected = charrec.load(digits_run, tta="affine")
    data, _ = digit_png(real_data_dir, 2)
    with TestClient(create_app([str(digits_run)], tta="affine")) as client:
        (model,) = client.get("/v1/models").json()["models"]
        assert model["tta"] == "affine"
        body = client.post("/v1/predict?top_k=3", files={"file": ("d.png", data, "image/png")})
    answer = expected.predict(data, top_k=3)
    probabilities = [c["probability"] for c in body.json()["top"]]
    assert probabilities == pytest.approx([p for _, p in answer.top], abs=1e-6)


def test_a_request_asks_for_test_time_augmentation_or_turns_it_off(
    digits_run: Path, real_data_dir: Path
):
    from fastapi.testclient import TestClient

    import charrec
    from charrec.serve import create_app

    data, _ = digit_png(real_data_dir, 2)
    other, _ = digit_png(real_data_dir, 3)

    def probabilities(answer: dict) -> list[float]:
        return [c["probability"] for c in answer["top"]]

    def expected(tta: str | None, picture: bytes) -> list[float]:
        return [p for _, p in charrec.load(digits_run, tta=tta).predict(picture, top_k=3).top]

    one = {"file": ("d.png", data, "image/png")}
    with TestClient(create_app([str(digits_run)])) as client:
        asked = client.post("/v1/predict?top_k=3&tta=affine", files=one).json()
        plain = client.post("/v1/predict?top_k=3", files=one).json()
        files = [("files", ("a.png", data, "image/png")), ("files", ("b.png", other, "image/png"))]
        batch = client.post("/v1/predict/batch?top_k=3&tta=shift", files=files).json()["results"]
        bad = client.post("/v1/predict?tta=flip", files=one)
        (model,) = client.get("/v1/models").json()["models"]
    assert probabilities(asked) == pytest.approx(expected("affine", data), abs=1e-6)
    assert probabilities(plain) == pytest.approx(expected(None, data), abs=1e-6)
    assert probabilities(asked) != pytest.approx(probabilities(plain), abs=1e-6)
    shifted = probabilities(batch[1]["prediction"])
    assert shifted == pytest.approx(expected("shift", other), abs=1e-6)
    assert model["tta"] is None  # the server's own policy is unchanged
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_request"
    assert "unknown tta 'flip'; choose from: shift, affine, none" in bad.json()["error"]["message"]
    # A server started with --tta answers without it when a request says none.
    with TestClient(create_app([str(digits_run)], tta="affine")) as client:
        off = client.post("/v1/predict?top_k=3&tta=none", files=one).json()
    assert probabilities(off) == pytest.approx(expected(None, data), abs=1e-6)


def test_healthz(client, recognizer):
    assert client.get("/healthz").json() == {"status": "ok", "models": [recognizer.name]}


def test_openapi_and_docs(client):
    spec = client.get("/openapi.json").json()
    assert {"/v1/predict", "/v1/predict/batch", "/v1/models", "/healthz"} <= set(spec["paths"])
    assert "multipart/form-data" in spec["paths"]["/v1/predict"]["post"]["requestBody"]["content"]
    assert client.get("/docs").status_code == 200


def test_page_and_its_assets_are_all_served_locally(client):
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
    assert {"/static/app.js", "/static/app.css"} <= set(assets)
    for asset in assets:
        assert client.get(asset).status_code == 200
    # No CDN, font service or any other outside resource: the page works offline.
    for path in STATIC_DIR.iterdir():
        assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", path.read_text()), path


def test_concurrent_requests_share_one_forward_pass(recognizer, real_data_dir: Path):
    import asyncio
    import threading

    from charrec.serve.batching import MicroBatcher

    class Gated:
        """The recognizer, holding its first batch until every request has queued."""

        def __init__(self) -> None:
            self.gate = threading.Event()
            self.classes = recognizer.classes
            self.sizes: list[int] = []

        def predict_many(self, sources, top_k, errors):
            self.gate.wait(timeout=30)
            self.sizes.append(len(sources))
            return recognizer.predict_many(sources, top_k=top_k, errors=errors)

    data = [digit_png(real_data_dir, i)[0] for i in range(5)]
    gated = Gated()
    batcher = MicroBatcher(gated)

    async def main():
        tasks = [asyncio.create_task(batcher.predict([data[0]], top_k=1))]
        await asyncio.sleep(0.05)  # the first batch is running (held at the gate)
        for i, source in enumerate(data[1:], start=1):
            tasks.append(asyncio.create_task(batcher.predict([source], top_k=1 + i)))
        await asyncio.sleep(0.05)  # the others queue up behind it
        gated.gate.set()
        return await asyncio.gather(*tasks)

    results = asyncio.run(main())
    assert gated.sizes == [1, 4]
    for i, ((prediction,), source) in enumerate(zip(results, data, strict=True)):
        alone = recognizer.predict(source, top_k=1 + i)
        assert [label for label, _ in prediction.top] == [label for label, _ in alone.top]
        assert [p for _, p in prediction.top] == pytest.approx([p for _, p in alone.top], abs=1e-5)
