"""Ticket lifecycle across systems: remote ids and attention notes, dialect-neutral.

* A remote reference is the id a target gave the record that an endpoint's delivery created (a
  Jira issue key, a ServiceNow ``sys_id``), kept per (endpoint, correlation key such as
  ``ticket/4711``); the matching ``ticket.closed`` reads it to transition or resolve that record.
  A later create under the same key replaces it (the newest record is the one to close).
* An attention note is what an operator should know about one attempt (a close sent with no
  remote record known); the API shows it on the delivery and the attempt.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql.dml import Insert

from scanhook.store import queries as q
from scanhook.store.tables import delivery_notes, remote_refs

__all__ = ["attention_notes", "get_remote_ref", "note_attention", "put_remote_ref"]

REF_BY_KEY = select(remote_refs.c.remote_id).where(
    remote_refs.c.endpoint_id == bindparam("endpoint_id"),
    remote_refs.c.correlation_key == bindparam("correlation_key"),
)
NOTES_OF = (
    select(delivery_notes.c.delivery_id, delivery_notes.c.number, delivery_notes.c.attention)
    .where(delivery_notes.c.delivery_id.in_(bindparam("ids", expanding=True)))
    .order_by(delivery_notes.c.delivery_id, delivery_notes.c.number)
)


def _insert(connection: Connection, table: Any) -> Any:
    if connection.dialect.name == "postgresql":
        return q.postgresql_insert(table)
    return sqlite.insert(table)


def _upsert(
    connection: Connection, table: Any, keys: Sequence[str], values: dict[str, Any]
) -> None:
    statement = _insert(connection, table)
    changed = {name: statement.excluded[name] for name in values if name not in keys}
    upsert: Insert = statement.on_conflict_do_update(index_elements=list(keys), set_=changed)
    connection.execute(upsert, values)


def get_remote_ref(connection: Connection, endpoint_id: str, correlation_key: str) -> str | None:
    row = connection.execute(
        REF_BY_KEY, {"endpoint_id": endpoint_id, "correlation_key": correlation_key}
    ).first()
    return None if row is None else str(row[0])


def put_remote_ref(
    connection: Connection,
    endpoint_id: str,
    correlation_key: str,
    remote_id: str,
    delivery_id: str,
    now: float,
) -> None:
    _upsert(
        connection,
        remote_refs,
        ("endpoint_id", "correlation_key"),
        {
            "endpoint_id": endpoint_id,
            "correlation_key": correlation_key,
            "remote_id": remote_id,
            "delivery_id": delivery_id,
            "updated_at": now,
        },
    )


def note_attention(
    connection: Connection, delivery_id: str, number: int, note: str, now: float
) -> None:
    _upsert(
        connection,
        delivery_notes,
        ("delivery_id", "number"),
        {"delivery_id": delivery_id, "number": number, "attention": note, "created_at": now},
    )


def attention_notes(
    connection: Connection, delivery_ids: Sequence[str]
) -> dict[str, dict[int, str]]:
    """Per delivery, its notes by attempt number (deliveries without notes are left out)."""
    notes: dict[str, dict[int, str]] = {}
    if not delivery_ids:
        return notes
    for row in connection.execute(NOTES_OF, {"ids": list(delivery_ids)}):
        notes.setdefault(row.delivery_id, {})[row.number] = row.attention
    return notes
