"""Schedules and their notice log: statements and transaction bodies, dialect-neutral
(SQLAlchemy Core), run by both backends.

:func:`record_notices` is the exactly-once step of the scheduler: in one transaction it checks
that the schedule is still the revision the pass computed from, inserts the notices (``ON
CONFLICT DO NOTHING`` on their unique key), publishes the events of those it won through
:func:`scanhook.store.publishing.publish`, and advances the watermark. A second scheduler, or the
same one after a crash, computing the same notices wins none of them and publishes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, bindparam, insert, or_, select, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from scanhook.errors import ConflictError, DatabaseError, InvalidRequest, NotFound
from scanhook.schedules import ScheduleSpec
from scanhook.store import publishing
from scanhook.store import queries as q
from scanhook.store.records import NewEvent, StorePolicy
from scanhook.store.schedule_records import NoticeRecord, ScheduleRecord
from scanhook.store.tables import schedule_notices, schedules

__all__ = [
    "active_schedules",
    "create_schedule",
    "delete_schedule",
    "get_schedule",
    "list_notices",
    "list_schedules",
    "record_notices",
    "update_schedule",
]

#: Notice rows inserted per statement (9 parameters each, well under SQLite's limit).
_CHUNK = 500

INSERT_SCHEDULE = insert(schedules)
SCHEDULE_BY_ID = select(schedules).where(schedules.c.id == bindparam("id"))
ACTIVE_SCHEDULES = (
    select(schedules)
    .where(schedules.c.deleted_at.is_(None), schedules.c.enabled.is_(True))
    .order_by(schedules.c.id)
)
ADVANCE_WATERMARK = (
    update(schedules)
    .where(schedules.c.id == bindparam("b_id"), schedules.c.notices_through < bindparam("through"))
    .values(notices_through=bindparam("through"))
)


def _spec_values(spec: ScheduleSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "type": spec.type,
        "link": spec.link,
        "recurrence": spec.recurrence,
        "timezone": spec.timezone,
        "leads": list(spec.leads),
        "enabled": spec.enabled,
    }


def _schedule(row: Row[Any]) -> ScheduleRecord:
    m = row._mapping
    try:
        spec = ScheduleSpec.model_validate(
            {
                "name": m["name"],
                "type": m["type"],
                "link": m["link"],
                "recurrence": m["recurrence"],
                "timezone": m["timezone"],
                "leads": list(m["leads"]),
                "enabled": bool(m["enabled"]),
            }
        )
    except ValueError as exc:  # a row no version of scanhook wrote
        raise DatabaseError(
            f"schedule {m['id']!r}: the stored schedule is not valid: {exc}"
        ) from exc
    return ScheduleRecord(
        id=m["id"],
        spec=spec,
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        notices_through=m["notices_through"],
        revision=m["revision"],
        deleted_at=m["deleted_at"],
    )


def _notice(row: Row[Any]) -> NoticeRecord:
    m = row._mapping
    return NoticeRecord(
        key=m["key"],
        schedule_id=m["schedule_id"],
        occurrence=m["occurrence"],
        lead=m["lead"],
        lead_seconds=m["lead_seconds"],
        send_at=m["send_at"],
        status=m["status"],
        event_id=m["event_id"],
        created_at=m["created_at"],
    )


def _row(connection: Connection, schedule_id: str, *, lock: bool = False) -> Row[Any] | None:
    stmt = SCHEDULE_BY_ID.with_for_update() if lock else SCHEDULE_BY_ID
    return connection.execute(stmt, {"id": schedule_id}).first()


def _live(connection: Connection, schedule_id: str, *, lock: bool = False) -> Row[Any]:
    row = _row(connection, schedule_id, lock=lock)
    if row is None or row.deleted_at is not None:
        raise NotFound(f"schedule {schedule_id!r}: no such schedule")
    return row


def create_schedule(connection: Connection, record: ScheduleRecord) -> ScheduleRecord:
    values = {
        "id": record.id,
        **_spec_values(record.spec),
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "deleted_at": None,
        "revision": record.revision,
        "notices_through": record.notices_through,
    }
    try:
        with connection.begin_nested():
            connection.execute(INSERT_SCHEDULE, values)
    except IntegrityError as exc:
        raise ConflictError(f"schedule {record.id!r}: a schedule with this id exists") from exc
    return _schedule(_live(connection, record.id))


def get_schedule(
    connection: Connection, schedule_id: str, *, include_deleted: bool = False
) -> ScheduleRecord:
    """The schedule; NotFound when there is none (or it is deleted, unless ``include_deleted``)."""
    row = _row(connection, schedule_id)
    if row is None or (row.deleted_at is not None and not include_deleted):
        raise NotFound(f"schedule {schedule_id!r}: no such schedule")
    return _schedule(row)


def list_schedules(connection: Connection, after: str | None, limit: int) -> list[ScheduleRecord]:
    """Schedules that are not deleted, by id; ``after`` is the last id of the previous page."""
    stmt = select(schedules).where(schedules.c.deleted_at.is_(None))
    if after is not None:
        stmt = stmt.where(schedules.c.id > after)
    stmt = stmt.order_by(schedules.c.id).limit(limit)
    return [_schedule(row) for row in connection.execute(stmt)]


def active_schedules(connection: Connection) -> list[ScheduleRecord]:
    """Every enabled schedule that is not deleted (what a scheduler pass looks at)."""
    return [_schedule(row) for row in connection.execute(ACTIVE_SCHEDULES)]


def update_schedule(
    connection: Connection,
    schedule_id: str,
    spec: ScheduleSpec,
    now: float,
    *,
    move_watermark: bool,
) -> ScheduleRecord:
    """Write ``spec``, bump the revision; with ``move_watermark`` the notices sent up to ``now``
    are decided (an edit affects only later notices)."""
    row = _live(connection, schedule_id, lock=True)
    values: dict[str, Any] = {
        **_spec_values(spec),
        "updated_at": now,
        "revision": row.revision + 1,
    }
    if move_watermark:
        values["notices_through"] = max(row.notices_through, now)
    connection.execute(update(schedules).where(schedules.c.id == schedule_id).values(values))
    return _schedule(_live(connection, schedule_id))


def delete_schedule(connection: Connection, schedule_id: str, now: float) -> None:
    """Mark it deleted (NotFound when there is none); its notice log stays."""
    row = _live(connection, schedule_id, lock=True)
    connection.execute(
        update(schedules)
        .where(schedules.c.id == schedule_id)
        .values(deleted_at=now, updated_at=now, revision=row.revision + 1)
    )


def list_notices(
    connection: Connection, schedule_id: str, after: str | None, limit: int
) -> list[NoticeRecord]:
    """The schedule's notice log in send order (deleted schedules' too); ``after`` is the key
    of the last notice of the previous page. NotFound when the schedule never existed."""
    if _row(connection, schedule_id) is None:
        raise NotFound(f"schedule {schedule_id!r}: no such schedule")
    n = schedule_notices.c
    stmt = select(schedule_notices).where(n.schedule_id == schedule_id)
    if after is not None:
        cursor = connection.execute(
            select(n.send_at).where(n.key == after, n.schedule_id == schedule_id)
        ).first()
        if cursor is None:
            raise InvalidRequest(
                f"cursor: {after!r} is not a notice of this schedule", field="cursor"
            )
        stmt = stmt.where(
            or_(n.send_at > cursor.send_at, and_(n.send_at == cursor.send_at, n.key > after))
        )
    stmt = stmt.order_by(n.send_at, n.key).limit(limit)
    return [_notice(row) for row in connection.execute(stmt)]


def _insert_notices(connection: Connection, rows: list[dict[str, Any]]) -> set[str]:
    """Insert the rows whose key is new; the keys inserted."""
    insert_ = q.postgresql_insert if connection.dialect.name == "postgresql" else sqlite.insert
    won: set[str] = set()
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        stmt = (
            insert_(schedule_notices)
            .values(chunk)
            .on_conflict_do_nothing(index_elements=[schedule_notices.c.key])
            .returning(schedule_notices.c.key)
        )
        won.update(connection.execute(stmt).scalars())
    return won


def record_notices(
    connection: Connection,
    schedule_id: str,
    revision: int,
    notices: Sequence[NoticeRecord],
    events: Sequence[NewEvent],
    through: float,
    policy: StorePolicy,
    routes: publishing.Routes | None = None,
) -> list[NoticeRecord] | None:
    """Record ``notices``, publish the events (``events``, matched by ``NoticeRecord.event_id``)
    of the sent ones this call is first to record, and move the watermark to ``through``.
    ``routes``: where the events go (see :func:`scanhook.store.publishing.publish`).

    None, and nothing written, when the schedule is no longer at ``revision`` (edited, disabled
    or deleted since the pass read it): the next pass computes again. Otherwise the notices this
    call recorded, in the order given (those recorded before, by anyone, are left out).
    """
    row = _row(connection, schedule_id, lock=True)  # serialises passes over one schedule
    if row is None or row.deleted_at is not None or row.revision != revision:
        return None
    rows = [
        {
            "key": notice.key,
            "schedule_id": notice.schedule_id,
            "occurrence": notice.occurrence,
            "lead": notice.lead,
            "lead_seconds": notice.lead_seconds,
            "send_at": notice.send_at,
            "status": notice.status,
            "event_id": notice.event_id,
            "created_at": notice.created_at,
        }
        for notice in sorted(notices, key=lambda n: n.key)
    ]
    won = _insert_notices(connection, rows) if rows else set()
    recorded = [notice for notice in notices if notice.key in won]
    by_id = {event.id: event for event in events}
    to_publish = [
        by_id[notice.event_id]
        for notice in recorded
        if notice.status == "sent" and notice.event_id is not None
    ]
    if to_publish:
        publishing.publish(connection, to_publish, policy, routes)
    connection.execute(ADVANCE_WATERMARK, {"b_id": schedule_id, "through": through})
    return recorded
