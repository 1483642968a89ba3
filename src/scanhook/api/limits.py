"""The request body gate, passed before anything parses the body.

A declared ``Content-Length`` over the limit is refused at once (413); a body without one
(chunked) is read up to the limit and refused as soon as it goes over. A body within the limit is
buffered and checked once for every route (``api/bodies.py``: JSON by its Content-Type, else
415; UTF-8; nested at most 64 levels, else 422), then handed to the application unchanged.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scanhook.api.bodies import BodyRefusal, check_body

__all__ = ["MAX_BODY_BYTES", "BodyLimit"]

#: 1 MiB.
MAX_BODY_BYTES = 1024 * 1024


def _too_large(limit: int) -> BodyRefusal:
    message = f"the request body is larger than {limit} bytes (1 MiB)"
    return BodyRefusal(413, "payload_too_large", message)


class BodyLimit:
    """ASGI middleware: 413 for a request body over ``limit`` bytes; 415 or 422 for a body that
    is not JSON, or is nested too deep."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await self._refuse(send, _too_large(self.limit))
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(send, _too_large(self.limit))
                return
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        refusal = check_body(_header(scope, b"content-type"), body)
        if refusal is not None:
            await self._refuse(send, refusal)
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send, refusal: BodyRefusal) -> None:
        error = {"code": refusal.code, "message": refusal.message, "field": None}
        body = json.dumps({"error": error}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        if refusal.status == 413:  # the rest of the body was not read
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _header(scope: dict[str, Any] | Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _content_length(scope: dict[str, Any] | Scope) -> int | None:
    value = _header(scope, b"content-length")
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 18:
        return None
    return int(value)
