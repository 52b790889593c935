"""Limits that keep one request from taking the server's memory: body size and pixels.

The body limit is enforced twice: a declared Content-Length over it is refused before a
byte is read, and a body sent without one (chunked) is counted as it streams in and cut
off at the limit. The pixel limit is checked from the image header, before decoding, so a
small file that would decode to gigabytes (a decompression bomb) costs nothing.
"""

from __future__ import annotations

import io
import json
import warnings

from PIL import Image
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from charrec.serve.errors import APIError, error_body

# A phone photo of a character as a JPEG is 2-5 MB; a drawing is a few KB.
DEFAULT_MAX_BYTES = 8 * 1024 * 1024
# 40 megapixels: any camera's usual output. Decoded, that is at most 160 MB (RGBA), so
# a few concurrent requests of that size stay well within a small server's memory.
DEFAULT_MAX_PIXELS = 40_000_000


def too_large(limit: int) -> APIError:
    return APIError(413, "payload_too_large", f"request body is over the limit of {limit:,} bytes")


class BodyLimitMiddleware:
    """Refuse request bodies over `max_bytes` (ASGI middleware, before any parsing)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _send_error(send, too_large(self.max_bytes))
            return
        received = 0
        limit = self.max_bytes

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large(limit)
            return message

        await self.app(scope, counted_receive, send)


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_error(send: Send, error: APIError) -> None:
    body = json.dumps(error_body(error.code, error.message)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def check_pixels(data: bytes, name: str, max_pixels: int) -> None:
    """Refuse an image whose header declares more than `max_pixels`, without decoding it.

    Files Pillow cannot identify pass through: the decoder then says what is wrong.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
    except Image.DecompressionBombError:  # Pillow's own hard limit, far above ours
        raise APIError(413, "image_too_large", f"{name}: image has too many pixels") from None
    except Exception:  # not an image, or a damaged header: the decoder says which
        return
    if width * height > max_pixels:
        raise APIError(
            413,
            "image_too_large",
            f"{name}: image is {width}×{height} = {width * height:,} pixels, over the "
            f"server's limit of {max_pixels:,}",
        )
