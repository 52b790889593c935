"""The shapes of the API's JSON answers (they document themselves in the OpenAPI spec)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. invalid_image.")
    message: str = Field(description="What is wrong, for people.")


class ErrorResponse(BaseModel):
    error: ErrorDetail


class Candidate(BaseModel):
    label: str
    probability: float


class MergedOut(BaseModel):
    label: str = Field(
        description="The letter with its two cases' probabilities summed, named by its "
        "capital ('A' for A or a); a class without two cases (a digit) as it is."
    )
    probability: float = Field(description="The sum of the two cases' probabilities.")
    case: Literal["upper", "lower"] | None = Field(
        description="The more probable case of that letter; null for a class without two cases."
    )
    case_probability: float | None = Field(
        description="The share of the letter's probability that case holds (0.5 to 1)."
    )


class PredictionOut(BaseModel):
    source: str = Field(description="The uploaded file's name, or <body> for a raw body.")
    label: str = Field(description="The most likely class.")
    probability: float
    top: list[Candidate] = Field(description="The top_k classes, most likely first.")
    preprocessing: dict[str, Any] = Field(
        description="What preprocessing decided: polarity, the character's box, contrast."
    )
    seen: str | None = Field(
        default=None,
        description="The 28×28 image the model saw as a PNG data URL (with seen=true).",
    )
    merged: MergedOut | None = Field(
        default=None,
        description="For a model that keeps upper and lower case apart: the letter, cases "
        "summed, and its case. Null for a model without case.",
    )


class PredictResponse(PredictionOut):
    model: str


class BatchItem(BaseModel):
    source: str
    prediction: PredictionOut | None = None
    error: ErrorDetail | None = None


class BatchResponse(BaseModel):
    model: str
    results: list[BatchItem] = Field(description="One per uploaded file, in order.")


class ModelInfo(BaseModel):
    name: str
    classes: list[str]
    card: dict[str, Any] = Field(description="Model-card facts: data, accuracy, training.")
    tta: str | None = Field(
        None, description="Test-time augmentation policy (shift or affine), or null for none."
    )


class ModelsResponse(BaseModel):
    default: str
    models: list[ModelInfo]


class Health(BaseModel):
    status: str
    models: list[str]
