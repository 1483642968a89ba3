"""``ocsf``: OCSF 1.8.0 events. Tickets become a Vulnerability Finding (class_uid 2002), scans a
Scan Activity (class_uid 6007). Times are OCSF ``timestamp_t``: milliseconds since the epoch.

The tests validate every output offline against the official OCSF 1.8.0 definitions, compiled to
JSON Schema by the ``ocsf-json-schema`` package (a dev dependency; nothing here imports it).
"""

from __future__ import annotations

import re
from datetime import datetime
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

__all__ = ["OCSF_VERSION", "SEVERITY_ID", "OcsfOptions", "render"]

OCSF_VERSION = "1.8.0"
SEVERITY_ID = {"Info": 1, "Low": 2, "Medium": 3, "High": 4, "Critical": 5}
#: OCSF's ``email_t`` pattern (1.0.0–1.8.0); an owner it refuses (e.g. ``åsa@…``) is only ``name``.
_EMAIL_T = re.compile(r"^[a-zA-Z0-9!#$%&'*+-/=?^_`{|}~.]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+$")
_CVE = re.compile(r"\bCVE-\d{4}-\d{4,}\b")


class OcsfOptions(Options):
    """``ocsf`` takes no options."""


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _metadata(notification: Notification, context: FormatContext) -> dict[str, Any]:
    return {
        "version": OCSF_VERSION,
        "product": {"name": "scanhook", "vendor_name": "scanhook"},
        "uid": context.event_id,
        "correlation_uid": correlation_key(notification),
    }


def _vulnerability(ticket: Ticket) -> dict[str, Any]:
    """OCSF ``vulnerability``: it needs exactly one of ``advisory``, ``cve``, ``cwe``.

    The Security Center sends only the vulnerability's name: the first CVE id in it becomes
    ``cve`` (any others ``related_vulnerabilities``); without one, the name identifies the
    ``advisory``, the only identifier the notification carries.
    """
    name = ticket.vulnerability_name
    vulnerability: dict[str, Any] = {"title": name, "severity": ticket.severity}
    cves = list(dict.fromkeys(_CVE.findall(name)))
    if cves:
        vulnerability["cve"] = {"uid": cves[0]}
        if cves[1:]:
            vulnerability["related_vulnerabilities"] = cves[1:]
    else:
        vulnerability["advisory"] = {"uid": name, "title": name}
    return vulnerability


def _owner(email: str) -> dict[str, Any]:
    """OCSF ``user`` (needs ``account``, ``name`` or ``uid``); ``email_addr`` if ``email_t`` fits"""
    owner: dict[str, Any] = {"name": email}
    if _EMAIL_T.match(email):
        owner["email_addr"] = email
    return owner


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
        "vulnerabilities": [_vulnerability(ticket)],
        "resources": [
            {
                "name": ticket.asset_name,
                "uid": ticket.asset_link,
                "type": "asset",
                "owner": _owner(ticket.owner),
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
