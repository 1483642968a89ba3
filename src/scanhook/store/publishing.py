"""Publishing: events, their idempotency keys and one pending delivery per matching endpoint,
written in the caller's transaction with bulk statements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection

from scanhook import routing
from scanhook.store import queries as q
from scanhook.store.codec import endpoint_from_row
from scanhook.store.ids import new_id
from scanhook.store.records import NewEvent, PublishResult, StorePolicy

__all__ = ["publish"]


def publish(
    connection: Connection, events: Sequence[NewEvent], policy: StorePolicy
) -> list[PublishResult]:
    """Store ``events`` (see :meth:`scanhook.store.base.Store.publish`)."""
    if not events:
        return []
    endpoints = [endpoint_from_row(row) for row in connection.execute(q.ENABLED_ENDPOINTS)]
    keys = sorted({e.idempotency_key for e in events if e.idempotency_key is not None})
    known = (
        {row.key: row for row in connection.execute(q.IDEMPOTENCY_KEYS, {"keys": keys})}
        if keys
        else {}
    )
    results: list[PublishResult] = []
    event_rows: list[dict[str, Any]] = []
    delivery_rows: list[dict[str, Any]] = []
    stale_keys: list[dict[str, Any]] = []
    new_keys: list[dict[str, Any]] = []
    first_in_batch: dict[str, PublishResult] = {}
    for event in events:
        key = event.idempotency_key
        if key is not None:
            if key in first_in_batch:
                first = first_in_batch[key]
                results.append(PublishResult(first.event_id, first.deliveries, duplicate=True))
                continue
            seen = known.get(key)
            if seen is not None and seen.created_at >= event.created_at - policy.idempotency_window:
                count = connection.execute(
                    q.COUNT_EVENT_DELIVERIES, {"event_id": seen.event_id}
                ).scalar_one()
                results.append(PublishResult(seen.event_id, count, duplicate=True))
                continue
            if seen is not None:
                stale_keys.append({"key": key})
            new_keys.append({"key": key, "event_id": event.id, "created_at": event.created_at})
        event_rows.append(
            {
                "id": event.id,
                "type": event.type,
                "body": event.body,
                "created_at": event.created_at,
                "idempotency_key": key,
            }
        )
        targets = [ep for ep in endpoints if routing.matches(ep, event.type, event.notification)]
        for endpoint in targets:
            delivery_rows.append(
                {
                    "id": new_id("dlv_"),
                    "event_id": event.id,
                    "endpoint_id": endpoint.id,
                    "event_type": event.type,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": event.created_at,
                    "lease_until": None,
                    "leased_by": None,
                    "last_status_code": None,
                    "last_error": None,
                    "created_at": event.created_at,
                    "updated_at": event.created_at,
                }
            )
        result = PublishResult(event.id, len(targets))
        if key is not None:
            first_in_batch[key] = result
        results.append(result)

    if event_rows:
        connection.execute(q.INSERT_EVENT, event_rows)
    if delivery_rows:
        last = connection.execute(q.BUMP_PUBLISH_SEQUENCE, {"n": len(delivery_rows)}).scalar_one()
        for seq, row in enumerate(delivery_rows, start=last - len(delivery_rows) + 1):
            row["publish_seq"] = seq
        connection.execute(q.INSERT_DELIVERY, delivery_rows)
    if stale_keys:
        connection.execute(q.DELETE_IDEMPOTENCY_KEY, stale_keys)
    if new_keys:
        connection.execute(q.INSERT_IDEMPOTENCY_KEY, new_keys)
    return results
