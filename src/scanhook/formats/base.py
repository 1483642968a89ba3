"""What every destination format takes and gives, and the helpers they share.

A format is a pure function ``(notification, options, context) -> FormattedRequest | Skip``: no
I/O, no clock, no randomness, so the same input always gives the same bytes (golden files).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict

from scanhook.errors import ScanhookError
from scanhook.notifications import FinishedScan, Notification, ScheduledScan, Severity, Ticket
from scanhook.notifications.encoding import to_wire

__all__ = [
    "FormatContext",
    "FormattedRequest",
    "Options",
    "RenderError",
    "Rendered",
    "Skip",
    "correlation_key",
    "event_datetime",
    "facts",
    "json_body",
    "link_of",
    "rfc3339",
    "scan_severity",
    "summary",
    "truncate",
    "zone_name",
]


@dataclass(frozen=True, slots=True)
class FormatContext:
    """What a format knows beside the notification and the endpoint's options."""

    #: The event's id (``evt_…``): stable across attempts, so usable as a dedup key.
    event_id: str
    #: ``scheduled_scan``, ``finished_scan``, ``ticket.opened`` or ``ticket.closed``.
    event_type: str
    #: When the event was accepted, Unix seconds (``EventRecord.created_at``).
    event_time: float
    #: The display time zone of wire timestamps (``SCANHOOK_DISPLAY_TIMEZONE``).
    tz: tzinfo = UTC
    #: For ``jira`` / ``servicenow``: the remote id (issue key / sys_id) stored for this
    #: notification's :func:`correlation_key` by an earlier successful create, if any.
    remote_id: str | None = None


@dataclass(frozen=True, slots=True)
class FormattedRequest:
    """The request a format asks the engine to send.

    The engine appends ``path_suffix`` to the endpoint's URL (``url.rstrip("/") + path_suffix``),
    sends ``body`` with ``Content-Type: content_type`` and the ``headers`` (beside its own:
    signature, user agent, authentication), using ``method``.
    """

    path_suffix: str
    headers: dict[str, str]
    body: bytes
    content_type: str
    method: str = "POST"
    #: The key this request is about (``ticket/4711``, ``scan/Daily%20scan``).
    correlation_key: str | None = None
    #: True when a 2xx response carries a remote id (Jira issue key, ServiceNow sys_id) that the
    #: engine should store against ``correlation_key``: read it with
    #: :func:`scanhook.formats.extract_remote_id`.
    expects_remote_id: bool = False
    #: Set when the request is a fallback the operator should know about, e.g. a ticket closed
    #: with no remote issue known, so it is created instead of transitioned. The engine records
    #: it with the delivery ("needs attention"); the request is still sent.
    attention: str | None = None


@dataclass(frozen=True, slots=True)
class Skip:
    """The format deliberately sends nothing for this notification (e.g. a PagerDuty endpoint
    and a finished scan below its ``min_severity``). The engine records the delivery as
    succeeded without a request, with ``reason``."""

    reason: str


Rendered = FormattedRequest | Skip


class RenderError(ScanhookError):
    """The format could not render this notification (e.g. a user template exceeded its budget).

    Retrying cannot help: the engine should fail the delivery at once with this message."""


class Options(BaseModel):
    """Base of every format's ``format_options`` model: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def json_body(value: Any) -> bytes:
    """UTF-8 JSON with the default separators (non-ASCII written as is)."""
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def correlation_key(notification: Notification) -> str:
    """A stable key per ticket (``ticket/4711``) or per scan (``scan/<name, percent-encoded>``)."""
    if isinstance(notification, Ticket):
        return f"ticket/{notification.number}"
    return "scan/" + quote(notification.name, safe="")


def event_datetime(context: FormatContext) -> datetime:
    return datetime.fromtimestamp(context.event_time, UTC)


def rfc3339(moment: datetime) -> str:
    """``2026-03-02T10:57:00Z`` (UTC; fractions of a second only when present)."""
    text = moment.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


def zone_name(tz: tzinfo) -> str:
    return str(getattr(tz, "key", None) or tz.tzname(None) or "UTC")


def scan_severity(scan: FinishedScan) -> Severity | None:
    """The highest severity a finished scan found (None when it found nothing)."""
    for severity, count in (
        ("Critical", scan.critical_cnt),
        ("High", scan.high_cnt),
        ("Medium", scan.medium_cnt),
        ("Low", scan.low_cnt),
    ):
        if count > 0:
            return severity  # type: ignore[return-value]
    return None


def link_of(notification: Notification) -> str:
    return notification.asset_link if isinstance(notification, Ticket) else notification.link


def _wire(notification: Notification, tz: tzinfo) -> dict[str, Any]:
    body: dict[str, Any] = to_wire(notification, tz)[notification.KEY]
    return body


def summary(notification: Notification, tz: tzinfo = UTC) -> str:
    """One line that says what happened, for titles, summaries and fallbacks."""
    wire = _wire(notification, tz)
    if isinstance(notification, ScheduledScan):
        return (
            f'Scan "{notification.name}" ({notification.type}) scheduled for '
            f"{wire['starts_at']} {zone_name(tz)}"
        )
    if isinstance(notification, FinishedScan):
        counts = (
            f"{notification.critical_cnt} critical, {notification.high_cnt} high, "
            f"{notification.medium_cnt} medium, {notification.low_cnt} low"
        )
        state = "finished" if notification.status == "Completed" else f"ended {notification.status}"
        return f'Scan "{notification.name}" {state}: {counts}'
    what = f"{notification.vulnerability_name} on {notification.asset_name}"
    if notification.event_type == "ticket.opened":
        return f"[{notification.severity}] {what} (ticket #{notification.number} opened)"
    return f"[{notification.severity}] {what} (ticket #{notification.number} {notification.status})"


_LABELS = {
    "name": "Scan",
    "type": "Type",
    "starts_at": "Starts at",
    "started": "Started",
    "finished": "Finished",
    "duration": "Duration",
    "status": "Status",
    "errors": "Errors",
    "critical_cnt": "Critical",
    "high_cnt": "High",
    "medium_cnt": "Medium",
    "low_cnt": "Low",
    "number": "Ticket",
    "severity": "Severity",
    "vulnerability_name": "Vulnerability",
    "asset_name": "Asset",
    "due_date": "Due date",
    "owner": "Owner",
}
_TIMESTAMPS = ("starts_at", "started", "finished")


def facts(notification: Notification, tz: tzinfo = UTC) -> list[tuple[str, str]]:
    """Label/value pairs of the notification's fields for cards, without links and errors."""
    pairs: list[tuple[str, str]] = []
    for name, value in _wire(notification, tz).items():
        if name not in _LABELS or name == "errors":
            continue
        text = str(value)
        if name in _TIMESTAMPS:
            text = f"{text} {zone_name(tz)}"
        elif name == "number":
            text = f"#{value}"
        pairs.append((_LABELS[name], text))
    return pairs


def truncate(text: str, limit: int, marker: str = "…") -> str:
    """``text`` cut to at most ``limit`` characters, ending with ``marker`` when cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(marker))] + marker
