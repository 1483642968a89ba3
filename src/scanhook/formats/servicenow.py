"""``servicenow``: ServiceNow Table API incidents.

- Any notification creates an incident: ``POST /api/now/table/incident`` with ``correlation_id``
  ``<correlation_prefix>/<ticket/4711 | scan/name>`` and urgency/impact from the severity.
- ``ticket.closed`` with the incident's ``sys_id`` known (``context.remote_id``) resolves it:
  ``PATCH /api/now/table/incident/{sys_id}`` with ``state`` = ``resolved_state``, a close code and
  close notes. With no ``sys_id`` known it creates an incident instead, flagged for attention.
  A ``sys_id`` goes into the path only when it has a sys_id's shape (32 lowercase hex digits,
  see :mod:`scanhook.formats.remote_ids`); any other stored id fails the close (a RenderError).

The endpoint's URL is the instance, e.g. ``https://example.service-now.com``.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from pydantic import Field

from scanhook.formats.base import (
    FormatContext,
    FormattedRequest,
    Options,
    RenderError,
    correlation_key,
    facts,
    json_body,
    link_of,
    scan_severity,
    summary,
    truncate,
)
from scanhook.formats.remote_ids import UnexpectedRemoteId, check_remote_id
from scanhook.notifications import FinishedScan, Notification, Ticket

__all__ = ["PRIORITY", "TABLE_PATH", "ServiceNowOptions", "render"]

TABLE_PATH = "/api/now/table/incident"
#: Severity → (urgency, impact); with ServiceNow's default priority matrix Critical is P1,
#: High P2, Medium P3, Low P4 and Info P5.
PRIORITY: dict[str, tuple[str, str]] = {
    "Critical": ("1", "1"),
    "High": ("2", "1"),
    "Medium": ("2", "2"),
    "Low": ("3", "2"),
    "Info": ("3", "3"),
}
_HEADERS = {"Accept": "application/json"}
_SHORT_DESCRIPTION = 160
_CORRELATION_ID = 100
_DESCRIPTION = 4000
_Value = Annotated[str, Field(min_length=1, max_length=255)]


class ServiceNowOptions(Options):
    assignment_group: _Value | None = None
    caller_id: _Value | None = None
    category: _Value | None = None
    correlation_prefix: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^\S+$")] = (
        "scanhook"
    )
    #: The incident ``state`` that means resolved (6 in a default instance).
    resolved_state: Annotated[str, Field(pattern=r"^[0-9]+$")] = "6"
    close_code: _Value = "Solved (Permanently)"
    #: Further fields of the created incident.
    fields: dict[str, str] = Field(default_factory=dict)


def _severity(notification: Notification) -> str:
    if isinstance(notification, Ticket):
        return notification.severity
    if isinstance(notification, FinishedScan):
        return scan_severity(notification) or "Info"
    return "Info"


def _description(notification: Notification, context: FormatContext) -> str:
    lines = [summary(notification, context.tz), ""]
    lines += [f"{label}: {value}" for label, value in facts(notification, context.tz)]
    if isinstance(notification, FinishedScan) and notification.errors:
        lines += ["", "Errors:", notification.errors]
    lines += ["", f"Security Center: {link_of(notification)}"]
    return truncate("\n".join(lines), _DESCRIPTION)


def render(
    notification: Notification, options: ServiceNowOptions, context: FormatContext
) -> FormattedRequest:
    key = correlation_key(notification)
    closing = context.event_type == "ticket.closed"
    if closing and context.remote_id is not None:
        try:
            sys_id = quote(check_remote_id("servicenow", context.remote_id), safe="")
        except UnexpectedRemoteId as exc:
            raise RenderError(
                f"the ServiceNow incident stored for {key} is not usable: {exc}; no request is "
                "built from it"
            ) from None
        resolve = {
            "state": options.resolved_state,
            "close_code": options.close_code,
            "close_notes": f"Closed in the Security Center: {summary(notification, context.tz)}",
        }
        return FormattedRequest(
            path_suffix=f"{TABLE_PATH}/{sys_id}",
            headers=dict(_HEADERS),
            body=json_body(resolve),
            content_type="application/json",
            method="PATCH",
            correlation_key=key,
        )
    urgency, impact = PRIORITY[_severity(notification)]
    incident: dict[str, Any] = {
        "short_description": truncate(summary(notification, context.tz), _SHORT_DESCRIPTION),
        "description": _description(notification, context),
        "urgency": urgency,
        "impact": impact,
        "correlation_id": truncate(f"{options.correlation_prefix}/{key}", _CORRELATION_ID, ""),
        "correlation_display": "scanhook",
    }
    for name in ("assignment_group", "caller_id", "category"):
        value = getattr(options, name)
        if value is not None:
            incident[name] = value
    incident.update(options.fields)
    attention = (
        f"no ServiceNow incident is known for {key}: created a new incident instead of "
        "resolving one"
        if closing
        else None
    )
    return FormattedRequest(
        path_suffix=TABLE_PATH,
        headers=dict(_HEADERS),
        body=json_body(incident),
        content_type="application/json",
        correlation_key=key,
        expects_remote_id=context.event_type == "ticket.opened",
        attention=attention,
    )
