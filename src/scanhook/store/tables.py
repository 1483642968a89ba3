"""The schema of a scanhook database as SQLAlchemy Core tables (one ``MetaData``).

Migrations in :mod:`scanhook.store.migrations` create exactly this schema; a test checks that the
migrated schema and this metadata do not differ. Times are Unix seconds (``Double``); ids are
text (see :mod:`scanhook.store.ids`). Later migrations add tables (API tokens, schedules, remote
ticket references) beside these; nothing here assumes it is alone in the database.

Indexes of ``deliveries`` follow the queries in :mod:`scanhook.store.queries`:

* (endpoint_id, status, next_attempt_at): claiming one endpoint's due deliveries, finding its
  rows in flight and its earliest due time, each a range scan.
* (endpoint_id, publish_seq): an ordered endpoint's oldest unfinished delivery, scanned from the
  endpoint's ``finished_before_seq`` (every delivery before it is finished). It holds no status
  on purpose: a delivery changes status twice per attempt, and each index that holds the status
  is rewritten each time (bench/README.md, fourth session).
* (endpoint_id, id): listing one endpoint's deliveries newest first.
* (event_id): an event's deliveries, and whether an event has any left.
* (status, created_at): counting by status, pruning finished deliveries.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

__all__ = [
    "NAMING_CONVENTION",
    "PUBLISH_SEQUENCE",
    "api_tokens",
    "attempts",
    "deliveries",
    "delivery_notes",
    "endpoints",
    "events",
    "idempotency_keys",
    "metadata",
    "remote_refs",
    "schedule_notices",
    "schedules",
    "sequences",
    "workers",
]

#: Constraint names that are the same on every database, so migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

ID = String(64)
#: The name of the row of ``sequences`` that numbers deliveries in publish order.
PUBLISH_SEQUENCE = "publish_seq"

endpoints = Table(
    "endpoints",
    metadata,
    Column("id", ID, primary_key=True),
    Column("url", Text, nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("event_types", JSON, nullable=False),
    # Sealed with the store's key ring (see store.codec): each secret's value, ``auth`` but its
    # type, and the values of the headers named in ``secret_headers`` (migration 0007).
    Column("secrets", JSON, nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("disabled_reason", Text, nullable=True),
    Column("headers", JSON, nullable=False),
    Column("legacy_headers", Boolean, nullable=False, default=False),
    Column("timeout", Double, nullable=True),
    Column("max_in_flight", Integer, nullable=False, default=10),
    Column("rate_limit", Double, nullable=True),
    Column("ordered", Boolean, nullable=False, default=False),
    Column("format", String(32), nullable=False, default="raw"),
    Column("format_options", JSON, nullable=False),
    Column("filter", Text, nullable=True),
    Column("auth", JSON, nullable=True),
    Column("created_at", Double, nullable=False),
    Column("updated_at", Double, nullable=False),
    # Health, written by the engine through Store.record().
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("failing_since", Double, nullable=True),
    Column("last_success_at", Double, nullable=True),
    Column("circuit_open_until", Double, nullable=True),
    # Token bucket of rate_limit: tokens left at rate_updated_at (NULL: a full bucket).
    Column("rate_tokens", Double, nullable=True),
    Column("rate_updated_at", Double, nullable=True),
    # Every delivery of this endpoint with a smaller publish_seq is finished (succeeded or
    # failed): where an ordered endpoint's scan for its oldest unfinished delivery starts. A
    # claim moves it up; requeueing a finished delivery moves it down.
    Column("finished_before_seq", BigInteger, nullable=False, default=0, server_default="0"),
    # Bumped by every change of the configuration: a claim decodes an endpoint's row again only
    # when it moved (the engine's claims keep the decoded configuration between them).
    Column("config_version", BigInteger, nullable=False, default=0, server_default="0"),
    # The circuit (migration 0006): when it opened (attempts started before then never lengthen
    # it), how many probes failed since (each moves the pause one retry-schedule step), and why.
    Column("circuit_opened_at", Double, nullable=True),
    Column("circuit_failed_probes", Integer, nullable=False, default=0, server_default="0"),
    Column("circuit_reason", Text, nullable=True),
    # Names of the headers whose values are credentials, sealed like the secrets (0007).
    Column("secret_headers", JSON, nullable=False, default=list, server_default="[]"),
)

events = Table(
    "events",
    metadata,
    Column("id", ID, primary_key=True),
    Column("type", String(64), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("idempotency_key", String(255), nullable=True),
    Index(None, "created_at"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("event_id", ID, nullable=False),
    Column("created_at", Double, nullable=False),
    Index(None, "created_at"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", ID, primary_key=True),
    Column("event_id", ID, ForeignKey("events.id"), nullable=False),
    # No foreign key: a deleted endpoint's deliveries stay, failed, for the record.
    Column("endpoint_id", ID, nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Double, nullable=True),
    Column("lease_until", Double, nullable=True),
    Column("leased_by", String(255), nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", Double, nullable=False),
    Column("updated_at", Double, nullable=False),
    # Publish order (from the sequences table): an ordered endpoint goes in this order.
    Column("publish_seq", BigInteger, nullable=False),
    Index(None, "endpoint_id", "status", "next_attempt_at"),
    Index(None, "endpoint_id", "publish_seq"),
    Index(None, "endpoint_id", "id"),
    Index(None, "event_id"),
    Index(None, "status", "created_at"),
)

attempts = Table(
    "attempts",
    metadata,
    Column("delivery_id", ID, ForeignKey("deliveries.id"), primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("started_at", Double, nullable=False),
    Column("duration_ms", Double, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error_kind", String(32), nullable=True),
    Column("error", Text, nullable=True),
    Column("response_body", Text, nullable=True),
)

#: Named counters, bumped inside write transactions (works across processes on one file).
sequences = Table(
    "sequences",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

#: Bearer tokens of the HTTP API (migration 0002). Only the SHA-256 of a token is kept.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(255), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", Double, nullable=False),
    Column("last_used_at", Double, nullable=True),
    Column("revoked_at", Double, nullable=True),
)

#: Scan schedules (migration 0003). A deleted schedule keeps its row (``deleted_at``) so that its
#: notice log still names it. ``notices_through`` is the scheduler's watermark: every notice whose
#: send time is at or before it has been decided (sent, skipped, or not due under an edit).
schedules = Table(
    "schedules",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", Text, nullable=False),
    Column("type", String(32), nullable=False),
    Column("link", Text, nullable=False),
    Column("recurrence", Text, nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("leads", JSON, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("updated_at", Double, nullable=False),
    Column("deleted_at", Double, nullable=True),
    # Bumped by every change: a scheduler pass that read an older revision records nothing.
    Column("revision", Integer, nullable=False),
    Column("notices_through", Double, nullable=False),
)

#: The notice log: one row per (schedule, occurrence, lead) ever decided, keyed by
#: :func:`scanhook.schedules.notice_key`. The key being the primary key is what makes a notice
#: exactly-once: its row and its event are written in one transaction.
schedule_notices = Table(
    "schedule_notices",
    metadata,
    Column("key", String(255), primary_key=True),
    # No foreign key: the log outlives nothing, but a schedule is never removed either.
    Column("schedule_id", ID, nullable=False),
    Column("occurrence", Double, nullable=False),
    Column("lead", String(32), nullable=False),
    Column("lead_seconds", Integer, nullable=False),
    Column("send_at", Double, nullable=False),
    Column("status", String(16), nullable=False),
    Column("event_id", ID, nullable=True),
    Column("created_at", Double, nullable=False),
    Index(None, "schedule_id", "send_at"),
)

#: Ticket lifecycle across systems (migration 0004): the id a target gave the record an
#: endpoint's delivery created (a Jira issue key, a ServiceNow sys_id), per correlation key
#: (``ticket/4711``), so that the matching close transitions or resolves that record.
remote_refs = Table(
    "remote_refs",
    metadata,
    # No foreign key: a deleted endpoint's references go with nothing else either.
    Column("endpoint_id", ID, primary_key=True),
    Column("correlation_key", String(255), primary_key=True),
    Column("remote_id", String(255), nullable=False),
    # The delivery whose response carried it.
    Column("delivery_id", ID, nullable=False),
    Column("updated_at", Double, nullable=False),
)

#: Notes an operator should see on an attempt (migration 0004), e.g. "needs attention: ticket
#: closed with no Jira issue known, so one was created". Rare, so kept beside ``attempts``
#: rather than in it (the attempts insert is the engine's hot path).
delivery_notes = Table(
    "delivery_notes",
    metadata,
    Column("delivery_id", ID, primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("attention", Text, nullable=False),
    Column("created_at", Double, nullable=False),
)

#: Running workers (migration 0006): ``deliveries.leased_by`` names one of these. A worker
#: refreshes ``heartbeat_at`` while it runs; on PostgreSQL it also holds the session advisory
#: lock ``lock_key`` (see :mod:`scanhook.store.postgres_workers`); on SQLite ``lock_key`` is 0
#: when its process held the workers' file lock, else NULL (see :mod:`scanhook.store.sqlite`).
#: The deliveries of a worker that is gone are taken back at once (:mod:`scanhook.store.liveness`).
workers = Table(
    "workers",
    metadata,
    Column("id", String(255), primary_key=True),
    Column("host", Text, nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", Double, nullable=False),
    Column("heartbeat_at", Double, nullable=False),
    Column("lock_key", BigInteger, nullable=True),
)
