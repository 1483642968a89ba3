"""Every SQL statement of the store, by name, in SQLAlchemy Core.

Statements are dialect-neutral unless their name says otherwise; parameters are bound by name
(``:name`` below) so one statement serves ``executemany`` with a list of parameter sets.
Built once at import; SQLAlchemy caches their compiled form.

Row locks (``FOR UPDATE``, ``SKIP LOCKED``) are what keeps several PostgreSQL workers apart;
SQLite's compiler leaves them out (its one writer at a time needs none).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Delete,
    Insert,
    Select,
    String,
    Update,
    and_,
    bindparam,
    case,
    cast,
    column,
    delete,
    exists,
    extract,
    func,
    insert,
    or_,
    select,
    table,
    true,
    update,
)
from sqlalchemy.dialects import sqlite

if TYPE_CHECKING:
    from sqlalchemy import Table
    from sqlalchemy.dialects import postgresql

from scanhook.store.tables import (
    PUBLISH_SEQUENCE,
    attempts,
    deliveries,
    delivery_notes,
    endpoints,
    events,
    idempotency_keys,
    sequences,
    workers,
)

__all__ = [
    "ATTEMPTS_OF",
    "BUMP_PUBLISH_SEQUENCE",
    "CLAIMED_ROWS",
    "COUNT_BY_STATUS",
    "COUNT_EVENT_DELIVERIES",
    "DEAD_POSTGRES_WORKERS",
    "DELETE_ATTEMPTS_OF",
    "DELETE_DELIVERIES",
    "DELETE_ENDPOINT",
    "DELETE_EVENTS",
    "DELETE_EXPIRED_IDEMPOTENCY_KEYS",
    "DELETE_NOTES_OF",
    "DELETE_WORKERS",
    "DELIVERY_BY_ID",
    "DUE_PENDING",
    "DUE_PROBE",
    "EARLIEST_PENDING",
    "ENABLED_ENDPOINTS",
    "ENABLED_ENDPOINT_COUNT",
    "ENABLED_ENDPOINT_VERSIONS",
    "ENDPOINTS_BY_IDS",
    "ENDPOINTS_TO_CLAIM",
    "ENDPOINTS_TO_RECORD",
    "ENDPOINT_BY_ID",
    "ENDPOINT_COUNTS",
    "ENDPOINT_TO_LOCK",
    "EVENT_BY_ID",
    "EVENT_DELIVERIES",
    "EXPIRED_OF_ENDPOINT",
    "EXPIRED_TO_RECLAIM",
    "FAIL_ENDPOINT_DELIVERIES",
    "FINISHED_DELIVERIES_BEFORE",
    "HEARTBEAT",
    "IDEMPOTENCY_KEYS",
    "INSERT_DELIVERY",
    "INSERT_ENDPOINT",
    "INSERT_EVENT",
    "INSERT_WORKER",
    "LAST_SEQ_OF_ENDPOINT",
    "LOWER_FINISHED_BEFORE",
    "MARK_SENDING",
    "OLDEST_DUE",
    "OLDEST_UNFINISHED",
    "ORPHAN_EVENTS_BEFORE",
    "POSTGRES_CLOCK",
    "RAISE_FINISHED_BEFORE",
    "RECLAIM_LEASES_BUT",
    "RECLAIM_LEASES_OF",
    "RELEASE",
    "REQUEUE_DELIVERY",
    "SEALED_COLUMNS",
    "SENDING_COUNTS",
    "SENDING_OF_ENDPOINT",
    "SET_DELIVERY_OUTCOME",
    "SET_ENDPOINT_HEALTH",
    "SET_ENDPOINT_TOKENS",
    "SET_SEALED_COLUMNS",
    "WORKERS",
    "claim_idempotency_keys",
    "count_by_status",
    "first_seq_where",
    "insert_attempt_ignoring_duplicates",
    "list_deliveries",
    "list_endpoints",
    "postgresql_insert",
    "replay",
    "replayable",
    "update_endpoint",
]

UNFINISHED = ("pending", "sending")
FINISHED = ("succeeded", "failed")

# -- endpoints ---------------------------------------------------------------------------------
INSERT_ENDPOINT: Insert = insert(endpoints)
ENDPOINT_BY_ID = select(endpoints).where(endpoints.c.id == bindparam("id"))
ENABLED_ENDPOINTS = select(endpoints).where(endpoints.c.enabled == true()).order_by(endpoints.c.id)
ENDPOINTS_BY_IDS = select(endpoints).where(endpoints.c.id.in_(bindparam("ids", expanding=True)))
#: What a publish checks its routes against: every configuration change bumps config_version.
ENABLED_ENDPOINT_VERSIONS = (
    select(endpoints.c.id, endpoints.c.config_version)
    .where(endpoints.c.enabled == true())
    .order_by(endpoints.c.id)
)
ENABLED_ENDPOINT_COUNT = select(func.count()).where(endpoints.c.enabled == true())
#: The enabled endpoints a claim may serve: each row stays locked until the claim commits, and
#: an endpoint that another claim (or a record) holds is skipped, never waited for. Computing an
#: endpoint's free slots under its row lock is what makes max_in_flight, the rate limit, the
#: circuit and order hold across all workers together.
#: Only what planning needs, and the configuration's version (ClaimMemory keeps the rest).
ENDPOINTS_TO_CLAIM = (
    select(
        endpoints.c.id,
        endpoints.c.config_version,
        endpoints.c.max_in_flight,
        endpoints.c.rate_limit,
        endpoints.c.ordered,
        endpoints.c.circuit_open_until,
        endpoints.c.rate_tokens,
        endpoints.c.rate_updated_at,
        endpoints.c.finished_before_seq,
    )
    .where(endpoints.c.enabled == true())
    .order_by(endpoints.c.id)
    .with_for_update(skip_locked=True)
)
#: The endpoints whose health record() changes, locked in id order (so concurrent records never
#: deadlock, and a health update is never lost to a concurrent one).
ENDPOINTS_TO_RECORD = (
    select(
        endpoints.c.id,
        endpoints.c.enabled,
        endpoints.c.disabled_reason,
        endpoints.c.consecutive_failures,
        endpoints.c.failing_since,
        endpoints.c.last_success_at,
        endpoints.c.circuit_open_until,
        endpoints.c.circuit_opened_at,
        endpoints.c.circuit_failed_probes,
        endpoints.c.circuit_reason,
    )
    .where(endpoints.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(endpoints.c.id)
    .with_for_update()
)
#: Lock one endpoint row (before changing its deliveries, so the lock order is endpoint first).
ENDPOINT_TO_LOCK = select(endpoints.c.id).where(endpoints.c.id == bindparam("id")).with_for_update()
DELETE_ENDPOINT: Delete = delete(endpoints).where(endpoints.c.id == bindparam("id"))
#: :id, :enabled, :disabled_reason, :consecutive_failures, :failing_since, :last_success_at,
#: :circuit_open_until, :circuit_opened_at, :circuit_failed_probes, :circuit_reason
#: (executemany from record()).
SET_ENDPOINT_HEALTH: Update = (
    update(endpoints)
    .where(endpoints.c.id == bindparam("b_id"))
    .values(
        enabled=bindparam("b_enabled"),
        disabled_reason=bindparam("b_disabled_reason"),
        consecutive_failures=bindparam("b_consecutive_failures"),
        failing_since=bindparam("b_failing_since"),
        last_success_at=bindparam("b_last_success_at"),
        circuit_open_until=bindparam("b_circuit_open_until"),
        circuit_opened_at=bindparam("b_circuit_opened_at"),
        circuit_failed_probes=bindparam("b_circuit_failed_probes"),
        circuit_reason=bindparam("b_circuit_reason"),
    )
)
SET_ENDPOINT_TOKENS: Update = (
    update(endpoints)
    .where(endpoints.c.id == bindparam("b_id"))
    .values(rate_tokens=bindparam("b_tokens"), rate_updated_at=bindparam("b_at"))
)
ENDPOINT_COUNTS = select(
    func.count(),
    func.coalesce(func.sum(case((endpoints.c.enabled == true(), 0), else_=1)), 0),
    func.coalesce(
        func.sum(case((endpoints.c.circuit_open_until > bindparam("now"), 1), else_=0)), 0
    ),
)


def list_endpoints(after: str | None, limit: int) -> Select[Any]:
    """Endpoints ordered by id, after ``after``."""
    stmt = select(endpoints).order_by(endpoints.c.id).limit(limit)
    if after is not None:
        stmt = stmt.where(endpoints.c.id > after)
    return stmt


def update_endpoint(endpoint_id: str, values: dict[str, object]) -> Update:
    """Set ``values`` (configuration) on one endpoint, and count the change in its
    ``config_version``."""
    return (
        update(endpoints)
        .where(endpoints.c.id == endpoint_id)
        .values(**values, config_version=endpoints.c.config_version + 1)
    )


# -- events and publishing ---------------------------------------------------------------------
INSERT_EVENT: Insert = insert(events)
INSERT_DELIVERY: Insert = insert(deliveries)
IDEMPOTENCY_KEYS = select(
    idempotency_keys.c.key, idempotency_keys.c.event_id, idempotency_keys.c.created_at
).where(idempotency_keys.c.key.in_(bindparam("keys", expanding=True)))
#: Reserve :n numbers of publish order; returns the last one reserved.
BUMP_PUBLISH_SEQUENCE: Update = (
    update(sequences)
    .where(sequences.c.name == PUBLISH_SEQUENCE)
    .values(value=sequences.c.value + bindparam("n"))
    .returning(sequences.c.value)
)
COUNT_EVENT_DELIVERIES = select(func.count()).where(deliveries.c.event_id == bindparam("event_id"))
EVENT_BY_ID = select(events).where(events.c.id == bindparam("id"))
EVENT_DELIVERIES = (
    select(deliveries)
    .where(deliveries.c.event_id == bindparam("event_id"))
    .order_by(deliveries.c.id)
)
ATTEMPTS_OF = (
    select(attempts)
    .where(attempts.c.delivery_id.in_(bindparam("ids", expanding=True)))
    .order_by(attempts.c.delivery_id, attempts.c.number)
)

# -- claiming ----------------------------------------------------------------------------------
#: The rows of :endpoint_id that are ``sending`` (in flight, or with an expired lease).
SENDING_OF_ENDPOINT = select(
    deliveries.c.id, deliveries.c.lease_until, deliveries.c.publish_seq
).where(deliveries.c.endpoint_id == bindparam("endpoint_id"), deliveries.c.status == "sending")
#: Of the ``sending`` rows of each of :ids at :now: how many are in flight (a lease that holds)
#: and how many have an expired lease (or none), by endpoint; an endpoint with none is absent.
#: Counted by the database in one statement: a fan-out claim costs no Python per row and no
#: statement per endpoint.
SENDING_COUNTS = (
    select(
        deliveries.c.endpoint_id,
        func.count().filter(deliveries.c.lease_until >= bindparam("now")),
        func.count().filter(
            or_(deliveries.c.lease_until.is_(None), deliveries.c.lease_until < bindparam("now"))
        ),
    )
    .where(
        deliveries.c.endpoint_id.in_(bindparam("ids", expanding=True)),
        deliveries.c.status == "sending",
    )
    .group_by(deliveries.c.endpoint_id)
)
#: The rows of :endpoint_id that are ``sending`` with an expired lease (or none) at :now.
EXPIRED_OF_ENDPOINT = select(
    deliveries.c.id, deliveries.c.lease_until, deliveries.c.publish_seq
).where(
    deliveries.c.endpoint_id == bindparam("endpoint_id"),
    deliveries.c.status == "sending",
    or_(deliveries.c.lease_until.is_(None), deliveries.c.lease_until < bindparam("now")),
)
#: What a claim reads of a delivery and its event, in this order (DUE_PENDING, CLAIMED_ROWS).
CLAIM_COLUMNS = (
    deliveries.c.id,
    deliveries.c.event_id,
    deliveries.c.endpoint_id,
    deliveries.c.event_type,
    deliveries.c.attempts,
    events.c.body,
    events.c.created_at,
)
#: Pending and due rows of :endpoint_id, earliest first, with their events (CLAIM_COLUMNS): a
#: range scan of (endpoint_id, status, next_attempt_at). Bind :now, :limit, :offset. Rows
#: locked by another transaction (an operator's retry, say) are skipped rather than waited for.
DUE_PENDING = (
    select(*CLAIM_COLUMNS)
    .join(events, events.c.id == deliveries.c.event_id)
    .where(
        deliveries.c.endpoint_id == bindparam("endpoint_id"),
        deliveries.c.status == "pending",
        deliveries.c.next_attempt_at <= bindparam("now"),
    )
    .order_by(deliveries.c.next_attempt_at)
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
    .with_for_update(of=deliveries, skip_locked=True)
)
#: The probe of a half-open circuit: of :endpoint_id's pending and due rows, the one tried most
#: (the earliest due among those), with its event (CLAIM_COLUMNS); bind as DUE_PENDING. A probe
#: asks whether the receiver takes deliveries again, so it is the delivery the schedule has
#: kept waiting longest, not a first attempt that a receiver rejecting first attempts would
#: fail whatever its state. Reads every due row of the endpoint, once per pause.
DUE_PROBE = (
    select(*CLAIM_COLUMNS)
    .join(events, events.c.id == deliveries.c.event_id)
    .where(
        deliveries.c.endpoint_id == bindparam("endpoint_id"),
        deliveries.c.status == "pending",
        deliveries.c.next_attempt_at <= bindparam("now"),
    )
    .order_by(deliveries.c.attempts.desc(), deliveries.c.next_attempt_at, deliveries.c.id)
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
    .with_for_update(of=deliveries, skip_locked=True)
)
#: Of :ids (rows seen ``sending`` with an expired lease), those still so and not locked by anyone
#: else (a late record() of the old lease may be finishing one): locked for the claim.
EXPIRED_TO_RECLAIM = (
    select(deliveries.c.id)
    .where(
        deliveries.c.id.in_(bindparam("ids", expanding=True)),
        deliveries.c.status == "sending",
        or_(deliveries.c.lease_until.is_(None), deliveries.c.lease_until < bindparam("now")),
    )
    .with_for_update(skip_locked=True)
)
#: The earliest next_attempt_at of :endpoint_id's pending rows.
EARLIEST_PENDING = select(func.min(deliveries.c.next_attempt_at)).where(
    deliveries.c.endpoint_id == bindparam("endpoint_id"), deliveries.c.status == "pending"
)
#: An ordered endpoint's oldest unfinished delivery at or after :from_seq (the endpoint's
#: ``finished_before_seq``): a scan of (endpoint_id, publish_seq) from the mark that stops at the
#: first row still pending or sending.
OLDEST_UNFINISHED = (
    select(
        deliveries.c.id,
        deliveries.c.status,
        deliveries.c.next_attempt_at,
        deliveries.c.lease_until,
        deliveries.c.publish_seq,
    )
    .where(
        deliveries.c.endpoint_id == bindparam("endpoint_id"),
        deliveries.c.publish_seq >= bindparam("from_seq"),
        deliveries.c.status.in_(UNFINISHED),
    )
    .order_by(deliveries.c.publish_seq)
    .limit(1)
)
#: The publish_seq of :endpoint_id's newest delivery (None: it has none).
LAST_SEQ_OF_ENDPOINT = select(func.max(deliveries.c.publish_seq)).where(
    deliveries.c.endpoint_id == bindparam("endpoint_id")
)
#: Move :b_id's ``finished_before_seq`` up to :b_seq (a claim found nothing unfinished below).
RAISE_FINISHED_BEFORE: Update = (
    update(endpoints)
    .where(
        endpoints.c.id == bindparam("b_id"), endpoints.c.finished_before_seq < bindparam("b_seq")
    )
    .values(finished_before_seq=bindparam("b_seq"))
)
#: Move :b_id's ``finished_before_seq`` down to :b_seq (a finished delivery there is requeued).
LOWER_FINISHED_BEFORE: Update = (
    update(endpoints)
    .where(
        endpoints.c.id == bindparam("b_id"), endpoints.c.finished_before_seq > bindparam("b_seq")
    )
    .values(finished_before_seq=bindparam("b_seq"))
)
#: Executemany, one row per parameter set: :b_id, :b_lease_until, :b_worker_id, :b_now. Run
#: through the driver in the claim's order (endpoint by endpoint): measured cheaper than one
#: ``IN`` list, which SQLite walks in id order, jumping between the endpoints' index ranges.
MARK_SENDING: Update = (
    update(deliveries)
    .where(deliveries.c.id == bindparam("b_id"))
    .values(
        status="sending",
        lease_until=bindparam("b_lease_until"),
        leased_by=bindparam("b_worker_id"),
        updated_at=bindparam("b_now"),
    )
)
#: CLAIM_COLUMNS of :ids (the rows a claim takes back from an expired lease).
CLAIMED_ROWS = (
    select(*CLAIM_COLUMNS)
    .join(events, events.c.id == deliveries.c.event_id)
    .where(deliveries.c.id.in_(bindparam("ids", expanding=True)))
)

# -- recording ---------------------------------------------------------------------------------
#: A ``sending`` row still leased by :b_leased_by (NULL: by whoever leases it). A worker taken
#: for dead loses its rows to another worker's claim, which writes its own id in ``leased_by``:
#: what the first one reports late then moves nothing.
_STILL_LEASED_BY = and_(
    deliveries.c.status == "sending",
    deliveries.c.leased_by
    == func.coalesce(bindparam("b_leased_by", type_=String), deliveries.c.leased_by),
)
#: Executemany: :b_id, :b_leased_by, :b_status, :b_number, :b_next_attempt_at, :b_status_code,
#: :b_error, :b_now. Only a delivery still ``sending`` under the lease the attempt was made
#: under moves (a late duplicate outcome changes nothing).
SET_DELIVERY_OUTCOME: Update = (
    update(deliveries)
    .where(deliveries.c.id == bindparam("b_id"), _STILL_LEASED_BY)
    .values(
        status=bindparam("b_status"),
        attempts=case(
            (deliveries.c.attempts < bindparam("b_number"), bindparam("b_number")),
            else_=deliveries.c.attempts,
        ),
        next_attempt_at=bindparam("b_next_attempt_at"),
        lease_until=None,
        leased_by=None,
        last_status_code=bindparam("b_status_code"),
        last_error=bindparam("b_error"),
        updated_at=bindparam("b_now"),
    )
)


def claim_idempotency_keys(dialect_name: str, rows: list[dict[str, Any]]) -> Insert:
    """Insert the keys of ``rows`` (:key, :event_id, :created_at), or take over a key whose row
    is older than ``created_at - window`` (bind :window); RETURNING the keys won.

    A key that is not returned belongs to an event published within the window, by this batch's
    predecessors or by a concurrent publish, which PostgreSQL waits for (``ON CONFLICT``), so two
    publishes with one key never both create an event. ``rows`` should be in key order (rows are
    locked in that order, so concurrent publishes cannot deadlock on each other's keys).
    """
    insert_ = postgresql_insert if dialect_name == "postgresql" else sqlite.insert
    stmt = insert_(idempotency_keys).values(rows)
    return stmt.on_conflict_do_update(
        index_elements=[idempotency_keys.c.key],
        set_={"event_id": stmt.excluded.event_id, "created_at": stmt.excluded.created_at},
        where=idempotency_keys.c.created_at < stmt.excluded.created_at - bindparam("window"),
    ).returning(idempotency_keys.c.key)


def postgresql_insert(table: Table) -> postgresql.Insert:
    """An INSERT in SQLAlchemy's PostgreSQL dialect, loaded on first use (a SQLite process
    never needs it)."""
    from sqlalchemy.dialects.postgresql import insert

    return insert(table)


@functools.cache
def insert_attempt_ignoring_duplicates(dialect_name: str) -> Insert:
    """Insert attempts; one already recorded under its (delivery, number) is kept (an expired
    lease can make two workers report the same attempt). Built once per dialect (the recorder
    runs it through the driver, compiled once: :mod:`scanhook.store.driver_sql`)."""
    if dialect_name == "postgresql":
        return postgresql_insert(attempts).on_conflict_do_nothing()
    return sqlite.insert(attempts).on_conflict_do_nothing()


#: :ids back to pending, those still leased by :b_leased_by (NULL: by anyone).
RELEASE: Update = (
    update(deliveries)
    .where(deliveries.c.id.in_(bindparam("ids", expanding=True)), _STILL_LEASED_BY)
    .values(status="pending", lease_until=None, leased_by=None, updated_at=bindparam("now"))
)

# -- workers (who is alive) --------------------------------------------------------------------
#: :id, :host, :pid, :started_at, :heartbeat_at, :lock_key.
INSERT_WORKER: Insert = insert(workers)
WORKERS = select(workers.c.id, workers.c.heartbeat_at, workers.c.lock_key)
#: Refresh :b_id's heartbeat (:b_now) and the lock it holds (:b_lock_key); no row: it was
#: taken for dead.
HEARTBEAT: Update = (
    update(workers)
    .where(workers.c.id == bindparam("b_id"))
    .values(heartbeat_at=bindparam("b_now"), lock_key=bindparam("b_lock_key"))
)
DELETE_WORKERS: Delete = delete(workers).where(workers.c.id.in_(bindparam("ids", expanding=True)))
#: Expire the leases of the rows that the workers :ids (gone) left ``sending``: the expired-lease
#: path of the next claim takes them first, as they are (same id, same attempt count), and they
#: stop counting against their endpoint's max_in_flight. :now is the sweeper's clock; the lease
#: ends at :expired, just before it (a claim at :now sees a lease ending at :now as held).
RECLAIM_LEASES_OF: Update = (
    update(deliveries)
    .where(
        deliveries.c.status == "sending",
        deliveries.c.leased_by.in_(bindparam("ids", expanding=True)),
        deliveries.c.lease_until >= bindparam("now"),
    )
    .values(lease_until=bindparam("expired"))
)
#: The same for every ``sending`` row not leased by one of :ids (the only workers alive).
RECLAIM_LEASES_BUT: Update = (
    update(deliveries)
    .where(
        deliveries.c.status == "sending",
        or_(
            deliveries.c.leased_by.is_(None),
            deliveries.c.leased_by.not_in(bindparam("ids", expanding=True)),
        ),
        deliveries.c.lease_until >= bindparam("now"),
    )
    .values(lease_until=bindparam("expired"))
)
#: The server's clock, and when the server started (Unix seconds): heartbeats are compared on
#: the database's clock, not on the clocks of the workers' machines.
POSTGRES_CLOCK = select(
    extract("epoch", func.now()), extract("epoch", func.pg_postmaster_start_time())
)
_pg_locks = table(
    "pg_locks",
    column("locktype"),
    column("database"),
    column("classid"),
    column("objid"),
    column("objsubid"),
    column("granted"),
)
_pg_database = table("pg_database", column("oid"), column("datname"))
#: Workers other than :me that are gone: no session holds their advisory lock (class :class_id,
#: key lock_key, two-int form: objsubid 2, in this database), and their heartbeat is older than
#: :stale_before (server clock). Locked, so that two sweepers do not both take one worker's rows.
DEAD_POSTGRES_WORKERS = (
    select(workers.c.id)
    .where(
        workers.c.id != bindparam("me"),
        workers.c.heartbeat_at < bindparam("stale_before"),
        or_(
            workers.c.lock_key.is_(None),
            ~exists().where(
                _pg_locks.c.locktype == "advisory",
                _pg_locks.c.database
                == select(_pg_database.c.oid)
                .where(_pg_database.c.datname == func.current_database())
                .scalar_subquery(),
                cast(_pg_locks.c.classid, BigInteger) == bindparam("class_id"),
                cast(_pg_locks.c.objid, BigInteger) == workers.c.lock_key,
                _pg_locks.c.objsubid == 2,
                _pg_locks.c.granted == true(),
            ),
        ),
    )
    .with_for_update(skip_locked=True)
)

# -- operating ---------------------------------------------------------------------------------
DELIVERY_BY_ID = select(deliveries).where(deliveries.c.id == bindparam("id"))
FAIL_ENDPOINT_DELIVERIES: Update = (
    update(deliveries)
    .where(
        deliveries.c.endpoint_id == bindparam("b_endpoint_id"),
        deliveries.c.status.in_(UNFINISHED),
    )
    .values(
        status="failed",
        next_attempt_at=None,
        lease_until=None,
        leased_by=None,
        last_error="endpoint deleted",
        updated_at=bindparam("now"),
    )
)
#: Due now, unless it succeeded or an attempt holds an unexpired lease (checked again here, so
#: a claim that won the row meanwhile is not undone).
REQUEUE_DELIVERY: Update = (
    update(deliveries)
    .where(
        deliveries.c.id == bindparam("b_id"),
        deliveries.c.status != "succeeded",
        or_(
            deliveries.c.status != "sending",
            deliveries.c.lease_until.is_(None),
            deliveries.c.lease_until < bindparam("now"),
        ),
    )
    .values(
        status="pending",
        next_attempt_at=bindparam("now"),
        lease_until=None,
        leased_by=None,
        updated_at=bindparam("now"),
    )
)
COUNT_BY_STATUS = select(deliveries.c.status, func.count()).group_by(deliveries.c.status)


def count_by_status(statuses: Sequence[str]) -> Select[Any]:
    """Deliveries of these statuses, by status: through the ``(status, created_at)`` index, so
    it reads only their rows (the queue's ``pending`` and ``sending`` stay few however much
    history the table holds)."""
    return (
        select(deliveries.c.status, func.count())
        .where(deliveries.c.status.in_(list(statuses)))
        .group_by(deliveries.c.status)
    )


#: The earliest next_attempt_at among due pending rows of enabled endpoints: each endpoint's
#: first due row through the ``(endpoint_id, status, next_attempt_at)`` index, then the least of
#: those, so it reads one index entry per endpoint however many deliveries are due (a plain
#: ``min`` over every due row took 1-3 s on PostgreSQL with 100,000 due among 10 M).
_FIRST_DUE_OF_ENDPOINT = (
    select(deliveries.c.next_attempt_at)
    .where(
        deliveries.c.endpoint_id == endpoints.c.id,
        deliveries.c.status == "pending",
        deliveries.c.next_attempt_at <= bindparam("now"),
    )
    .order_by(deliveries.c.next_attempt_at)
    .limit(1)
    .correlate(endpoints)
    .scalar_subquery()
)
OLDEST_DUE = select(func.min(_FIRST_DUE_OF_ENDPOINT)).where(endpoints.c.enabled == true())


def list_deliveries(
    *,
    endpoint_id: str | None,
    status: str | None,
    event_type: str | None,
    since: float | None,
    until: float | None,
    after: str | None,
    limit: int,
) -> Select[Any]:
    """Deliveries newest first (by id) matching every filter given."""
    stmt = select(deliveries).order_by(deliveries.c.id.desc()).limit(limit)
    if endpoint_id is not None:
        stmt = stmt.where(deliveries.c.endpoint_id == endpoint_id)
    if status is not None:
        stmt = stmt.where(deliveries.c.status == status)
    if event_type is not None:
        stmt = stmt.where(deliveries.c.event_type == event_type)
    if since is not None:
        stmt = stmt.where(deliveries.c.created_at >= since)
    if until is not None:
        stmt = stmt.where(deliveries.c.created_at < until)
    if after is not None:
        stmt = stmt.where(deliveries.c.id < after)
    return stmt


def replayable(
    endpoint_id: str, since: float | None, statuses: tuple[str, ...]
) -> ColumnElement[bool]:
    """The endpoint's finished deliveries with one of ``statuses`` (created ``since``, if given)."""
    cond = and_(deliveries.c.endpoint_id == endpoint_id, deliveries.c.status.in_(statuses))
    if since is not None:
        cond = and_(cond, deliveries.c.created_at >= since)
    return cond


