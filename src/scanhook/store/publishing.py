"""Publishing: events, their idempotency keys and one pending delivery per matching endpoint,
written in the caller's transaction with bulk statements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection

from scanhook import routing
from scanhook.errors import ConflictError
from scanhook.store import queries as q
from scanhook.store.codec import endpoint_from_row
from scanhook.store.ids import new_id
from scanhook.store.records import NewEvent, PublishResult, StorePolicy

__all__ = ["publish"]


def _claim_keys(
    connection: Connection, firsts: dict[str, NewEvent], policy: StorePolicy
) -> dict[str, str | None]:
    """Claim the batch's idempotency keys: key -> None when this batch won it (its event is
    new), else the id of the event published under it within the window."""
    owners: dict[str, str | None] = {}
    todo = sorted(firsts)
    for _ in range(3):
        if not todo:
            break
        rows = [
            {"key": k, "event_id": firsts[k].id, "created_at": firsts[k].created_at} for k in todo
        ]
        won = set(
            connection.execute(
                q.claim_idempotency_keys(connection.dialect.name, rows),
                {"window": policy.idempotency_window},
            ).scalars()
        )
        owners.update(dict.fromkeys(won))
        lost = [k for k in todo if k not in won]
        if lost:
            for row in connection.execute(q.IDEMPOTENCY_KEYS, {"keys": lost}):
                owners[row.key] = row.event_id
        # A key pruned between the two statements is claimed again.
        todo = [k for k in lost if k not in owners]
    if todo:
        raise ConflictError(f"idempotency key {todo[0]!r}: changed concurrently; try again")
    return owners


def publish(
    connection: Connection, events: Sequence[NewEvent], policy: StorePolicy
) -> list[PublishResult]:
    """Store ``events`` (see :meth:`scanhook.store.base.Store.publish`).

    Idempotency keys are claimed first with one ``INSERT … ON CONFLICT`` (which takes over a key
    older than the window), so concurrent publishes with one key create one event: the loser
    waits for the winner's commit and answers with its event.
    """
    if not events:
        return []
    firsts: dict[str, NewEvent] = {}
    for event in events:
        if event.idempotency_key is not None:
            firsts.setdefault(event.idempotency_key, event)
    owners = _claim_keys(connection, firsts, policy) if firsts else {}
    # Routing needs no secret: endpoints are read without them (nothing is decrypted).
    endpoints = [endpoint_from_row(row, None) for row in connection.execute(q.ENABLED_ENDPOINTS)]
    results: list[PublishResult] = []
    event_rows: list[dict[str, Any]] = []
    delivery_rows: list[dict[str, Any]] = []
    first_in_batch: dict[str, PublishResult] = {}
    for event in events:
        key = event.idempotency_key
        if key is not None:
            if key in first_in_batch:
                first = first_in_batch[key]
                results.append(PublishResult(first.event_id, first.deliveries, duplicate=True))
                continue
            owner = owners[key]
            if owner is not None:
                count = connection.execute(
                    q.COUNT_EVENT_DELIVERIES, {"event_id": owner}
                ).scalar_one()
                result = PublishResult(owner, count, duplicate=True)
                first_in_batch[key] = result
                results.append(result)
                continue
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
    return results
