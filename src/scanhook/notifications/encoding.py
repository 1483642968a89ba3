"""The wire encoding (docs/notifications.md): one JSON object with one top-level key,
``json.dumps`` with its default separators, UTF-8."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, tzinfo
from typing import Any

from pydantic import ValidationError

from scanhook.errors import InvalidNotification
from scanhook.notifications.models import PAYLOAD_MODELS, EventType, Notification

__all__ = ["encode", "event_type", "parse", "to_wire"]

_MAX_VALUE_REPR = 80


def to_wire(notification: Notification, tz: tzinfo = UTC) -> dict[str, Any]:
    """The JSON-ready object of ``notification``: ``{"finished_scan": {…}}``."""
    body = notification.model_dump(mode="json", context={"tz": tz})
    return {notification.KEY: body}


def encode(notification: Notification, tz: tzinfo = UTC) -> bytes:
    """The request body of ``notification``, as the seed's system sends it."""
    return json.dumps(to_wire(notification, tz)).encode("utf-8")


def event_type(notification: Notification) -> EventType:
    """``scheduled_scan``, ``finished_scan``, ``ticket.opened`` or ``ticket.closed``."""
    return notification.event_type


def _short(value: object) -> object:
    text = repr(value)
    return value if len(text) <= _MAX_VALUE_REPR else text[: _MAX_VALUE_REPR - 1] + "…"


def _problems(key: str, exc: ValidationError) -> list[dict[str, object]]:
    problems: list[dict[str, object]] = []
    for error in exc.errors(include_url=False):
        loc = ".".join(str(part) for part in error["loc"])
        field = f"{key}.{loc}" if loc else key
        message = error["msg"].removeprefix("Value error, ")
        problem: dict[str, object] = {"field": field, "message": message}
        if error["type"] != "missing":
            problem["value"] = _short(error.get("input"))
            shown = repr(_short(error.get("input")))
            if shown not in message:
                message = f"{message} (got {shown})"
        if error["type"] == "missing":
            message = "field required"
        elif error["type"] == "extra_forbidden":
            message = f"unknown field (allowed: {', '.join(_allowed(key))})"
        problem["message"] = message
        problems.append(problem)
    return problems


def _allowed(key: str) -> list[str]:
    return list(PAYLOAD_MODELS[key].model_fields)


def parse(data: bytes | str | Mapping[str, Any], tz: tzinfo = UTC) -> Notification:
    """A notification from its wire form (bytes, text or a decoded object).

    Raises :class:`~scanhook.errors.InvalidNotification` naming every offending field.
    """
    if isinstance(data, bytes | str):
        try:
            data = json.loads(data)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            # RecursionError: arrays or objects nested too deep for the parser.
            raise InvalidNotification(
                [{"field": "(body)", "message": f"not valid JSON: {exc}"}]
            ) from None
    if not isinstance(data, Mapping):
        raise InvalidNotification(
            [
                {
                    "field": "(body)",
                    "message": "a notification is a JSON object with one key, one of "
                    + ", ".join(PAYLOAD_MODELS)
                    + f" (got {_short(data)!r})",
                    "value": _short(data),
                }
            ]
        )
    keys = list(data)
    if len(keys) != 1 or keys[0] not in PAYLOAD_MODELS:
        unknown = [k for k in keys if k not in PAYLOAD_MODELS]
        if unknown:
            message = f"unknown notification {unknown[0]!r}: expected one of " + ", ".join(
                PAYLOAD_MODELS
            )
        elif not keys:
            message = "empty object: expected one of " + ", ".join(PAYLOAD_MODELS)
        else:
            message = "a notification has exactly one top-level key, got " + ", ".join(keys)
        raise InvalidNotification(
            [{"field": unknown[0] if unknown else "(body)", "message": message}]
        )
    key = keys[0]
    body = data[key]
    if not isinstance(body, Mapping):
        raise InvalidNotification(
            [
                {
                    "field": key,
                    "message": f"must be a JSON object (got {_short(body)!r})",
                    "value": _short(body),
                }
            ]
        )
    try:
        return PAYLOAD_MODELS[key].model_validate(dict(body), context={"tz": tz})
    except ValidationError as exc:
        raise InvalidNotification(_problems(key, exc)) from None
