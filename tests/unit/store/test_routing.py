"""routing.matches: enabled endpoints whose event_types name or glob-match the event type."""

from __future__ import annotations

import pytest

from scanhook.notifications import parse
from scanhook.routing import matches
from scanhook.store.records import Endpoint

TICKET = parse(
    {
        "ticket": {
            "number": 7,
            "status": "Open",
            "severity": "High",
            "vulnerability_name": "CVE-2024-0001",
            "asset_name": "web-1",
            "asset_link": "https://sc.example/assets/1",
            "due_date": "2026-12-31",
            "owner": "owner@example.com",
        }
    }
)


@pytest.mark.parametrize(
    ("event_types", "event_type", "expected"),
    [
        (("*",), "ticket.opened", True),
        (("ticket.*",), "ticket.opened", True),
        (("ticket.*",), "ticket.closed", True),
        (("ticket.*",), "finished_scan", False),
        (("ticket.opened",), "ticket.opened", True),
        (("ticket.opened",), "ticket.closed", False),
        (("finished_scan", "ticket.closed"), "ticket.closed", True),
        (("*_scan",), "scheduled_scan", True),
        (("Ticket.*",), "ticket.opened", False),  # case-sensitive
        ((), "ticket.opened", False),
        (("ticket.[oc]*",), "ticket.closed", True),
    ],
)
def test_event_types_by_name_and_glob(
    event_types: tuple[str, ...], event_type: str, expected: bool
) -> None:
    endpoint = Endpoint(id="ep_1", url="https://example.com/hook", event_types=event_types)
    assert matches(endpoint, event_type, TICKET) is expected


def test_a_disabled_endpoint_matches_nothing() -> None:
    endpoint = Endpoint(id="ep_1", url="https://example.com/hook", enabled=False)
    assert matches(endpoint, "ticket.opened", TICKET) is False


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (None, True),
        ('ticket.severity in ["High", "Critical"]', True),
        ('ticket.severity == "Low"', False),
        ("finished_scan.critical_cnt > 0", False),
        ("this is not ( a filter", False),
    ],
)
def test_the_endpoint_filter_decides_too(expression: str | None, expected: bool) -> None:
    endpoint = Endpoint(id="ep_1", url="https://example.com/hook", filter=expression)
    assert matches(endpoint, "ticket.opened", TICKET) is expected
