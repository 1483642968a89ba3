"""Every error of the HTTP API as one JSON shape, mapped from scanhook's exceptions in one place.

The shape::

    {"error": {"code": "invalid_request", "message": "url: field required", "field": "url"}}

``code`` is stable and machine-readable, ``message`` names the field and the problem, ``field``
is the offending field (a dotted path) or null. An invalid notification adds ``problems``: one
``{"field", "message"}`` per bad field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from scanhook.errors import (
    ConflictError,
    DatabaseError,
    InvalidNotification,
    InvalidRequest,
    NotFound,
    ScanhookError,
    StorageFull,
)

__all__ = [
    "ApiError",
    "ErrorBody",
    "ErrorResponse",
    "Problem",
    "documented",
    "error_response",
    "install_error_handlers",
    "validation_message",
]

log = structlog.get_logger("scanhook.api")


class Problem(BaseModel):
    """One bad field of an invalid notification."""

    field: str
    message: str


class ErrorBody(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. 'invalid_request'.")
    message: str = Field(description="What is wrong, naming the field and the problem.")
    field: str | None = Field(None, description="The offending field (dotted path), if any.")
    problems: list[Problem] | None = Field(
        None, description="Every bad field of an invalid notification."
    )


class ErrorResponse(BaseModel):
    """The body of every error response."""

    error: ErrorBody


class ApiError(Exception):
    """An HTTP error raised by the API layer itself (auth, limits, filters)."""

    def __init__(self, status: int, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    problems: Sequence[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A JSON error response of the documented shape."""
    body: dict[str, Any] = {"code": code, "message": message, "field": field}
    if problems is not None:
        body["problems"] = [
            {"field": str(p.get("field", "")), "message": str(p.get("message", ""))}
            for p in problems
        ]
    return JSONResponse(
        {"error": body}, status_code=status, headers=dict(headers) if headers else None
    )


_LOCATIONS = {"body": "", "query": "", "path": "", "header": "header ", "cookie": "cookie "}
#: Fields whose values may be credentials: an error about them never repeats the value.
_SECRET_FIELDS = frozenset(
    {
        "secret",
        "auth",
        "headers",
        "secret_headers",
        "password",
        "token",
        "client_secret",
        "routing_key",
        "authorization",
    }
)


def _where(loc: Sequence[int | str]) -> str:
    parts = [str(p) for p in loc]
    prefix = ""
    if parts and parts[0] in _LOCATIONS:
        prefix = _LOCATIONS[parts[0]]
        parts = parts[1:]
    return prefix + (".".join(parts) or "(body)")


def _message(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "missing":
        return "field required"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "json_invalid":
        reason = (error.get("ctx") or {}).get("error", "")
        return f"the body is not valid JSON ({reason})" if reason else "the body is not valid JSON"
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    secret = any(str(part).lower() in _SECRET_FIELDS for part in error.get("loc", ()))
    if "input" in error and not secret and kind not in ("model_attributes_type", "dict_type"):
        shown = repr(error["input"])
        if len(shown) <= 80 and shown not in message:
            message = f"{message} (got {shown})"
    return message


def validation_message(errors: Sequence[dict[str, Any]]) -> tuple[str, str | None]:
    """One message naming each bad field, and the first field."""
    parts = []
    for error in errors:
        where = _where(error.get("loc", ()))
        parts.append(f"{where}: {_message(error)}")
    first = _where(errors[0].get("loc", ())) if errors else None
    field = None if first in (None, "(body)") or (first or "").startswith("header ") else first
    if first and first.startswith("header "):
        field = first.removeprefix("header ")
    return "; ".join(parts) or "the request is not valid", field


async def _validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    code = (
        "malformed_json"
        if any(e.get("type") == "json_invalid" for e in errors)
        else ("invalid_request")
    )
    message, field = validation_message(errors)
    return error_response(422, code, message, field=field)


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = str(exc.detail)
    if exc.status_code == 400 and message == "There was an error parsing the body":
        # FastAPI's answer to a body that is not JSON text at all (e.g. not UTF-8).
        return error_response(
            422, "malformed_json", "the body is not valid JSON (it is not UTF-8 JSON text)"
        )
    if exc.status_code == 404 and message == "Not Found":
        message = f"no route {request.url.path!r}"
    elif exc.status_code == 405:
        message = f"method {request.method} is not allowed on {request.url.path!r}"
    return error_response(exc.status_code, code, message, headers=exc.headers)


async def _api(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return error_response(exc.status, exc.code, exc.message, field=exc.field, headers=headers)


async def _scanhook(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ScanhookError)
    if isinstance(exc, InvalidNotification):
        field = str(exc.problems[0]["field"]) if exc.problems else None
        return error_response(
            422, "invalid_notification", exc.message, field=field, problems=exc.problems
        )
    if isinstance(exc, InvalidRequest):
        return error_response(422, "invalid_request", exc.message, field=exc.field)
    if isinstance(exc, NotFound):
        return error_response(404, "not_found", exc.message)
    if isinstance(exc, ConflictError):
        return error_response(409, "conflict", exc.message)
    if isinstance(exc, StorageFull):
        log.error("the database's disk is full", path=request.url.path, error=exc.message)
        return error_response(
            503,
            "storage_full",
            "the database's disk is full, nothing was changed; retry once the operator has "
            f"freed space: {exc.message}",
            headers={"Retry-After": "5"},
        )
    if isinstance(exc, DatabaseError):
        log.error("database error", path=request.url.path, error=exc.message)
        return error_response(
            503,
            "database_unavailable",
            f"the database is not available, nothing was changed: {exc.message}",
            headers={"Retry-After": "5"},
        )
    log.error("scanhook error", path=request.url.path, error=exc.message)
    return error_response(500, "internal_error", exc.message)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", path=request.url.path, exc_info=exc)
    return error_response(
        500, "internal_error", "an unexpected error occurred; the server log has the details"
    )


def install_error_handlers(app: FastAPI) -> None:
    """Route every error to the documented JSON shape."""
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(ApiError, _api)
    app.add_exception_handler(ScanhookError, _scanhook)
    app.add_exception_handler(Exception, _unexpected)


_DESCRIPTIONS = {
    401: "Missing or invalid bearer token.",
    404: "No such object.",
    409: "The request conflicts with the object's state.",
    413: "The request body is larger than 1 MiB.",
    422: "The request is not valid: the message names the field and the problem.",
    503: "The database is not available or its disk is full; nothing was changed.",
}


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the given error statuses, each with the error shape."""
    return {s: {"model": ErrorResponse, "description": _DESCRIPTIONS[s]} for s in statuses}
