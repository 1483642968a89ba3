"""Claiming due deliveries, and when the next one will be due, in the caller's transaction.

Endpoints are few, deliveries many: each enabled endpoint gets a handful of indexed queries
(range scans of (endpoint_id, status, …)), never a scan of the deliveries table.

On PostgreSQL several workers claim at once. A claim locks the endpoint rows it serves
(``FOR UPDATE SKIP LOCKED``) and computes their free slots under that lock, and locks the
delivery rows it takes the same way, so no two workers fill the same slots or lease the same
delivery; an endpoint another worker holds is skipped and counted in :attr:`ClaimRound.contended`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Row
from sqlalchemy.engine import Connection

from scanhook.store import queries as q
from scanhook.store.codec import endpoint_from_row
from scanhook.store.driver_sql import executemany, fetchall
from scanhook.store.records import ClaimedDelivery, Endpoint
from scanhook.store.rules import bucket_tokens, token_ready_at
from scanhook.store.secretbox import keys_of

__all__ = ["ClaimMemory", "ClaimRound", "claim", "claim_round", "next_due_at"]

#: A row of any statement (the claim reads its columns by name).
_Row = Row[*tuple[Any, ...]]


@dataclass(slots=True)
class _Plan:
    """What one endpoint may give in this claim."""

    #: Its ENDPOINTS_TO_CLAIM row (id, config_version and what planning needs).
    row: _Row
    capacity: int
    #: Rows with an expired lease, earliest lease first (claimed before pending rows).
    expired: list[str]
    tokens: float | None
    #: For an ordered endpoint: the one row it may give; None: query pending rows.
    only: list[str] | None = None
    taken: list[str] = field(default_factory=list)
    pending_taken: int = 0
    #: The rows DUE_PENDING read whole (q.CLAIM_COLUMNS), by id; the others are read later.
    rows: dict[str, Any] = field(default_factory=dict)
    #: Half-open circuit: the one row it may give is its probe (q.DUE_PROBE).
    probe: bool = False

    def fetch(self, connection: Connection, want: int, now: float) -> list[str]:
        got: list[str] = []
        if self.only is not None:
            got, self.only = self.only[:want], self.only[want:]
            return got
        while self.expired and len(got) < want:
            got.append(self.expired.pop(0))
        if len(got) < want:
            rows = fetchall(
                connection,
                q.DUE_PROBE if self.probe else q.DUE_PENDING,
                {
                    "endpoint_id": self.row.id,
                    "now": now,
                    "limit": want - len(got),
                    "offset": self.pending_taken,
                },
            )
            self.pending_taken += len(rows)
            for row in rows:
                got.append(row[0])
                self.rows[row[0]] = row
        return got


@dataclass(frozen=True, slots=True)
class ClaimRound:
    """What one claim transaction leased, and how many enabled endpoints it had to skip
    because another transaction held them (always 0 on SQLite)."""

    deliveries: list[ClaimedDelivery]
    contended: int


class _Contended(Exception):
    """An ordered endpoint's next row is locked by another transaction: skip it this round."""


def _plan(connection: Connection, row: _Row, now: float, counts: tuple[int, int]) -> _Plan | None:
    """What the endpoint of ``row`` may give; ``counts``: its rows in flight and its rows with
    an expired lease (:data:`q.SENDING_COUNTS`)."""
    circuit = row.circuit_open_until
    if circuit is not None and circuit > now:
        return None
    where = {"endpoint_id": row.id, "now": now}
    in_flight, expired_count = counts
    expired = (
        sorted(
            connection.execute(q.EXPIRED_OF_ENDPOINT, where),
            key=lambda s: (s.lease_until or 0.0, s.publish_seq),
        )
        if expired_count
        else []
    )
    if expired:
        free = set(
            connection.execute(
                q.EXPIRED_TO_RECLAIM, {"ids": [s.id for s in expired], "now": now}
            ).scalars()
        )
        if row.ordered and len(free) < len(expired):
            raise _Contended
        expired = [s for s in expired if s.id in free]
    capacity = row.max_in_flight - in_flight
    probe = circuit is not None
    if probe:  # half-open: one probe at a time
        capacity = min(capacity, 1 - in_flight)
    tokens = None
    if row.rate_limit is not None and row.rate_limit > 0:
        tokens = bucket_tokens(row.rate_tokens, row.rate_updated_at, row.rate_limit, now)
        capacity = min(capacity, math.floor(tokens))
    only = None
    if row.ordered:
        if in_flight:
            return None
        capacity = min(capacity, 1)
        only = _oldest_unfinished_if_due(connection, row, {s.id for s in expired}, now)
    if capacity <= 0 or only == []:
        return None
    return _Plan(row, capacity, [s.id for s in expired], tokens, only, probe=probe)


