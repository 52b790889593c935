"""`POST /v1/read`: read the line of handprinted characters in one image (a word, a code,
a form field); the same JSON as `charrec read --json` gives for one image."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from charrec.errors import ConfigError
from charrec.infer.read import LineTooLongError
from charrec.serve.errors import APIError
from charrec.serve.routes import (
    _ERRORS,
    MAX_TOP_K,
    ModelParam,
    TtaParam,
    _check_image,
    _check_top_k,
    _image_body,
    _named,
    _png_data_url,
    _pool,
    _read_images,
)
from charrec.serve.schemas import Candidate, MergedOut

router = APIRouter()

# A form field or a name is far shorter; a request may lower the limit, never raise it.
MAX_CHARS = 256


class ReadCharacterOut(BaseModel):
    label: str
    confidence: float
    top: list[Candidate] = Field(description="The top_k classes, most likely first.")
    box: list[int] = Field(description="left, top, right, bottom in the picture's pixels.")
    space_before: bool = Field(description="A space between words comes before it.")
    constrained: str | None = Field(default=None, description="Its answer under the constraint.")
    merged: MergedOut | None = Field(
        default=None,
        description="For a model that keeps upper and lower case apart: the letter, cases "
        "summed, and its case. Absent for a model without case.",
    )
    seen: str | None = Field(
        default=None, description="The 28×28 input the model saw, a PNG data URL (seen=true)."
    )


class ReadResponse(BaseModel):
    model: str
    source: str
    text: str = Field(description="What was read, with the spaces between words.")
    confidence: float = Field(description="The product of the characters' confidences.")
    polarity: str
    characters: list[ReadCharacterOut]
    constraint: str | None = None
    constrained: str | None = Field(
        default=None, description="The most probable reading that fits the constraint."
    )
    constraint_met: bool | None = None


@router.post(
    "/v1/read",
    response_model=ReadResponse,
    response_model_exclude_none=True,
    responses=_ERRORS,
    openapi_extra=_image_body(multiple=False),
    summary="Read the line of handprinted characters in one image",
)
async def read(
    request: Request,
    model: ModelParam = None,
    top_k: Annotated[int, Query(ge=1, le=MAX_TOP_K, description="Guesses per character.")] = 3,
    pattern: Annotated[
        str | None, Query(max_length=500, description="A regular expression, e.g. \\d{5}.")
    ] = None,
    words: Annotated[
        str | None, Query(max_length=20000, description="Allowed answers, comma-separated.")
    ] = None,
    max_chars: Annotated[
        int, Query(ge=1, le=MAX_CHARS, description="Refuse a line with more characters.")
    ] = 64,
    seen: Annotated[bool, Query(description="Also return each character's 28×28 input.")] = False,
    tta: TtaParam = None,
) -> dict[str, Any]:
    """Send the image as a multipart upload (field `file`) or as the raw body with its image
    content type. Answers the text, and each character's box, guesses and confidence."""
    from charrec.infer.constrain import Pattern, WordList

    served = _pool(request).get(model)
    _check_top_k(top_k, served.recognizer.classes)
    recognizer, _ = served.with_tta(tta)
    if pattern is not None and words is not None:
        raise APIError(422, "invalid_request", "send one of pattern and words")
    try:
        constraint = (
            Pattern(pattern)
            if pattern is not None
            else WordList(words.split(","))
            if words is not None
            else None
        )
    except ConfigError as exc:
        raise APIError(422, "invalid_request", str(exc)) from None
    images = await _read_images(request, max_files=1)
    if len(images) != 1:
        raise APIError(400, "one_image_only", "send one image, the picture of one line")
    name, data = images[0]
    _check_image(data, name, request)
    try:
        reading = await run_in_threadpool(
            recognizer.read,
            _named(data, name),
            top_k,
            constraint=constraint,
            max_chars=max_chars,
        )
    except LineTooLongError as exc:
        raise APIError(422, "too_many_characters", str(exc)) from None
    answer = {"model": served.name, **reading.to_dict()}
    if seen:
        for row, character in zip(answer["characters"], reading.characters, strict=True):
            row["seen"] = _png_data_url(character.seen)
    return answer
