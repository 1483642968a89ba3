"""The stored forms of schedules and of their notice log, as plain immutable values.

Times are Unix seconds (float, UTC), as everywhere in the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from scanhook.schedules import ScheduleSpec

__all__ = ["NoticeRecord", "NoticeStatus", "ScheduleRecord"]

NoticeStatus = Literal["sent", "skipped"]


@dataclass(frozen=True, slots=True)
class ScheduleRecord:
    """A schedule as stored: the user's spec and the scheduler's bookkeeping."""

    id: str
    spec: ScheduleSpec
    created_at: float
    updated_at: float
    #: The scheduler's watermark: every notice sent at or before it has been decided.
    notices_through: float
    #: Bumped by every change; a scheduler pass that read an older one records nothing.
    revision: int = 1
    #: Set when deleted: the row stays so that the notice log keeps naming it.
    deleted_at: float | None = None


@dataclass(frozen=True, slots=True)
class NoticeRecord:
    """One decided notice: sent (with the event that carries it) or skipped (too late)."""

    #: :func:`scanhook.schedules.notice_key`, unique in storage.
    key: str
    schedule_id: str
    #: The run it announces.
    occurrence: float
    #: The lead as given (``"1h"``) and its length.
    lead: str
    lead_seconds: int
    send_at: float
    status: NoticeStatus
    #: The published event (``sent``); None when skipped.
    event_id: str | None
    #: When it was recorded.
    created_at: float