def _oldest_unfinished(connection: Connection, row: _Row) -> _Row | None:
    """An ordered endpoint's oldest delivery still pending or sending (None: all finished)."""
    return connection.execute(
        q.OLDEST_UNFINISHED, {"endpoint_id": row.id, "from_seq": row.finished_before_seq}
    ).first()


def _oldest_unfinished_if_due(
    connection: Connection, row: _Row, expired: set[str], now: float
) -> list[str]:
    """An ordered endpoint's oldest unfinished delivery, when it is due (none is in flight:
    if it is sending, its lease has expired and it is in ``expired``). Moves the endpoint's
    ``finished_before_seq`` up to it, so that the next scan starts there."""
    head = _oldest_unfinished(connection, row)
    if head is None:
        last = connection.execute(q.LAST_SEQ_OF_ENDPOINT, {"endpoint_id": row.id}).scalar()
        mark = None if last is None else last + 1
    else:
        mark = head.publish_seq
    if mark is not None and mark > row.finished_before_seq:
        connection.execute(q.RAISE_FINISHED_BEFORE, {"b_id": row.id, "b_seq": mark})
    if head is None:
        return []
    if head.status == "sending":
        return [head.id] if head.id in expired else []
    if head.next_attempt_at is not None and head.next_attempt_at <= now:
        return [head.id]
    return []


@dataclass
class ClaimMemory:
    """What a store keeps between its claims: where the next claim starts serving endpoints
    (just after the endpoint the previous one served first), and the configuration of the
    endpoints it claimed for, by id, with the ``config_version`` it was read at: a claim reads
    an endpoint's whole row (and decodes its JSON, and decrypts its secrets) again only when
    that changed."""

    after: str | None = None
    configs: dict[str, tuple[int, Endpoint]] = field(default_factory=dict)

    def configured(self, connection: Connection, rows: Sequence[_Row]) -> dict[str, Endpoint]:
        """The configuration of the endpoints of ``rows`` (ENDPOINTS_TO_CLAIM rows, locked by
        this claim on PostgreSQL, so they cannot change under it)."""
        configs = self.configs
        found: dict[str, Endpoint] = {}
        stale = []
        for row in rows:
            known = configs.get(row.id)
            if known is not None and known[0] == row.config_version:
                found[row.id] = known[1]
            else:
                stale.append(row.id)
        if stale:
            if len(configs) + len(stale) > _CONFIGS_MAX:
                configs.clear()
            keys = keys_of(connection)
            for full in connection.execute(q.ENDPOINTS_BY_IDS, {"ids": stale}):
                endpoint = _configuration(endpoint_from_row(full, keys))
                configs[full.id] = (full.config_version, endpoint)
                found[full.id] = endpoint
        return found


#: Endpoint configurations a :class:`ClaimMemory` keeps before it starts again.
_CONFIGS_MAX = 10_000


def _configuration(endpoint: Endpoint) -> Endpoint:
    """``endpoint`` without its health, which a claim does not keep current (the engine reads
    only the configuration of a claimed delivery's endpoint)."""
    return replace(
        endpoint,
        enabled=True,
        disabled_reason=None,
        consecutive_failures=0,
        failing_since=None,
        last_success_at=None,
        circuit_open_until=None,
        circuit_opened_at=None,
        circuit_failed_probes=0,
        circuit_reason=None,
    )


def claim(
    connection: Connection,
    worker_id: str,
    now: float,
    lease: float,
    limit: int,
    memory: ClaimMemory,
) -> list[ClaimedDelivery]:
    """Lease up to ``limit`` due deliveries, shared fairly among the endpoints that have some.

    ``memory`` (kept by the store between claims) turns the order in which endpoints are
    served, so that with a small ``limit`` no endpoint is always first, and keeps the
    endpoints' decoded configuration.
    """
    return claim_round(connection, worker_id, now, lease, limit, memory).deliveries


def claim_round(
    connection: Connection,
    worker_id: str,
    now: float,
    lease: float,
    limit: int,
    memory: ClaimMemory,
) -> ClaimRound:
    """:func:`claim`, telling also how many endpoints were skipped as held by others."""
    if limit <= 0:
        return ClaimRound([], 0)
    rows = connection.execute(q.ENDPOINTS_TO_CLAIM).all()
    contended = 0
    if connection.dialect.name == "postgresql":
        contended = connection.execute(q.ENABLED_ENDPOINT_COUNT).scalar_one() - len(rows)
    counts: dict[str, tuple[int, int]] = {}
    if rows:
        sending = connection.execute(q.SENDING_COUNTS, {"ids": [r.id for r in rows], "now": now})
        counts = {endpoint_id: (held, expired) for endpoint_id, held, expired in sending}
    plans: list[_Plan] = []
    for row in rows:
        try:
            plan = _plan(connection, row, now, counts.get(row.id, (0, 0)))
        except _Contended:
            contended += 1
            continue
        if plan is not None:
            plans.append(plan)
    return ClaimRound(_lease(connection, plans, worker_id, now, lease, limit, memory), contended)


