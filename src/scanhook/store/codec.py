"""Conversions between table rows and the records of :mod:`scanhook.store.records`.

An endpoint's secrets are sealed in its row (see :mod:`scanhook.store.secretbox`): each signing
secret's value, the whole ``auth`` object but its type (``{"type": …, "sealed": …}``), and the
value of each header named in ``secret_headers``. Writing a row seals them with the store's key
ring; reading one opens them, or, without a ring, leaves them out (routing and planning read
endpoints without their secrets).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Row

from scanhook.store.records import (
    AttemptRecord,
    DeliveryRecord,
    DeliveryStatus,
    Endpoint,
    EndpointSecret,
    is_secret_header,
)
from scanhook.store.secretbox import KeyRing

__all__ = [
    "attempt_from_row",
    "delivery_from_row",
    "endpoint_config_values",
    "endpoint_from_row",
    "endpoint_values",
    "open_auth",
    "open_headers",
    "open_secrets",
    "seal_auth",
    "seal_headers",
    "seal_secrets",
    "sealed_where",
]


def sealed_where(endpoint_id: str, field: str) -> str:
    """What a sealed value is bound to: its endpoint and field (``header <name>`` for a
    header)."""
    return f"endpoint {endpoint_id} {field}"


def seal_secrets(
    keys: KeyRing, endpoint_id: str, secrets: Sequence[EndpointSecret]
) -> list[dict[str, Any]]:
    """The ``secrets`` column of signing secrets: each value sealed."""
    where = sealed_where(endpoint_id, "secrets")
    return [{"value": keys.seal(s.value, where), "expires_at": s.expires_at} for s in secrets]


def open_secrets(keys: KeyRing, endpoint_id: str, value: Any) -> tuple[EndpointSecret, ...]:
    where = sealed_where(endpoint_id, "secrets")
    return tuple(
        EndpointSecret(value=keys.open(item["value"], where), expires_at=item.get("expires_at"))
        for item in value or ()
    )


def seal_auth(
    keys: KeyRing, endpoint_id: str, auth: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """The ``auth`` column: its type in the clear, the whole object sealed."""
    if auth is None:
        return None
    sealed = keys.seal(json.dumps(dict(auth)), sealed_where(endpoint_id, "auth"))
    return {"type": auth.get("type"), "sealed": sealed}


def open_auth(keys: KeyRing, endpoint_id: str, value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    opened: dict[str, Any] = json.loads(
        keys.open(value["sealed"], sealed_where(endpoint_id, "auth"))
    )
    return opened


def seal_headers(
    keys: KeyRing, endpoint_id: str, headers: Mapping[str, str], secret: Sequence[str]
) -> dict[str, str]:
    """The ``headers`` column: the values of the ``secret`` headers sealed."""
    return {
        name: keys.seal(value, sealed_where(endpoint_id, f"header {name}"))
        if is_secret_header(name, secret)
        else value
        for name, value in headers.items()
    }


def open_headers(
    keys: KeyRing | None, endpoint_id: str, headers: Mapping[str, str], secret: Sequence[str]
) -> dict[str, str]:
    """The headers of a ``headers`` column; without ``keys``, the secret ones left out."""
    opened = {}
    for name, value in headers.items():
        if not is_secret_header(name, secret):
            opened[name] = value
        elif keys is not None:
            opened[name] = keys.open(value, sealed_where(endpoint_id, f"header {name}"))
    return opened


def endpoint_config_values(endpoint: Endpoint, keys: KeyRing) -> dict[str, Any]:
    """The configuration columns of ``endpoint``, its secrets sealed with ``keys``."""
    return {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": list(endpoint.event_types),
        "secrets": seal_secrets(keys, endpoint.id, endpoint.secrets),
        "headers": seal_headers(keys, endpoint.id, endpoint.headers, endpoint.secret_headers),
        "legacy_headers": endpoint.legacy_headers,
        "timeout": endpoint.timeout,
        "max_in_flight": endpoint.max_in_flight,
        "rate_limit": endpoint.rate_limit,
        "ordered": endpoint.ordered,
        "format": endpoint.format,
        "format_options": dict(endpoint.format_options),
        "filter": endpoint.filter,
        "auth": seal_auth(keys, endpoint.id, endpoint.auth),
        "secret_headers": list(endpoint.secret_headers),
    }


def endpoint_values(endpoint: Endpoint, keys: KeyRing) -> dict[str, Any]:
    """Every column of ``endpoint`` for an insert (the token bucket starts full)."""
    values = endpoint_config_values(endpoint, keys)
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


def endpoint_from_row(row: Row[Any] | Mapping[str, Any], keys: KeyRing | None) -> Endpoint:
    """The :class:`Endpoint` of an ``endpoints`` row, its secrets opened with ``keys``. With
    ``keys`` None, without its secrets (no signing secret, no ``auth``, no secret header):
    enough to route events and plan claims, and no decryption."""
    m = cast(Mapping[str, Any], row._mapping if isinstance(row, Row) else row)
    endpoint_id = m["id"]
    secret_headers = tuple(m["secret_headers"] or ())
    return Endpoint(
        id=endpoint_id,
        url=m["url"],
        description=m["description"],
        event_types=tuple(m["event_types"]),
        secrets=open_secrets(keys, endpoint_id, m["secrets"]) if keys is not None else (),
        enabled=bool(m["enabled"]),
        disabled_reason=m["disabled_reason"],
        headers=open_headers(keys, endpoint_id, m["headers"] or {}, secret_headers),
        secret_headers=secret_headers,
        legacy_headers=bool(m["legacy_headers"]),
        timeout=m["timeout"],
        max_in_flight=m["max_in_flight"],
        rate_limit=m["rate_limit"],
        ordered=bool(m["ordered"]),
        format=m["format"],
        format_options=dict(m["format_options"] or {}),
        filter=m["filter"],
        auth=open_auth(keys, endpoint_id, m["auth"]) if keys is not None else None,
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
