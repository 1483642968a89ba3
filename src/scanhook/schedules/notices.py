"""Notices: one ``scheduled_scan`` announcement per (schedule, occurrence, lead).

Everything here is pure: the caller passes the clock (``after``, ``since``, ``now``). The scheduler
keeps, per schedule, a watermark ``since`` (the ``now`` of its previous pass) and on each pass
calls :func:`due_notices`, publishes ``to_send`` (each under its :func:`notice_key`, unique in
storage, so a notice is published exactly once however often it is computed) and records
``skipped``; then it moves the watermark to ``now``.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from itertools import islice
from typing import Any, NamedTuple

from scanhook.notifications import ScheduledScan
from scanhook.notifications.timefmt import format_timestamp
from scanhook.schedules.leads import Lead
from scanhook.schedules.model import ScheduleSpec
from scanhook.schedules.recurrence import Recurrence

__all__ = [
    "DEFAULT_GRACE",
    "DueNotices",
    "Notice",
    "Plan",
    "due_notices",
    "notice_key",
    "render_next",
    "render_notice",
    "to_notification",
    "upcoming_notices",
]

#: Notices whose send time passed less than this long ago are still sent after downtime.
DEFAULT_GRACE = timedelta(hours=1)


def _require_aware(name: str, value: datetime) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")
    return value.astimezone(UTC)


def _lead_seconds(lead: str | int | Lead) -> int:
    if isinstance(lead, Lead):
        return lead.seconds
    if isinstance(lead, bool) or not isinstance(lead, int | str):
        raise ValueError(f"a lead is a duration string or seconds, got {type(lead).__name__}")
    if isinstance(lead, int):
        if lead < 0:
            raise ValueError(f"a lead cannot be negative, got {lead}")
        return lead
    return Lead.parse(lead).seconds


def notice_key(schedule_id: str, occurrence: datetime, lead: str | int | Lead) -> str:
    """The stable, unique key of the notice of ``occurrence`` with ``lead``.

    ``"{schedule_id}/{occurrence as YYYYMMDDTHHMMSSZ}/{lead in seconds}s"``, e.g.
    ``"sch_01J…/20261207T013000Z/3600s"``. The lead counts by its length, so rewriting ``"1h"`` as
    ``"60m"`` does not announce a run twice; the occurrence counts as its UTC instant, so changing
    the zone or rewriting the rule without moving a run does not either.
    """
    if not isinstance(schedule_id, str) or not schedule_id:
        raise ValueError("schedule_id must be a non-empty string")
    moment = _require_aware("occurrence", occurrence)
    return f"{schedule_id}/{moment:%Y%m%dT%H%M%SZ}/{_lead_seconds(lead)}s"


@dataclass(frozen=True, slots=True)
class Notice:
    """The announcement of one occurrence, ``lead`` ahead of it."""

    schedule_id: str
    #: When the scan starts, aware UTC.
    occurrence: datetime
    #: The lead as given (``"1h"``).
    lead: str
    lead_seconds: int
    #: When to send it: ``occurrence - lead``, aware UTC.
    send_at: datetime = field(init=False)

    def __post_init__(self) -> None:
        occurrence = _require_aware("occurrence", self.occurrence)
        if self.lead_seconds < 0:
            raise ValueError(f"lead_seconds cannot be negative, got {self.lead_seconds}")
        object.__setattr__(self, "occurrence", occurrence)
        object.__setattr__(self, "send_at", occurrence - timedelta(seconds=self.lead_seconds))

    @property
    def key(self) -> str:
        """:func:`notice_key` of this notice."""
        return notice_key(self.schedule_id, self.occurrence, self.lead_seconds)

    @property
    def order(self) -> tuple[datetime, datetime, int]:
        """Sort key: send time, then occurrence, then lead."""
        return (self.send_at, self.occurrence, self.lead_seconds)


@dataclass(frozen=True, slots=True)
class Plan:
    """What the notice functions need of a schedule: its id, recurrence, leads and switch."""

    schedule_id: str
    recurrence: Recurrence
    leads: tuple[Lead, ...]
    enabled: bool = True

    @classmethod
    def from_spec(cls, schedule_id: str, spec: ScheduleSpec) -> Plan:
        """The plan of a validated schedule."""
        return cls(schedule_id, spec.rule, spec.parsed_leads, spec.enabled)

    @classmethod
    def build(
        cls,
        schedule_id: str,
        recurrence: Recurrence,
        leads: Iterable[str | Lead] = ("24h", "1h"),
        *,
        enabled: bool = True,
    ) -> Plan:
        """A plan from a recurrence and lead texts (ValueError for a bad lead)."""
        parsed = tuple(lead if isinstance(lead, Lead) else Lead.parse(lead) for lead in leads)
        return cls(schedule_id, recurrence, parsed, enabled)

    def _stream(self, lead: Lead, after: datetime, until: datetime | None) -> Iterator[Notice]:
        """Notices of ``lead`` whose send time is in (after, until], ascending."""
        delta = lead.delta
        for occurrence in self.recurrence.occurrences(
            after + delta, until=None if until is None else until + delta
        ):
            yield Notice(self.schedule_id, occurrence, lead.text, lead.seconds)

    def notices(self, after: datetime, until: datetime | None = None) -> Iterator[Notice]:
        """Every notice with ``after < send_at <= until`` (unbounded without ``until``), in send
        order; nothing when disabled."""
        after = _require_aware("after", after)
        if until is not None:
            until = _require_aware("until", until)
        if not self.enabled or not self.leads:
            return iter(())
        streams = [self._stream(lead, after, until) for lead in self.leads]
        return heapq.merge(*streams, key=lambda notice: notice.order)


def upcoming_notices(plan: Plan, *, after: datetime, count: int) -> list[Notice]:
    """The next ``count`` notices sent after ``after``, in send order (``[]`` when disabled).

    Leads longer than the gap between runs are handled: with runs every hour and a 24h lead the
    next notices announce runs a day ahead.
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValueError(f"count must be an integer >= 0, got {count!r}")
    return list(islice(plan.notices(after), count))


