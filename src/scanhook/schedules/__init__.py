"""Scan schedules: recurrences, leads and the ``scheduled_scan`` notices they produce.

A pure library: no storage, no clock, no I/O. The scheduler, the store and the API call it:

- :func:`parse_schedule` / :func:`parse_patch` validate what users send (:class:`InvalidSchedule`
  names every bad field); :meth:`SchedulePatch.apply` makes the edited :class:`ScheduleSpec`.
- :meth:`Plan.from_spec` turns a stored schedule into a :class:`Plan`;
  :func:`due_notices` says what to publish (and what to record as skipped) on a scheduler pass,
  :func:`upcoming_notices` + :func:`render_next` answer ``GET /v1/schedules/{id}/next``.
- :attr:`Notice.key` (:func:`notice_key`) is the unique key that makes each notice exactly-once;
  :func:`to_notification` is the ``scheduled_scan`` to publish.
"""

from scanhook.schedules.leads import MAX_LEAD, Lead, parse_lead
from scanhook.schedules.model import (
    DEFAULT_LEADS,
    InvalidSchedule,
    SchedulePatch,
    ScheduleSpec,
    parse_patch,
    parse_schedule,
)
from scanhook.schedules.notices import (
    DEFAULT_GRACE,
    DueNotices,
    Notice,
    Plan,
    due_notices,
    notice_key,
    render_next,
    render_notice,
    to_notification,
    upcoming_notices,
)
from scanhook.schedules.recurrence import (
    CronRecurrence,
    Recurrence,
    RRuleRecurrence,
    explicit_zone,
    parse_recurrence,
)

__all__ = [
    "DEFAULT_GRACE",
    "DEFAULT_LEADS",
    "MAX_LEAD",
    "CronRecurrence",
    "DueNotices",
    "InvalidSchedule",
    "Lead",
    "Notice",
    "Plan",
    "RRuleRecurrence",
    "Recurrence",
    "SchedulePatch",
    "ScheduleSpec",
    "due_notices",
    "explicit_zone",
    "notice_key",
    "parse_lead",
    "parse_patch",
    "parse_recurrence",
    "parse_schedule",
    "render_next",
    "render_notice",
    "to_notification",
    "upcoming_notices",
]
