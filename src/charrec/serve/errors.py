"""The API's one error shape: `{"error": {"code", "message"}}` with a 4xx status.

Every failure a client can cause (a bad image, a body too big, a wrong content type, an
unknown model, a bad query parameter, an unknown path) answers in this shape, so a client
needs one error handler; anything else is a bug and gets a 500 in the same shape.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from charrec.errors import CharrecError
from charrec.infer.imageio import BlankImageError, ImageError

log = logging.getLogger("charrec.serve")


class APIError(CharrecError):
    """A client error with its HTTP status and a stable machine-readable code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status)


def api_error_from(exc: CharrecError) -> APIError:
    """The HTTP form of a user error raised by the library (bad or blank image, bad option)."""
    if isinstance(exc, APIError):
        return exc
    if isinstance(exc, BlankImageError):
        return APIError(422, "blank_image", str(exc))
    if isinstance(exc, ImageError):
        return APIError(400, "invalid_image", str(exc))
    return APIError(400, "invalid_request", str(exc))


# Codes for the HTTP errors Starlette raises itself (unknown path, wrong method...).
_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error in the one shape above."""

    @app.exception_handler(CharrecError)
    async def _charrec_error(request: Request, exc: CharrecError) -> JSONResponse:
        error = api_error_from(exc)
        return error_response(error.status, error.code, error.message)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for item in exc.errors():
            where = ".".join(str(p) for p in item.get("loc", ()) if p not in ("query", "body"))
            parts.append(f"{where}: {item.get('msg', 'invalid')}" if where else item["msg"])
        return error_response(422, "invalid_request", "; ".join(parts) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        response = error_response(exc.status_code, code, str(exc.detail))
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "internal server error")
