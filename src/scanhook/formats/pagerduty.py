"""``pagerduty``: PagerDuty Events API v2 (``POST /v2/enqueue``).

``ticket.opened`` triggers and ``ticket.closed`` resolves the same alert (``dedup_key``
``<dedup_prefix>/ticket/<number>``). A ``finished_scan`` triggers only when it found something at
or above ``min_severity``; scheduled scans and scans below the threshold are a :class:`Skip`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field

from scanhook.filters import SEVERITY_ORDER
from scanhook.formats.base import (
    FormatContext,
    FormattedRequest,
    Options,
    Rendered,
    Skip,
    correlation_key,
    event_datetime,
    json_body,
    link_of,
    rfc3339,
    scan_severity,
    summary,
    truncate,
)
from scanhook.notifications import FinishedScan, Notification, ScheduledScan, Severity
from scanhook.notifications.encoding import to_wire

__all__ = ["PATH", "SEVERITY_MAP", "PagerDutyOptions", "render"]

PATH = "/v2/enqueue"
#: Security Center severity → PagerDuty severity.
SEVERITY_MAP: dict[str, str] = {
    "Critical": "critical",
    "High": "error",
    "Medium": "warning",
    "Low": "info",
    "Info": "info",
}
_SUMMARY_LIMIT = 1024
_Text = Annotated[str, Field(min_length=1, max_length=255)]


class PagerDutyOptions(Options):
    #: The integration key of the PagerDuty service (Events API v2).
    routing_key: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_\-+]+$")]
    #: A finished scan triggers when it found at least one vulnerability of this severity or
    #: higher.
    min_severity: Literal["Critical", "High", "Medium", "Low"] = "High"
    #: Tickets below this severity are not sent (both their trigger and their resolve).
    ticket_min_severity: Severity = "Info"
    #: ``payload.source``; default: the asset of a ticket, the Security Center host of a scan.
    source: _Text | None = None
    component: _Text | None = None
    group: _Text | None = None
    dedup_prefix: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^\S+$")] = "scanhook"


def _rank(severity: str) -> int:
    return SEVERITY_ORDER.index(severity)


def render(
    notification: Notification, options: PagerDutyOptions, context: FormatContext
) -> Rendered:
    key = correlation_key(notification)
    dedup_key = f"{options.dedup_prefix}/{key}"
    if isinstance(notification, ScheduledScan):
        return Skip("pagerduty receives incidents; a scheduled scan is not one")
    if isinstance(notification, FinishedScan):
        found = scan_severity(notification)
        if found is None or _rank(found) < _rank(options.min_severity):
            return Skip(
                f"the scan found nothing at or above min_severity {options.min_severity} "
                f"({notification.critical_cnt} critical, {notification.high_cnt} high, "
                f"{notification.medium_cnt} medium, {notification.low_cnt} low)"
            )
        severity: str = found
        source = options.source or urlsplit(notification.link).hostname or notification.name
        event_class = "scan"
    else:
        if _rank(notification.severity) < _rank(options.ticket_min_severity):
            return Skip(
                f"the ticket's severity {notification.severity} is below ticket_min_severity "
                f"{options.ticket_min_severity}"
            )
        severity = notification.severity
        source = options.source or notification.asset_name
        event_class = "vulnerability"
        if context.event_type == "ticket.closed":
            resolve = {
                "routing_key": options.routing_key,
                "event_action": "resolve",
                "dedup_key": dedup_key,
            }
            return _request(resolve, key)
    payload: dict[str, Any] = {
        "summary": truncate(summary(notification, context.tz), _SUMMARY_LIMIT),
        "source": source,
        "severity": SEVERITY_MAP[severity],
        "timestamp": rfc3339(event_datetime(context)),
        "class": event_class,
    }
    if options.component is not None:
        payload["component"] = options.component
    if options.group is not None:
        payload["group"] = options.group
    payload["custom_details"] = to_wire(notification, context.tz)[notification.KEY]
    link = link_of(notification)
    trigger = {
        "routing_key": options.routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": payload,
        "client": "scanhook",
        "client_url": link,
        "links": [{"href": link, "text": "Open in Security Center"}],
    }
    return _request(trigger, key)


def _request(event: dict[str, Any], key: str) -> FormattedRequest:
    return FormattedRequest(
        path_suffix=PATH,
        headers={},
        body=json_body(event),
        content_type="application/json",
        correlation_key=key,
    )
