"""Endpoints, reads and the operator's actions, each run in the caller's transaction."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from scanhook.errors import ConflictError, NotFound
from scanhook.store import queries as q
from scanhook.store.codec import (
    attempt_from_row,
    delivery_from_row,
    endpoint_config_values,
    endpoint_from_row,
    endpoint_values,
    seal_secrets,
)
from scanhook.store.ids import new_id
from scanhook.store.records import (
    DELIVERY_STATUSES,
    AttemptRecord,
    DeliveryRecord,
    DeliveryStatus,
    Endpoint,
    EndpointSecret,
    EventRecord,
    StorePolicy,
)
from scanhook.store.secretbox import keys_of

__all__ = [
    "create_endpoint",
    "delete_endpoint",
    "get_delivery",
    "get_endpoint",
    "get_event",
    "list_deliveries",
    "list_endpoints",
    "prune_batch",
    "replay",
    "retry_delivery",
    "set_endpoint_enabled",
    "set_endpoint_secrets",
    "stats",
    "update_endpoint",
]

_FINISHED: tuple[DeliveryStatus, ...] = ("succeeded", "failed")


# -- endpoints ---------------------------------------------------------------------------------
def get_endpoint(connection: Connection, endpoint_id: str) -> Endpoint:
    row = connection.execute(q.ENDPOINT_BY_ID, {"id": endpoint_id}).first()
    if row is None:
        raise NotFound(f"endpoint {endpoint_id!r}: no such endpoint")
    return endpoint_from_row(row, keys_of(connection))


def create_endpoint(connection: Connection, endpoint: Endpoint, now: float) -> Endpoint:
    values = endpoint_values(endpoint, keys_of(connection))
    values["id"] = endpoint.id or new_id("ep_")
    values["created_at"] = endpoint.created_at or now
    values["updated_at"] = endpoint.updated_at or values["created_at"]
    try:
        with connection.begin_nested():
            connection.execute(q.INSERT_ENDPOINT, values)
    except IntegrityError as exc:
        raise ConflictError(f"endpoint {values['id']!r}: an endpoint with this id exists") from exc
    return get_endpoint(connection, values["id"])


def list_endpoints(connection: Connection, after: str | None, limit: int) -> list[Endpoint]:
    keys = keys_of(connection)
    return [endpoint_from_row(r, keys) for r in connection.execute(q.list_endpoints(after, limit))]


def _enable_values(enabled: bool, reason: str | None) -> dict[str, Any]:
    if enabled:
        return {
            "enabled": True,
            "disabled_reason": None,
            "consecutive_failures": 0,
            "failing_since": None,
            "circuit_open_until": None,
            "circuit_opened_at": None,
            "circuit_failed_probes": 0,
            "circuit_reason": None,
        }
    return {"enabled": False, "disabled_reason": reason or "disabled by an operator"}


def update_endpoint(connection: Connection, endpoint: Endpoint, now: float) -> Endpoint:
    """Write the configuration (not the health). A change of ``enabled`` is applied as
    :func:`set_endpoint_enabled` would; a new rate limit starts with a full bucket."""
    current = get_endpoint(connection, endpoint.id)
    values: dict[str, Any] = endpoint_config_values(endpoint, keys_of(connection))
    values["updated_at"] = max(now, current.updated_at)
    if endpoint.rate_limit != current.rate_limit:
        values.update(rate_tokens=None, rate_updated_at=None)
    if endpoint.enabled != current.enabled:
        values.update(_enable_values(endpoint.enabled, endpoint.disabled_reason))
    connection.execute(q.update_endpoint(endpoint.id, values))
    return get_endpoint(connection, endpoint.id)


def delete_endpoint(connection: Connection, endpoint_id: str, now: float) -> None:
    get_endpoint(connection, endpoint_id)
    connection.execute(q.FAIL_ENDPOINT_DELIVERIES, {"b_endpoint_id": endpoint_id, "now": now})
    connection.execute(q.DELETE_ENDPOINT, {"id": endpoint_id})


def set_endpoint_enabled(
    connection: Connection, endpoint_id: str, enabled: bool, reason: str | None, now: float
) -> Endpoint:
    current = get_endpoint(connection, endpoint_id)
    values = _enable_values(enabled, reason)
    values["updated_at"] = max(now, current.updated_at)
    connection.execute(q.update_endpoint(endpoint_id, values))
    return get_endpoint(connection, endpoint_id)


def set_endpoint_secrets(
    connection: Connection, endpoint_id: str, secrets: Sequence[EndpointSecret], now: float
) -> Endpoint:
    current = get_endpoint(connection, endpoint_id)
    values = {
        "secrets": seal_secrets(keys_of(connection), endpoint_id, secrets),
        "updated_at": max(now, current.updated_at),
    }
    connection.execute(q.update_endpoint(endpoint_id, values))
    return get_endpoint(connection, endpoint_id)


# -- events and deliveries ---------------------------------------------------------------------
def _attempt_logs(
    connection: Connection, delivery_ids: list[str]
) -> dict[str, tuple[AttemptRecord, ...]]:
    logs: dict[str, list[AttemptRecord]] = {i: [] for i in delivery_ids}
    if delivery_ids:
        for row in connection.execute(q.ATTEMPTS_OF, {"ids": delivery_ids}):
            logs[row.delivery_id].append(attempt_from_row(row))
    return {i: tuple(log) for i, log in logs.items()}


def get_event(connection: Connection, event_id: str) -> EventRecord:
    row = connection.execute(q.EVENT_BY_ID, {"id": event_id}).first()
    if row is None:
        raise NotFound(f"event {event_id!r}: no such event")
    delivery_rows = connection.execute(q.EVENT_DELIVERIES, {"event_id": event_id}).all()
    logs = _attempt_logs(connection, [d.id for d in delivery_rows])
    return EventRecord(
        id=row.id,
        type=row.type,
        body=bytes(row.body),
        created_at=row.created_at,
        idempotency_key=row.idempotency_key,
        deliveries=tuple(delivery_from_row(d, logs[d.id]) for d in delivery_rows),
    )


def get_delivery(connection: Connection, delivery_id: str) -> DeliveryRecord:
    row = connection.execute(q.DELIVERY_BY_ID, {"id": delivery_id}).first()
    if row is None:
        raise NotFound(f"delivery {delivery_id!r}: no such delivery")
    return delivery_from_row(row, _attempt_logs(connection, [delivery_id])[delivery_id])


def list_deliveries(connection: Connection, **filters: Any) -> list[DeliveryRecord]:
    return [delivery_from_row(r) for r in connection.execute(q.list_deliveries(**filters))]


def retry_delivery(connection: Connection, delivery_id: str, now: float) -> DeliveryRecord:
    current = get_delivery(connection, delivery_id)
    if current.status == "succeeded":
        raise ConflictError(f"delivery {delivery_id!r}: it succeeded; replay it instead")
    row = connection.execute(q.DELIVERY_BY_ID, {"id": delivery_id}).one()
    if current.status == "sending" and row.lease_until is not None and row.lease_until >= now:
        raise ConflictError(f"delivery {delivery_id!r}: an attempt is in flight")
    if connection.execute(q.REQUEUE_DELIVERY, {"b_id": delivery_id, "now": now}).rowcount:
        # A failed delivery is unfinished again: an ordered endpoint's scan must see it.
        connection.execute(
            q.LOWER_FINISHED_BEFORE, {"b_id": row.endpoint_id, "b_seq": row.publish_seq}
        )
    return get_delivery(connection, delivery_id)


def replay(
    connection: Connection,
    endpoint_id: str,
    since: float | None,
    status: DeliveryStatus | None,
    now: float,
) -> int:
    get_endpoint(connection, endpoint_id)
    if status is None:
        statuses = _FINISHED
    elif status in _FINISHED:
        statuses = (status,)
    else:
        return 0  # only finished deliveries are replayed
    # Lock the endpoint first (records and claims of it wait or skip it), so that the rows
    # this finds are the rows the replay moves, and no claim moves the mark meanwhile.
    connection.execute(q.ENDPOINT_TO_LOCK, {"id": endpoint_id})
    cond = q.replayable(endpoint_id, since, statuses)
    first = connection.execute(q.first_seq_where(cond)).scalar()
    if first is None:
        return 0
    # They are unfinished again: an ordered endpoint's scan must start at the first of them.
    connection.execute(q.LOWER_FINISHED_BEFORE, {"b_id": endpoint_id, "b_seq": first})
    return connection.execute(q.replay(cond, now)).rowcount


def stats(
    connection: Connection, now: float, statuses: Sequence[str] = DELIVERY_STATUSES
) -> dict[str, object]:
    counts: dict[str, int] = dict.fromkeys(statuses, 0)
    every = set(statuses) >= set(DELIVERY_STATUSES)
    for status, count in connection.execute(
        q.COUNT_BY_STATUS if every else q.count_by_status(statuses)
    ):
        counts[status] = count
    oldest = connection.execute(q.OLDEST_DUE, {"now": now}).scalar()
    total, disabled, open_circuits = connection.execute(q.ENDPOINT_COUNTS, {"now": now}).one()
    return {
        "deliveries": counts,
        "oldest_due_age": None if oldest is None else max(0.0, now - oldest),
        "endpoints": {
            "total": int(total),
            "disabled": int(disabled),
            "open_circuits": int(open_circuits),
        },
    }


def prune_batch(
    connection: Connection, older_than: float, batch_size: int, policy: StorePolicy
) -> tuple[int, int]:
    """One batch of :meth:`Store.prune`: (deliveries removed, events and keys removed)."""
    ids = list(
        connection.execute(
            q.FINISHED_DELIVERIES_BEFORE, {"before": older_than, "limit": batch_size}
        ).scalars()
    )
    if ids:
        connection.execute(q.DELETE_ATTEMPTS_OF, {"ids": ids})
        connection.execute(q.DELETE_NOTES_OF, {"ids": ids})
        connection.execute(q.DELETE_DELIVERIES, {"ids": ids})
        return len(ids), 0
    event_ids = list(
        connection.execute(
            q.ORPHAN_EVENTS_BEFORE, {"before": older_than, "limit": batch_size}
        ).scalars()
    )
    if event_ids:
        connection.execute(q.DELETE_EVENTS, {"ids": event_ids})
        return 0, len(event_ids)
    keys = connection.execute(
        q.DELETE_EXPIRED_IDEMPOTENCY_KEYS, {"before": time.time() - policy.idempotency_window}
    ).rowcount
    return 0, 0 if keys is None else int(keys)