def first_seq_where(cond: ColumnElement[bool]) -> Select[Any]:
    """The smallest publish_seq of the deliveries matching ``cond``."""
    return select(func.min(deliveries.c.publish_seq)).where(cond)


def replay(cond: ColumnElement[bool], now: float) -> Update:
    """Requeue (due ``now``) the deliveries matching ``cond`` (see :func:`replayable`)."""
    return (
        update(deliveries)
        .where(cond)
        .values(
            status="pending", next_attempt_at=now, lease_until=None, leased_by=None, updated_at=now
        )
    )


# -- pruning -----------------------------------------------------------------------------------
FINISHED_DELIVERIES_BEFORE = (
    select(deliveries.c.id)
    .where(deliveries.c.status.in_(FINISHED), deliveries.c.created_at < bindparam("before"))
    .limit(bindparam("limit"))
)
DELETE_ATTEMPTS_OF: Delete = delete(attempts).where(
    attempts.c.delivery_id.in_(bindparam("ids", expanding=True))
)
DELETE_NOTES_OF: Delete = delete(delivery_notes).where(
    delivery_notes.c.delivery_id.in_(bindparam("ids", expanding=True))
)
DELETE_DELIVERIES: Delete = delete(deliveries).where(
    deliveries.c.id.in_(bindparam("ids", expanding=True))
)
ORPHAN_EVENTS_BEFORE = (
    select(events.c.id)
    .where(
        events.c.created_at < bindparam("before"),
        ~exists().where(deliveries.c.event_id == events.c.id),
    )
    .limit(bindparam("limit"))
)
DELETE_EVENTS: Delete = delete(events).where(events.c.id.in_(bindparam("ids", expanding=True)))
DELETE_EXPIRED_IDEMPOTENCY_KEYS: Delete = delete(idempotency_keys).where(
    idempotency_keys.c.created_at < bindparam("before")
)


# -- sealing endpoint secrets again under a new key ----------------------------------------------
#: Every endpoint's sealed columns, locked until the transaction ends (PostgreSQL): an edit made
#: meanwhile waits, and is not overwritten by the old values sealed again.
SEALED_COLUMNS = (
    select(
        endpoints.c.id,
        endpoints.c.secrets,
        endpoints.c.auth,
        endpoints.c.headers,
        endpoints.c.secret_headers,
    )
    .order_by(endpoints.c.id)
    .with_for_update()
)
#: The sealed columns of one endpoint; its configuration did not change (no config_version).
SET_SEALED_COLUMNS: Update = (
    update(endpoints)
    .where(endpoints.c.id == bindparam("b_id"))
    .values(
        secrets=bindparam("b_secrets"), auth=bindparam("b_auth"), headers=bindparam("b_headers")
    )
)
