"""Fixed notifications and the golden-file check shared by the format tests.

Regenerate the golden files after an intended change of a format with::

    SCANHOOK_UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/formats

then review the diff of ``tests/unit/formats/golden/`` before committing it.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from scanhook.formats import FormatContext, FormattedRequest, Rendered, Skip
from scanhook.notifications import EVENT_TYPES, Notification, parse

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("SCANHOOK_UPDATE_GOLDEN") == "1"
#: 2026-03-02 11:05:00 UTC, when the fixed events were accepted.
EVENT_TIME = datetime(2026, 3, 2, 11, 5, tzinfo=UTC).timestamp()

WIRE: dict[str, dict[str, Any]] = {
    "scheduled_scan": {
        "scheduled_scan": {
            "name": "Nightly web",
            "type": "web application",
            "starts_at": "2026-03-03 02:30",
            "link": "https://sc.example.com/scans/schedules/view/42",
        }
    },
    "finished_scan": {
        "finished_scan": {
            "name": "Daily scan",
            "type": "network",
            "started": "2026-03-02 10:00",
            "finished": "2026-03-02 10:57",
            "duration": "00:57",
            "status": "Completed",
            "errors": "Host 10.0.0.7 did not answer\n\nCredentials for <db-01> & <db-02> rejected",
            "critical_cnt": 1,
            "high_cnt": 2,
            "medium_cnt": 7,
            "low_cnt": 11,
            "link": "https://sc.example.com/scans/view/123",
        }
    },
    "ticket.opened": {
        "ticket": {
            "number": 4711,
            "status": "Open",
            "severity": "High",
            "vulnerability_name": "OpenSSH < 9.3p2 remote code execution",
            "asset_name": "prod-web-01",
            "asset_link": "https://sc.example.com/assets/view/9",
            "due_date": "2026-03-31",
            "owner": "åsa.ops@example.com",
        }
    },
    "ticket.closed": {
        "ticket": {
            "number": 4711,
            "status": "Closed (Fixed)",
            "severity": "High",
            "vulnerability_name": "OpenSSH < 9.3p2 remote code execution",
            "asset_name": "prod-web-01",
            "asset_link": "https://sc.example.com/assets/view/9",
            "due_date": "2026-03-31",
            "owner": "åsa.ops@example.com",
        }
    },
}
EVENT_IDS = {
    "scheduled_scan": "evt_01JNQ8Z3S2C9M6V1T0K4R7B5XA",
    "finished_scan": "evt_01JNQ8Z3S2C9M6V1T0K4R7B5XB",
    "ticket.opened": "evt_01JNQ8Z3S2C9M6V1T0K4R7B5XC",
    "ticket.closed": "evt_01JNQ8Z3S2C9M6V1T0K4R7B5XD",
}
assert set(WIRE) == set(EVENT_TYPES)


def notification(event_type: str) -> Notification:
    return parse(WIRE[event_type])


def context(event_type: str, remote_id: str | None = None) -> FormatContext:
    return FormatContext(
        event_id=EVENT_IDS[event_type],
        event_type=event_type,
        event_time=EVENT_TIME,
        tz=UTC,
        remote_id=remote_id,
    )


def as_document(result: Rendered) -> dict[str, Any]:
    """A golden file's content: the request with its body decoded (JSON when it is JSON)."""
    if isinstance(result, Skip):
        return {"skip": result.reason}
    assert isinstance(result, FormattedRequest)
    text = result.body.decode("utf-8")
    try:
        body: Any = json.loads(text)
    except ValueError:
        body = text
    return {
        "method": result.method,
        "path_suffix": result.path_suffix,
        "content_type": result.content_type,
        "headers": result.headers,
        "correlation_key": result.correlation_key,
        "expects_remote_id": result.expects_remote_id,
        "attention": result.attention,
        "body": body,
    }


def check_golden(name: str, result: Rendered) -> None:
    """Compare ``result`` with ``golden/<name>.json``; SCANHOOK_UPDATE_GOLDEN=1 writes it."""
    path = GOLDEN / f"{name}.json"
    document = as_document(result)
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(f"no golden file {path}: run with SCANHOOK_UPDATE_GOLDEN=1 and review it")
    expected = json.loads(path.read_text(encoding="utf-8"))
    assert document == expected, f"{name} differs from its golden file"
