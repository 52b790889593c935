"""The HTTP API: predict one image, predict a batch, list the models, health."""

from __future__ import annotations

import base64
import io
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Query, Request
from PIL import Image
from starlette.datastructures import UploadFile

from charrec.errors import CharrecError
from charrec.serve.errors import APIError, api_error_from
from charrec.serve.limits import check_pixels
from charrec.serve.models import ModelPool
from charrec.serve.schemas import (
    BatchResponse,
    ErrorResponse,
    Health,
    ModelsResponse,
    PredictResponse,
)

router = APIRouter()

RAW_TYPES = ("image/", "application/octet-stream")
MAX_TOP_K = 100

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in (
        (400, "Not an image, a damaged image, or an empty body"),
        (404, "Unknown model"),
        (413, "Body over the size limit, or an image with too many pixels"),
        (415, "Wrong content type"),
        (422, "No character found in the image, or a bad query parameter"),
    )
}


def _image_body(multiple: bool) -> dict[str, Any]:
    field = "files" if multiple else "file"
    binary = {"type": "string", "format": "binary"}
    schema = {"type": "array", "items": binary} if multiple else binary
    content: dict[str, Any] = {
        "multipart/form-data": {
            "schema": {"type": "object", "properties": {field: schema}, "required": [field]}
        }
    }
    if not multiple:
        for media in ("image/png", "image/jpeg", "application/octet-stream"):
            content[media] = {"schema": binary}
    return {"requestBody": {"required": True, "content": content}}


ModelParam = Annotated[
    str | None, Query(description="Model name (GET /v1/models lists them); default: the first.")
]
TopKParam = Annotated[int, Query(ge=1, le=MAX_TOP_K, description="How many classes to return.")]
SeenParam = Annotated[
    bool, Query(description="Also return the 28×28 image the model saw, as a PNG data URL.")
]
TtaParam = Annotated[
    str | None,
    Query(
        max_length=20,
        description="Test-time augmentation: shift (5 views) or affine (9), a little more "
        "accurate at that many times the work; none turns off the server's own. Default: "
        "the server's (charrec serve --tta).",
    ),
]


def _pool(request: Request) -> ModelPool:
    return request.app.state.pool


@router.post(
    "/v1/predict",
    response_model=PredictResponse,
    responses=_ERRORS,
    openapi_extra=_image_body(multiple=False),
    summary="Recognise the character in one image",
)
async def predict(
    request: Request,
    model: ModelParam = None,
    top_k: TopKParam = 3,
    seen: SeenParam = False,
    tta: TtaParam = None,
) -> dict[str, Any]:
    """Send the image as a multipart upload (field `file`) or as the raw body with its
    image content type. Answers the top_k classes with their probabilities."""
    served = _pool(request).get(model)
    _check_top_k(top_k, served.recognizer.classes)
    _, batcher = served.with_tta(tta)
    images = await _read_images(request, max_files=1)
    if len(images) != 1:
        raise APIError(400, "one_image_only", "send one image here; use /v1/predict/batch for more")
    name, data = images[0]
    _check_image(data, name, request)
    (result,) = await batcher.predict([_named(data, name)], top_k)
    if isinstance(result, Exception):
        raise result
    return {"model": served.name, **_prediction(result, name, seen)}


@router.post(
    "/v1/predict/batch",
    response_model=BatchResponse,
    responses=_ERRORS,
    openapi_extra=_image_body(multiple=True),
    summary="Recognise the characters in several images",
)
async def predict_batch(
    request: Request,
    model: ModelParam = None,
    top_k: TopKParam = 3,
    seen: SeenParam = False,
    tta: TtaParam = None,
) -> dict[str, Any]:
    """Send the images as a multipart upload (field `files`, repeated). Each image gets its
    prediction or its own error; one bad image does not fail the others."""
    served = _pool(request).get(model)
    _check_top_k(top_k, served.recognizer.classes)
    _, batcher = served.with_tta(tta)
    limit = request.app.state.max_batch_files
    images = await _read_images(request, max_files=limit)
    if not images:
        raise APIError(400, "missing_file", "no image in the request: send one or more 'files'")
    results: list[dict[str, Any]] = []
    sources, positions = [], []
    for name, data in images:
        try:
            _check_image(data, name, request)
        except APIError as exc:
            results.append({"source": name, "error": _error(exc)})
            continue
        positions.append(len(results))
        results.append({"source": name})
        sources.append(_named(data, name))
    outcomes = await batcher.predict(sources, top_k) if sources else []
    for position, outcome in zip(positions, outcomes, strict=True):
        name = results[position]["source"]
        if isinstance(outcome, CharrecError):
            results[position]["error"] = _error(api_error_from(outcome))
        elif isinstance(outcome, Exception):
            raise outcome
        else:
            results[position]["prediction"] = _prediction(outcome, name, seen)
    return {"model": served.name, "results": results}


@router.get("/v1/models", response_model=ModelsResponse, summary="The models this server has")
async def models(request: Request) -> dict[str, Any]:
    """Each model's name, classes and model-card facts (data, accuracy, training)."""
    pool = _pool(request)
    return {"default": pool.default, "models": [m.info() for m in pool.models.values()]}


@router.get("/healthz", response_model=Health, summary="Liveness")
async def healthz(request: Request) -> dict[str, Any]:
    return {"status": "ok", "models": _pool(request).names()}


async def _read_images(request: Request, max_files: int) -> list[tuple[str, bytes]]:
    """(name, bytes) of each image: multipart file fields, or the whole raw body."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "multipart/form-data":
        form = await request.form(max_files=max_files, max_fields=max_files)
        try:
            images = [
                (value.filename or key, await value.read())
                for key, value in form.multi_items()
                if isinstance(value, UploadFile)
            ]
        finally:
            await form.close()
        if not images:
            raise APIError(400, "missing_file", "the form has no file field: upload the image")
        return images
    if media.startswith(RAW_TYPES):
        return [("<body>", await request.body())]
    raise APIError(
        415,
        "unsupported_media_type",
        f"content type {media or '(none)'!r} is not accepted: upload multipart/form-data "
        "with a file field, or send the image bytes with its image/* content type",
    )


def _check_image(data: bytes, name: str, request: Request) -> None:
    if not data:
        raise APIError(400, "empty_body", f"{name}: empty, no image in it")
    check_pixels(data, name, request.app.state.max_pixels)


def _check_top_k(top_k: int, classes: list[str]) -> None:
    if top_k > len(classes):
        raise APIError(
            422, "invalid_request", f"top_k: at most {len(classes)} (the model's classes)"
        )


class _NamedBytes(io.BytesIO):
    """Bytes that carry the uploaded file's name into the recognizer's messages."""

    def __init__(self, data: bytes, name: str) -> None:
        super().__init__(data)
        self.name = name


def _named(data: bytes, name: str) -> io.BytesIO:
    return _NamedBytes(data, name)


def _error(exc: APIError) -> dict[str, str]:
    return {"code": exc.code, "message": exc.message}


def _prediction(prediction: Any, name: str, seen: bool) -> dict[str, Any]:
    return {
        "source": name,
        "label": prediction.label,
        "probability": float(prediction.probability),
        "top": [{"label": label, "probability": float(p)} for label, p in prediction.top],
        "preprocessing": prediction.preprocessing,
        "seen": _png_data_url(prediction.seen) if seen else None,
        "merged": None if prediction.merged is None else prediction.merged.to_dict(),
    }


def _png_data_url(image: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8), mode="L").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
