"""``ocsf``: OCSF 1.3.0 events. Tickets become a Vulnerability Finding (class_uid 2002), scans a
Scan Activity (class_uid 6007). Times are OCSF ``timestamp_t``: milliseconds since the epoch.

The output is validated offline in the tests against the JSON Schemas vendored in
``ocsf_schema/`` (see its ``PROVENANCE.md``); :func:`schema` loads them.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from scanhook.formats.base import (
    FormatContext,
    FormattedRequest,
    Options,
    correlation_key,
    json_body,
    scan_severity,
    summary,
)
from scanhook.notifications import FinishedScan, Notification, ScheduledScan, Ticket

__all__ = ["OCSF_VERSION", "SEVERITY_ID", "OcsfOptions", "render", "schema"]

OCSF_VERSION = "1.3.0"
SEVERITY_ID = {"Info": 1, "Low": 2, "Medium": 3, "High": 4, "Critical": 5}
_SCHEMAS = {2002: "vulnerability_finding.json", 6007: "scan_activity.json"}


class OcsfOptions(Options):
    """``ocsf`` takes no options."""


@cache
def schema(class_uid: int) -> dict[str, Any]:
    """The vendored JSON Schema of ``class_uid`` (2002 or 6007)."""
    text = resources.files("scanhook.formats.ocsf_schema").joinpath(_SCHEMAS[class_uid]).read_text()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _metadata(notification: Notification, context: FormatContext) -> dict[str, Any]:
    return {
        "version": OCSF_VERSION,
        "product": {"name": "scanhook", "vendor_name": "scanhook"},
        "uid": context.event_id,
        "correlation_uid": correlation_key(notification),
    }


def _finding(ticket: Ticket, context: FormatContext) -> dict[str, Any]:
    closed = context.event_type == "ticket.closed"
    activity_id = 3 if closed else 1
    wire_due = ticket.due_date.isoformat()
    return {
        "activity_id": activity_id,
        "activity_name": "Close" if closed else "Create",
        "category_uid": 2,
        "category_name": "Findings",
        "class_uid": 2002,
        "class_name": "Vulnerability Finding",
        "type_uid": 2002 * 100 + activity_id,
        "severity_id": SEVERITY_ID[ticket.severity],
        "severity": "Informational" if ticket.severity == "Info" else ticket.severity,
        "status_id": 4 if closed else 1,
        "status": "Resolved" if closed else "New",
        "status_detail": ticket.status,
        "time": int(context.event_time * 1000),
        "message": summary(ticket, context.tz),
        "metadata": _metadata(ticket, context),
        "finding_info": {
            "uid": correlation_key(ticket),
            "title": summary(ticket, context.tz),
            "types": ["Vulnerability"],
            "src_url": ticket.asset_link,
        },
        "vulnerabilities": [{"title": ticket.vulnerability_name, "severity": ticket.severity}],
        "resources": [
            {
                "name": ticket.asset_name,
                "uid": ticket.asset_link,
                "type": "asset",
                "owner": {"email_addr": ticket.owner},
            }
        ],
        "unmapped": {"ticket_number": ticket.number, "due_date": wire_due},
    }


def _scan_activity(scan: ScheduledScan | FinishedScan, context: FormatContext) -> dict[str, Any]:
    event: dict[str, Any]
    if isinstance(scan, ScheduledScan):
        activity_id, activity = 99, "Scheduled"
        severity = "Info"
        event = {"start_time": _ms(scan.starts_at)}
        unmapped: dict[str, Any] = {"link": scan.link}
    else:
        completed = scan.status == "Completed"
        activity_id, activity = (2, "Completed") if completed else (6, "Error")
        severity = scan_severity(scan) or "Info"
        event = {
            "start_time": _ms(scan.started),
            "end_time": _ms(scan.finished),
            "duration": _ms(scan.finished) - _ms(scan.started),
            "num_detections": scan.critical_cnt + scan.high_cnt + scan.medium_cnt + scan.low_cnt,
            "status_id": 1 if completed else 2,
            "status": scan.status,
        }
        if scan.errors:
            event["status_detail"] = scan.errors
        unmapped = {
            "link": scan.link,
            "duration": scan.duration,
            "critical_cnt": scan.critical_cnt,
            "high_cnt": scan.high_cnt,
            "medium_cnt": scan.medium_cnt,
            "low_cnt": scan.low_cnt,
        }
    return {
        "activity_id": activity_id,
        "activity_name": activity,
        "category_uid": 6,
        "category_name": "Application Activity",
        "class_uid": 6007,
        "class_name": "Scan Activity",
        "type_uid": 6007 * 100 + activity_id,
        "severity_id": SEVERITY_ID[severity],
        "severity": "Informational" if severity == "Info" else severity,
        "time": int(context.event_time * 1000),
        "message": summary(scan, context.tz),
        "metadata": _metadata(scan, context),
        "scan": {
            "name": scan.name,
            "uid": correlation_key(scan),
            "type": scan.type,
            "type_id": 99,
        },
        **event,
        "unmapped": unmapped,
    }


def render(
    notification: Notification, options: OcsfOptions, context: FormatContext
) -> FormattedRequest:
    if isinstance(notification, Ticket):
        event = _finding(notification, context)
    else:
        event = _scan_activity(notification, context)
    return FormattedRequest(
        path_suffix="",
        headers={},
        body=json_body(event),
        content_type="application/json",
        correlation_key=correlation_key(notification),
    )
