"""The scheduler: turns stored schedules into published ``scheduled_scan`` notices.

It works in passes (see docs/schedules.md). On each pass, for every enabled schedule, it asks
:func:`scanhook.schedules.due_notices` what became due since the schedule's watermark, and hands
the notices to :meth:`scanhook.store.Store.record_notices`, which records them under their
unique keys, publishes the events of the sent ones through the normal publish path and advances
the watermark, all in one transaction. So a notice is published exactly once, whatever number of
schedulers run and however often they crash; the scheduler itself keeps nothing that matters in
memory.

The clock is a callable (Unix seconds), so tests move time without sleeping. The Hub runs
:meth:`Scheduler.run` beside its workers and wakes it when a schedule changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog

from scanhook.errors import ScanhookError
from scanhook.notifications import ScheduledScan
from scanhook.schedules import Notice, Plan, due_notices, to_notification
from scanhook.store import NewEvent, Store
from scanhook.store.schedule_records import NoticeRecord, ScheduleRecord

__all__ = ["MAX_NOTICES_PER_PASS", "Clock", "PassResult", "Scheduler"]

log = structlog.get_logger("scanhook.scheduler")

#: A clock: the current time in Unix seconds.
Clock = Callable[[], float]
#: Notices one schedule records in one pass; after long downtime the rest follow in later passes.
MAX_NOTICES_PER_PASS = 500
#: The shortest wait between passes (a notice due "now" is taken on the next pass anyway).
_MIN_WAIT = 0.005


@dataclass(frozen=True, slots=True)
class PassResult:
    """What one pass did."""

    #: Notices this pass published (the others due were recorded by someone else before).
    sent: list[NoticeRecord]
    #: Notices this pass recorded as skipped (their send time was beyond the grace window).
    skipped: list[NoticeRecord]
    #: The earliest send time (Unix seconds) of a notice not yet due, or None.
    next_at: float | None


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _cut(notices: list[Notice]) -> tuple[list[Notice], bool]:
    """At most about :data:`MAX_NOTICES_PER_PASS` notices, never splitting one send time; and
    whether some were left for a later pass."""
    if len(notices) <= MAX_NOTICES_PER_PASS:
        return notices, False
    end = MAX_NOTICES_PER_PASS
    while end < len(notices) and notices[end].send_at == notices[end - 1].send_at:
        end += 1
    return notices[:end], end < len(notices)


class Scheduler:
    """Publishes the notices of the schedules in ``store``.

    ``make_event`` turns a notification into the event to publish (the Hub's, so that the wire
    body is encoded as for any other event); ``on_published`` is called after a pass published
    something (the Hub wakes its workers).
    """

    def __init__(
        self,
        store: Store,
        *,
        make_event: Callable[[ScheduledScan], NewEvent],
        grace: float,
        clock: Clock = time.time,
        poll: float = 1.0,
        on_published: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.grace = grace
        self.poll = poll
        self._make_event = make_event
        self._on_published = on_published
        self._plans: dict[str, tuple[int, Plan]] = {}
        self._wake: asyncio.Event | None = None

    def wake(self) -> None:
        """Run a pass soon (a schedule changed)."""
        if self._wake is not None:
            self._wake.set()

    def plan(self, schedule: ScheduleRecord) -> Plan:
        """The plan of a stored schedule (cached per revision)."""
        cached = self._plans.get(schedule.id)
        if cached is not None and cached[0] == schedule.revision:
            return cached[1]
        plan = Plan.from_spec(schedule.id, schedule.spec)
        self._plans[schedule.id] = (schedule.revision, plan)
        return plan

    async def run_pass(self, *, only: str | None = None) -> PassResult:
        """One pass over every enabled schedule (or just ``only``)."""
        now = self.clock()
        if only is not None:
            record = await self.store.get_schedule(only)
            schedules = [record] if record.spec.enabled else []
        else:
            schedules = await self.store.active_schedules()
            live = {s.id for s in schedules}
            for stale in [k for k in self._plans if k not in live]:
                del self._plans[stale]
        sent: list[NoticeRecord] = []
        skipped: list[NoticeRecord] = []
        next_at: float | None = None
        for schedule in schedules:
            try:
                done, upcoming = await self._pass_one(schedule, now)
            except ScanhookError as exc:
                log.warning("schedule pass failed", schedule=schedule.id, error=exc.message)
                continue
            sent.extend(n for n in done if n.status == "sent")
            skipped.extend(n for n in done if n.status == "skipped")
            if upcoming is not None and (next_at is None or upcoming < next_at):
                next_at = upcoming
        if sent and self._on_published is not None:
            self._on_published()
        if sent or skipped:
            log.info("schedule notices", sent=len(sent), skipped=len(skipped))
        return PassResult(sent, skipped, next_at)

    async def _pass_one(
        self, schedule: ScheduleRecord, now: float
    ) -> tuple[list[NoticeRecord], float | None]:
        """Record what is due of one schedule; the notices recorded and the next send time."""
        plan = self.plan(schedule)
        since = _utc(schedule.notices_through)
        due = due_notices(plan, since=since, now=_utc(now), grace=timedelta(seconds=self.grace))
        skipped_keys = {n.key for n in due.skipped}
        notices, more = _cut(sorted([*due.to_send, *due.skipped], key=lambda n: n.order))
        recorded: list[NoticeRecord] = []
        if notices:
            through = notices[-1].send_at.timestamp() if more else now
            records: list[NoticeRecord] = []
            events: list[NewEvent] = []
            for notice in notices:
                event = None
                if notice.key not in skipped_keys:
                    event = self._make_event(to_notification(schedule.spec, notice))
                    events.append(event)
                records.append(
                    NoticeRecord(
                        key=notice.key,
                        schedule_id=schedule.id,
                        occurrence=notice.occurrence.timestamp(),
                        lead=notice.lead,
                        lead_seconds=notice.lead_seconds,
                        send_at=notice.send_at.timestamp(),
                        status="skipped" if event is None else "sent",
                        event_id=None if event is None else event.id,
                        created_at=now,
                    )
                )
            result = await self.store.record_notices(
                schedule.id, schedule.revision, records, events, through
            )
            recorded = result or []
            if result is None or more:
                return recorded, now  # changed meanwhile, or more to catch up: pass again soon
        upcoming = next(iter(plan.notices(_utc(now))), None)
        return recorded, None if upcoming is None else upcoming.send_at.timestamp()

    async def run(self, stop: asyncio.Event) -> None:
        """Pass every ``poll`` seconds, sooner when a notice is due sooner or :meth:`wake` is
        called, until ``stop`` is set."""
        self._wake = wake = asyncio.Event()
        try:
            while not stop.is_set():
                wake.clear()
                wait = self.poll
                try:
                    result = await self.run_pass()
                except ScanhookError as exc:
                    log.warning("scheduler pass failed", error=exc.message)
                else:
                    if result.next_at is not None:
                        wait = min(wait, max(_MIN_WAIT, result.next_at - self.clock()))
                await _first(stop, wake, wait)
        finally:
            self._wake = None


async def _first(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    """Return when ``stop`` or ``wake`` is set, or after ``seconds``."""
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
