"""Conversions between table rows and the records of :mod:`scanhook.store.records`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import Row

from scanhook.store.records import (
    AttemptRecord,
    DeliveryRecord,
    DeliveryStatus,
    Endpoint,
    EndpointSecret,
)

__all__ = [
    "CONFIG_FIELDS",
    "attempt_from_row",
    "delivery_from_row",
    "endpoint_config_values",
    "endpoint_from_row",
    "endpoint_values",
]

#: The endpoint fields users set (update_endpoint writes these, never the health fields).
CONFIG_FIELDS = (
    "url",
    "description",
    "event_types",
    "secrets",
    "headers",
    "legacy_headers",
    "timeout",
    "max_in_flight",
    "rate_limit",
    "ordered",
    "format",
    "format_options",
    "filter",
    "auth",
)


def _secrets_to_json(secrets: tuple[EndpointSecret, ...]) -> list[dict[str, Any]]:
    return [{"value": s.value, "expires_at": s.expires_at} for s in secrets]


def _secrets_from_json(value: Any) -> tuple[EndpointSecret, ...]:
    return tuple(
        EndpointSecret(value=item["value"], expires_at=item.get("expires_at"))
        for item in value or ()
    )


def endpoint_config_values(endpoint: Endpoint) -> dict[str, Any]:
    """The configuration columns of ``endpoint``."""
    return {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": list(endpoint.event_types),
        "secrets": _secrets_to_json(endpoint.secrets),
        "headers": dict(endpoint.headers),
        "legacy_headers": endpoint.legacy_headers,
        "timeout": endpoint.timeout,
        "max_in_flight": endpoint.max_in_flight,
        "rate_limit": endpoint.rate_limit,
        "ordered": endpoint.ordered,
        "format": endpoint.format,
        "format_options": dict(endpoint.format_options),
        "filter": endpoint.filter,
        "auth": dict(endpoint.auth) if endpoint.auth is not None else None,
    }


def endpoint_values(endpoint: Endpoint) -> dict[str, Any]:
    """Every column of ``endpoint`` for an insert (the token bucket starts full)."""
    values = endpoint_config_values(endpoint)
    values.update(
        id=endpoint.id,
        enabled=endpoint.enabled,
        disabled_reason=endpoint.disabled_reason,
        created_at=endpoint.created_at,
        updated_at=endpoint.updated_at,
        consecutive_failures=endpoint.consecutive_failures,
        failing_since=endpoint.failing_since,
        last_success_at=endpoint.last_success_at,
        circuit_open_until=endpoint.circuit_open_until,
        circuit_opened_at=endpoint.circuit_opened_at,
        circuit_failed_probes=endpoint.circuit_failed_probes,
        circuit_reason=endpoint.circuit_reason,
        rate_tokens=None,
        rate_updated_at=None,
    )
    return values


def endpoint_from_row(row: Row[Any] | Mapping[str, Any]) -> Endpoint:
    """The :class:`Endpoint` of an ``endpoints`` row."""
    m = cast(Mapping[str, Any], row._mapping if isinstance(row, Row) else row)
    return Endpoint(
        id=m["id"],
        url=m["url"],
        description=m["description"],
        event_types=tuple(m["event_types"]),
        secrets=_secrets_from_json(m["secrets"]),
        enabled=bool(m["enabled"]),
        disabled_reason=m["disabled_reason"],
        headers=dict(m["headers"] or {}),
        legacy_headers=bool(m["legacy_headers"]),
        timeout=m["timeout"],
        max_in_flight=m["max_in_flight"],
        rate_limit=m["rate_limit"],
        ordered=bool(m["ordered"]),
        format=m["format"],
        format_options=dict(m["format_options"] or {}),
        filter=m["filter"],
        auth=dict(m["auth"]) if m["auth"] is not None else None,
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        consecutive_failures=m["consecutive_failures"],
        failing_since=m["failing_since"],
        last_success_at=m["last_success_at"],
        circuit_open_until=m["circuit_open_until"],
        circuit_opened_at=m["circuit_opened_at"],
        circuit_failed_probes=m["circuit_failed_probes"] or 0,
        circuit_reason=m["circuit_reason"],
    )


def attempt_from_row(row: Row[Any]) -> AttemptRecord:
    """The :class:`AttemptRecord` of an ``attempts`` row."""
    m = row._mapping
    return AttemptRecord(
        number=m["number"],
        started_at=m["started_at"],
        duration_ms=m["duration_ms"],
        status_code=m["status_code"],
        error_kind=m["error_kind"],
        error=m["error"],
        response_body=m["response_body"],
    )


def delivery_from_row(row: Row[Any], attempt_log: tuple[AttemptRecord, ...] = ()) -> DeliveryRecord:
    """The :class:`DeliveryRecord` of a ``deliveries`` row."""
    m = row._mapping
    return DeliveryRecord(
        id=m["id"],
        event_id=m["event_id"],
        endpoint_id=m["endpoint_id"],
        event_type=m["event_type"],
        status=cast(DeliveryStatus, m["status"]),
        attempts=m["attempts"],
        next_attempt_at=m["next_attempt_at"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        last_status_code=m["last_status_code"],
        last_error=m["last_error"],
        attempt_log=attempt_log,
    )
