"""JSON Schemas (draft 2020-12) of the notifications as they go on the wire, made from the models.

Each schema describes the whole request body: an object with exactly one top-level key whose
value is the payload. The committed copies under ``schemas/`` are :func:`render` of these; a test
fails when they drift (regenerate with ``scanhook schema --write schemas/``).

The schemas describe what scanhook *sends*. The models accept a little more from producers
(ISO 8601 timestamps, an omitted ``duration``, ``errors`` as a list) and normalise it.
"""

from __future__ import annotations

import json
from typing import Any, Final

from scanhook.notifications.models import PAYLOAD_MODELS

__all__ = [
    "SCHEMA_BASE_URL",
    "SCHEMA_DIALECT",
    "all_schemas",
    "file_name",
    "json_schema",
    "notification_schema",
    "render",
    "schema_key",
]

SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_BASE_URL: Final = "https://scanhook.dev/schemas/"
#: The name of the schema that accepts any of the three notifications.
ANY_NOTIFICATION: Final = "notification"

_TITLES: Final = {
    "scheduled_scan": "scanhook scheduled_scan notification",
    "finished_scan": "scanhook finished_scan notification",
    "ticket": "scanhook ticket notification (ticket.opened, ticket.closed)",
}
_DESCRIPTIONS: Final = {
    "scheduled_scan": "Body of the POST sent before a scheduled scan starts "
    "(event type scheduled_scan).",
    "finished_scan": "Body of the POST sent when a scan has finished (event type finished_scan).",
    "ticket": 'Body of the POST sent when a ticket is opened (status "Open", event type '
    'ticket.opened) or closed (status "Closed …", event type ticket.closed).',
}


def schema_key(name: str) -> str:
    """The top-level key for ``name``: a key itself, or an event type (``ticket.closed``)."""
    if name in PAYLOAD_MODELS:
        return name
    if name in ("ticket.opened", "ticket.closed"):
        return "ticket"
    raise ValueError(
        f"unknown notification type {name!r}: expected one of "
        + ", ".join([*PAYLOAD_MODELS, "ticket.opened", "ticket.closed"])
    )


def file_name(key: str) -> str:
    """``finished_scan.schema.json``."""
    return f"{key}.schema.json"


def json_schema(key: str) -> dict[str, Any]:
    """The schema of the notification whose top-level key (or event type) is ``key``."""
    key = schema_key(key)
    payload = PAYLOAD_MODELS[key].model_json_schema(mode="serialization")
    defs = payload.pop("$defs", None)
    schema: dict[str, Any] = {
        "$schema": SCHEMA_DIALECT,
        "$id": SCHEMA_BASE_URL + file_name(key),
        "title": _TITLES[key],
        "description": _DESCRIPTIONS[key],
        "type": "object",
        "properties": {key: payload},
        "required": [key],
        "additionalProperties": False,
    }
    if defs:
        schema["$defs"] = defs
    return schema


def notification_schema() -> dict[str, Any]:
    """One schema that accepts any of the notifications (exactly one of them)."""
    variants = []
    for key in PAYLOAD_MODELS:
        variant = json_schema(key)
        del variant["$schema"]  # an embedded resource shares the root's dialect
        variants.append(variant)
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": SCHEMA_BASE_URL + file_name(ANY_NOTIFICATION),
        "title": "scanhook notification",
        "description": "Body of any POST that scanhook delivers in the raw format: exactly one "
        "of " + ", ".join(PAYLOAD_MODELS) + ".",
        "oneOf": variants,
    }


def all_schemas() -> dict[str, dict[str, Any]]:
    """Every schema by name: the three notifications and ``notification`` (any of them)."""
    schemas = {key: json_schema(key) for key in PAYLOAD_MODELS}
    schemas[ANY_NOTIFICATION] = notification_schema()
    return schemas


def render(schema: dict[str, Any]) -> str:
    """The committed text of ``schema``: sorted keys, two-space indent, a final newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
