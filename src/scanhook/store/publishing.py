"""Publishing: events, their idempotency keys and one pending delivery per matching endpoint,
written in the caller's transaction with bulk statements.

Which endpoints each event goes to (:class:`Routes`) is worked out *before* the write
transaction, from the enabled endpoints as a read transaction saw them (:func:`read_endpoints`,
:func:`route`; the store keeps the last ones it read): evaluating filters never holds the write
lock. The write transaction then reads only the enabled endpoints' ids and ``config_version``
(which every change of an endpoint's configuration bumps); when they differ from those the routes
were computed from, an endpoint was created, changed, enabled, disabled or deleted since (by this
process or another), and :class:`RoutesChanged` rolls the transaction back for the caller to read
the endpoints again and route again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from scanhook import routing
from scanhook.errors import ConflictError, ScanhookError
from scanhook.store import queries as q
from scanhook.store.codec import endpoint_from_row
from scanhook.store.ids import new_id
from scanhook.store.records import Endpoint, NewEvent, PublishResult, StorePolicy

__all__ = [
    "EnabledEndpoints",
    "Routes",
    "RoutesChanged",
    "publish",
    "read_endpoints",
    "route",
]

#: Each enabled endpoint's id and configuration version, in id order.
Versions = tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class EnabledEndpoints:
    """The enabled endpoints, as one read transaction saw them."""

    endpoints: tuple[Endpoint, ...]
    versions: Versions


@dataclass(frozen=True, slots=True)
class Routes:
    """The endpoint ids each event (by id) goes to, worked out from the endpoints at
    ``versions``."""

    versions: Versions
    targets: dict[str, tuple[str, ...]]


class RoutesChanged(ScanhookError):
    """The enabled endpoints changed between routing and the publish's write transaction."""


def read_endpoints(connection: Connection) -> EnabledEndpoints:
    """The enabled endpoints and their configuration versions (a read transaction's body)."""
    rows = connection.execute(q.ENABLED_ENDPOINTS).all()
    return EnabledEndpoints(
        # Routing needs no secret: endpoints are read without them (nothing is decrypted).
        tuple(endpoint_from_row(row, None) for row in rows),
        tuple((row.id, row.config_version) for row in rows),
    )


def route(enabled: EnabledEndpoints, events: Sequence[NewEvent]) -> Routes:
    """Which of ``enabled`` each event goes to: event types and filters (pure, no I/O)."""
    return Routes(
        enabled.versions,
        {
            event.id: tuple(
                endpoint.id
                for endpoint in enabled.endpoints
                if routing.matches(endpoint, event.type, event.notification)
            )
            for event in events
        },
    )


def _current_routes(
    connection: Connection, events: Sequence[NewEvent], routes: Routes | None
) -> Routes:
    """``routes`` when the enabled endpoints are still those they were computed from, else
    RoutesChanged; with no ``routes``, routes computed here, inside the transaction."""
    if routes is None:
        return route(read_endpoints(connection), events)
    versions = tuple(
        (row.id, row.config_version) for row in connection.execute(q.ENABLED_ENDPOINT_VERSIONS)
    )
    if versions != routes.versions:
        raise RoutesChanged("the enabled endpoints changed while the events were routed")
    return routes


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
    connection: Connection,
    events: Sequence[NewEvent],
    policy: StorePolicy,
    routes: Routes | None = None,
) -> list[PublishResult]:
    """Store ``events`` (see :meth:`scanhook.store.base.Store.publish`) with one delivery per
    endpoint ``routes`` sends each to; RoutesChanged (nothing written) when the enabled endpoints
    are no longer those ``routes`` was computed from. Without ``routes`` (the last resort when
    endpoints keep changing), the events are routed here, in the transaction.

    Idempotency keys are claimed first with one ``INSERT … ON CONFLICT`` (which takes over a key
    older than the window), so concurrent publishes with one key create one event: the loser
    waits for the winner's commit and answers with its event.
    """
    if not events:
        return []
    routes = _current_routes(connection, events, routes)
    firsts: dict[str, NewEvent] = {}
    for event in events:
        if event.idempotency_key is not None:
            firsts.setdefault(event.idempotency_key, event)
    owners = _claim_keys(connection, firsts, policy) if firsts else {}
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
        targets = routes.targets[event.id]
        for endpoint_id in targets:
            delivery_rows.append(
                {
                    "id": new_id("dlv_"),
                    "event_id": event.id,
                    "endpoint_id": endpoint_id,
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