def _lease(
    connection: Connection,
    plans: list[_Plan],
    worker_id: str,
    now: float,
    lease: float,
    limit: int,
    memory: ClaimMemory,
) -> list[ClaimedDelivery]:
    if not plans:
        return []
    # Serve first the endpoint after the one served first last time (plans are in id order), so
    # that with a small limit every endpoint with due work gets its turn; an endpoint with room
    # but nothing due does not use up a turn.
    start = next((i for i, p in enumerate(plans) if p.row.id > (memory.after or "")), 0)
    plans = plans[start:] + plans[:start]

    remaining = limit
    active = plans
    while remaining > 0 and active:
        share = max(1, remaining // len(active))
        still_active = []
        for plan in active:
            if remaining <= 0:
                break
            want = min(share, plan.capacity - len(plan.taken), remaining)
            got = plan.fetch(connection, want, now)
            plan.taken.extend(got)
            remaining -= len(got)
            if len(got) == want and len(plan.taken) < plan.capacity:
                still_active.append(plan)
        active = still_active

    taken = [plan for plan in plans if plan.taken]
    if not taken:
        return []
    memory.after = taken[0].row.id
    token_updates = [
        {"b_id": p.row.id, "b_tokens": p.tokens - len(p.taken), "b_at": now}
        for p in taken
        if p.tokens is not None
    ]
    if token_updates:
        connection.execute(q.SET_ENDPOINT_TOKENS, token_updates)
    ids = [delivery_id for plan in taken for delivery_id in plan.taken]
    lease_until = now + lease
    executemany(
        connection,
        q.MARK_SENDING,
        [
            {
                "b_id": delivery_id,
                "b_lease_until": lease_until,
                "b_worker_id": worker_id,
                "b_now": now,
            }
            for delivery_id in ids
        ],
    )
    by_id: dict[str, Any] = {}
    for plan in taken:
        by_id.update(plan.rows)
    unread = [i for i in ids if i not in by_id]  # taken back from expired leases
    if unread:
        by_id.update((row[0], row) for row in connection.execute(q.CLAIMED_ROWS, {"ids": unread}))
    endpoints = memory.configured(connection, [plan.row for plan in taken])
    claimed = []
    for delivery_id in ids:
        _, event_id, endpoint_id, event_type, attempts, body, created_at = by_id[delivery_id]
        claimed.append(
            ClaimedDelivery(
                id=delivery_id,
                event_id=event_id,
                event_type=event_type,
                body=bytes(body),
                attempt=attempts + 1,
                endpoint=endpoints[endpoint_id],
                lease_until=lease_until,
                event_created_at=created_at,
            )
        )
    return claimed


def _endpoint_due_at(connection: Connection, row: Row[Any], now: float) -> float | None:
    endpoint = endpoint_from_row(row, None)  # planning needs no secret
    sending = connection.execute(q.SENDING_OF_ENDPOINT, {"endpoint_id": endpoint.id}).all()
    leases = [s.lease_until if s.lease_until is not None else now for s in sending]
    in_flight = sorted(t for t in leases if t >= now)
    if endpoint.ordered:
        head = _oldest_unfinished(connection, row)
        if head is None:
            due: float | None = None
        elif head.status == "sending":
            # Claimable once its lease expires (then it goes again, before anything newer).
            due = head.lease_until or now
        else:
            due = head.next_attempt_at
            if in_flight and due is not None:
                due = max(due, in_flight[0])
    else:
        earliest_pending = connection.execute(
            q.EARLIEST_PENDING, {"endpoint_id": endpoint.id}
        ).scalar()
        candidates = [t for t in [earliest_pending, *leases] if t is not None]
        due = min(candidates) if candidates else None
        full = len(in_flight) >= endpoint.max_in_flight or (
            endpoint.circuit_open_until is not None and len(in_flight) >= 1
        )
        if due is not None and full:
            due = max(due, in_flight[0])
    if due is None:
        return None
    if endpoint.circuit_open_until is not None:
        due = max(due, endpoint.circuit_open_until)
    if endpoint.rate_limit is not None and endpoint.rate_limit > 0:
        due = max(
            due, token_ready_at(row.rate_tokens, row.rate_updated_at, endpoint.rate_limit, now)
        )
    return due


def next_due_at(connection: Connection, now: float) -> float | None:
    """The earliest time at which :func:`claim` could return something (None: nothing waits).

    Deliveries held back by a full endpoint become due when the earliest lease in flight ends
    (a recorded outcome frees a slot sooner; the engine knows when it records one).
    """
    times = [
        t
        for t in (
            _endpoint_due_at(connection, row, now)
            for row in connection.execute(q.ENABLED_ENDPOINTS)
        )
        if t is not None
    ]
    return min(times) if times else None
