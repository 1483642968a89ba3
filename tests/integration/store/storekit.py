"""Factories shared by the store tests (imported by name: the test folders are not packages)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from scanhook.notifications import Notification, encode, event_type, parse
from scanhook.store import Endpoint, NewEvent
from scanhook.store.ids import new_id

T0 = 1_800_000_000.0


def ticket(number: int = 7, status: str = "Open", severity: str = "High") -> Notification:
    return parse(
        {
            "ticket": {
                "number": number,
                "status": status,
                "severity": severity,
                "vulnerability_name": "CVE-2024-0001",
                "asset_name": "web-1",
                "asset_link": "https://sc.example/assets/1",
                "due_date": "2026-12-31",
                "owner": "owner@example.com",
            }
        }
    )


def finished_scan(critical: int = 0) -> Notification:
    return parse(
        {
            "finished_scan": {
                "name": "Daily",
                "type": "network",
                "started": "2026-01-01 10:00",
                "finished": "2026-01-01 10:57",
                "duration": "00:57",
                "status": "Completed",
                "errors": "",
                "critical_cnt": critical,
                "high_cnt": 0,
                "medium_cnt": 0,
                "low_cnt": 0,
                "link": "https://sc.example/scans/1",
            }
        }
    )


def new_event(
    notification: Notification | None = None,
    *,
    at: float = T0,
    key: str | None = None,
) -> NewEvent:
    n = notification if notification is not None else ticket()
    return NewEvent(
        id=new_id("evt_"),
        type=event_type(n),
        body=encode(n),
        notification=n,
        created_at=at,
        idempotency_key=key,
    )


MakeEndpoint = Callable[..., Awaitable[Endpoint]]