class DueNotices(NamedTuple):
    """What the scheduler does on one pass."""

    #: Notices to publish now, in send order.
    to_send: list[Notice]
    #: Notices whose send time is more than the grace window in the past: record, do not send.
    skipped: list[Notice]


def due_notices(
    plan: Plan, *, since: datetime, now: datetime, grace: timedelta = DEFAULT_GRACE
) -> DueNotices:
    """The notices with ``since < send_at <= now``: those sent at or after ``now - grace`` are
    ``to_send``, older ones ``skipped``. Nothing when disabled or when ``since >= now``."""
    since = _require_aware("since", since)
    now = _require_aware("now", now)
    if grace < timedelta(0):
        raise ValueError(f"grace cannot be negative, got {grace}")
    if since >= now:
        return DueNotices([], [])
    oldest = now - grace
    to_send: list[Notice] = []
    skipped: list[Notice] = []
    for notice in plan.notices(since, now):
        (skipped if notice.send_at < oldest else to_send).append(notice)
    return DueNotices(to_send, skipped)


def to_notification(spec: ScheduleSpec, notice: Notice) -> ScheduledScan:
    """The ``scheduled_scan`` notification of ``notice``: ``starts_at`` is the occurrence."""
    return ScheduledScan(
        name=spec.name, type=spec.type, starts_at=notice.occurrence, link=spec.link
    )


def render_notice(notice: Notice, display_tz: tzinfo = UTC) -> dict[str, Any]:
    """Contract §7: ``{"send_at": ISO 8601 with offset, "starts_at": "YYYY-MM-DD HH:MM",
    "lead": "1h"}``, both times in the display zone."""
    return {
        "send_at": notice.send_at.astimezone(display_tz).isoformat(),
        "starts_at": format_timestamp(notice.occurrence, display_tz),
        "lead": notice.lead,
    }


def render_next(notices: Sequence[Notice], display_tz: tzinfo = UTC) -> dict[str, Any]:
    """The body of ``GET /v1/schedules/{id}/next``: ``{"notices": [render_notice(…), …]}``."""
    return {"notices": [render_notice(notice, display_tz) for notice in notices]}
