"""The API answers the letter and its case for a 52-class model, and null for one without."""

from __future__ import annotations

from pathlib import Path

import pytest
from serve_images import digit_png, png_bytes

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def case_recognizer(real_data_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    import charrec
    from infer.tiny_runs import letters_case_mlp_run

    return charrec.load(letters_case_mlp_run(real_data_dir, tmp_path_factory.mktemp("case")))


@pytest.fixture(scope="module")
def case_client(case_recognizer, recognizer):
    from fastapi.testclient import TestClient

    from charrec.serve import create_app

    with TestClient(create_app([case_recognizer, recognizer])) as client:
        yield client


def _letter_png(real_data_dir: Path) -> bytes:
    """A real held-out letter of letters-case-dev, dark on light."""
    from charrec.data import load_dataset

    test = load_dataset("letters-case-dev", split="test", data_dir=real_data_dir)
    return png_bytes(255 - test.images[0])


def test_predict_and_batch_answer_the_letter_and_its_case(
    case_client, case_recognizer, real_data_dir: Path
) -> None:
    picture = _letter_png(real_data_dir)
    expected = case_recognizer.predict(picture).merged
    body = case_client.post("/v1/predict", files={"file": ("b.png", picture, "image/png")}).json()
    merged = body["merged"]
    assert merged["label"] == expected.label and merged["case"] == expected.case
    assert merged["case"] in ("upper", "lower")
    assert merged["probability"] == pytest.approx(expected.probability, abs=1e-6)
    assert merged["case_probability"] == pytest.approx(expected.case_probability, abs=1e-6)
    # The letter's probability is the sum of its two cases' among all 52 classes.
    full = case_client.post(
        "/v1/predict?top_k=52", files={"file": ("b.png", picture, "image/png")}
    ).json()
    by_class = {c["label"]: c["probability"] for c in full["top"]}
    upper, lower = by_class[merged["label"]], by_class[merged["label"].lower()]
    assert merged["probability"] == pytest.approx(upper + lower, abs=1e-6)
    assert merged["case_probability"] == pytest.approx(max(upper, lower) / (upper + lower))
    batch = case_client.post(
        "/v1/predict/batch", files=[("files", ("b.png", picture, "image/png"))]
    ).json()
    assert batch["results"][0]["prediction"]["merged"] == merged


def test_a_model_without_case_answers_null(case_client, recognizer, real_data_dir: Path):
    data, _ = digit_png(real_data_dir, 0)
    body = case_client.post(
        f"/v1/predict?model={recognizer.name}", files={"file": ("d.png", data, "image/png")}
    ).json()
    assert body["model"] == recognizer.name and body["merged"] is None


def test_the_openapi_schema_documents_the_case(case_client) -> None:
    schema = case_client.get("/openapi.json").json()["components"]["schemas"]
    assert set(schema["MergedOut"]["properties"]) == {
        "label",
        "probability",
        "case",
        "case_probability",
    }
