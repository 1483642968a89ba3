"""The few fields of a notification that tell a person what happened, for one-line displays."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["decode_body", "key_fields"]

_KEY_FIELDS: dict[str, tuple[str, ...]] = {
    "scheduled_scan": ("name", "type", "starts_at"),
    "finished_scan": (
        "name",
        "type",
        "status",
        "duration",
        "critical_cnt",
        "high_cnt",
        "medium_cnt",
        "low_cnt",
    ),
    "ticket": ("number", "status", "severity", "vulnerability_name", "asset_name", "due_date"),
}


def decode_body(body: bytes) -> Any:
    """The body as JSON, or None when it is not JSON."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deep
        return None


def key_fields(payload: Any) -> dict[str, Any]:
    """``{"name": "Daily scan", …}`` for a raw notification; {} for anything else."""
    if not isinstance(payload, dict) or len(payload) != 1:
        return {}
    ((key, fields),) = payload.items()
    if key not in _KEY_FIELDS or not isinstance(fields, dict):
        return {}
    return {name: fields[name] for name in _KEY_FIELDS[key] if name in fields}
