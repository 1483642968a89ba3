"""The store's records as the JSON the HTTP API answers with, so that a command prints the same
thing whether it opened the database or asked a running service."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from scanhook.delivery.http import HttpResult
from scanhook.store.records import AttemptRecord, DeliveryRecord, Endpoint, EventRecord

__all__ = ["attempt_view", "delivery_view", "endpoint_view", "event_view", "iso", "test_view"]


def iso(moment: float | None) -> str | None:
    """Unix seconds as ISO 8601 in UTC, or None."""
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).isoformat().replace("+00:00", "Z")


def _mask_auth(auth: Any) -> Any:
    if not isinstance(auth, dict):
        return auth
    return {
        k: ("***" if k not in ("type", "username", "header", "name") else v)
        for k, v in auth.items()
    }


def endpoint_view(endpoint: Endpoint, *, with_secret: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": endpoint.id,
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": list(endpoint.event_types),
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "format": endpoint.format,
        "format_options": dict(endpoint.format_options),
        "filter": endpoint.filter,
        "headers": dict(endpoint.headers),
        "legacy_headers": endpoint.legacy_headers,
        "auth": _mask_auth(endpoint.auth),
        "timeout": endpoint.timeout,
        "max_in_flight": endpoint.max_in_flight,
        "rate_limit": endpoint.rate_limit,
        "ordered": endpoint.ordered,
        "created_at": iso(endpoint.created_at),
        "updated_at": iso(endpoint.updated_at),
        "consecutive_failures": endpoint.consecutive_failures,
        "failing_since": iso(endpoint.failing_since),
        "last_success_at": iso(endpoint.last_success_at),
        "circuit_open_until": iso(endpoint.circuit_open_until),
    }
    if with_secret:
        view["secret"] = endpoint.secrets[0].value if endpoint.secrets else None
    return view


def attempt_view(attempt: AttemptRecord) -> dict[str, Any]:
    return {
        "number": attempt.number,
        "started_at": iso(attempt.started_at),
        "duration_ms": round(attempt.duration_ms, 1),
        "status_code": attempt.status_code,
        "error_kind": attempt.error_kind,
        "error": attempt.error,
        "response_body": attempt.response_body,
    }


def delivery_view(delivery: DeliveryRecord) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "event_id": delivery.event_id,
        "endpoint_id": delivery.endpoint_id,
        "event_type": delivery.event_type,
        "status": delivery.status,
        "attempts": [attempt_view(a) for a in delivery.attempt_log],
        "attempt_count": delivery.attempts,
        "next_attempt_at": iso(delivery.next_attempt_at),
        "created_at": iso(delivery.created_at),
        "updated_at": iso(delivery.updated_at),
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
    }


def event_view(event: EventRecord) -> dict[str, Any]:
    return {
        "id": event.id,
        "type": event.type,
        "created_at": iso(event.created_at),
        "idempotency_key": event.idempotency_key,
        "payload": json.loads(event.body),
        "deliveries": [delivery_view(d) for d in event.deliveries],
    }


def test_view(result: HttpResult) -> dict[str, Any]:
    return {
        "succeeded": result.succeeded,
        "status_code": result.status_code,
        "duration_ms": round(result.duration_ms, 1),
        "error": result.error,
        "response_body": result.body[:4096].decode("utf-8", "replace"),
    }
