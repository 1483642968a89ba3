"""Helpers of the schedule tests: a clock the test moves, and reading what was published."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from scanhook.hub import Hub
from scanhook.scheduler import PassResult
from scanhook.store.schedule_records import NoticeRecord

__all__ = ["Clock", "MakeHub", "at", "count_rows", "notices", "payload", "run_until", "sent_keys"]


#: Makes a Hub on the test's database with the test's clock (settings as keyword arguments).
MakeHub = Callable[..., Hub]


def at(text: str) -> datetime:
    """An aware UTC datetime of ``"2026-03-01 12:00"``."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


@dataclass
class Clock:
    """Unix seconds that only move when the test says so."""

    now: float = at("2026-03-01 00:00").timestamp()

    def __call__(self) -> float:
        return self.now

    def set(self, moment: datetime | str) -> None:
        self.now = (at(moment) if isinstance(moment, str) else moment).timestamp()

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def payload(hub: Hub, event_id: str | None) -> dict[str, Any]:
    """The ``scheduled_scan`` object of a published event."""
    assert event_id is not None
    event = await hub.store.get_event(event_id)
    assert event.type == "scheduled_scan"
    body = json.loads(event.body)
    assert list(body) == ["scheduled_scan"]
    result: dict[str, Any] = body["scheduled_scan"]
    return result


async def notices(hub: Hub, schedule_id: str) -> list[NoticeRecord]:
    """The whole notice log of a schedule."""
    found: list[NoticeRecord] = []
    after: str | None = None
    while True:
        page = await hub.schedule_notices(schedule_id, after=after, limit=100)
        found.extend(page)
        if len(page) < 100:
            return found
        after = page[-1].key


async def run_until(
    hub: Hub, clock: Clock, end: datetime | str, step: float
) -> list[tuple[float, PassResult]]:
    """A pass every ``step`` seconds of the test clock up to ``end``; each pass's time and
    result (only those that did something)."""
    stop = (at(end) if isinstance(end, str) else end).timestamp()
    done: list[tuple[float, PassResult]] = []
    while clock.now < stop:
        clock.advance(min(step, stop - clock.now))
        result = await hub.run_scheduler_pass()
        if result.sent or result.skipped:
            done.append((clock.now, result))
    return done


def sent_keys(passes: list[tuple[float, PassResult]]) -> list[str]:
    return [n.key for _, result in passes for n in result.sent]


def count_rows(db_url: str, table: str) -> int:
    """Rows of ``table`` in the database, counted outside scanhook."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    url = make_url(db_url)
    if url.get_backend_name() == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()
