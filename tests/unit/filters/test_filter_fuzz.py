"""Arbitrary text never raises anything but FilterError, and what compiles never raises on use."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanhook.filters import FIELDS, FilterError, compile_filter
from scanhook.notifications import Notification, parse

_NOTIFICATIONS: list[Notification] = [
    parse(
        {
            "ticket": {
                "number": 1,
                "status": "Open",
                "severity": "Low",
                "vulnerability_name": "v",
                "asset_name": "prod-1",
                "asset_link": "https://sc.example.com/a",
                "due_date": "2026-01-01",
                "owner": "a@example.com",
            }
        }
    ),
    parse(
        {
            "finished_scan": {
                "name": "n",
                "type": "network",
                "started": "2026-01-01 00:00",
                "finished": "2026-01-01 01:00",
                "status": "Completed",
                "errors": "",
                "critical_cnt": 1,
                "high_cnt": 0,
                "medium_cnt": 0,
                "low_cnt": 0,
                "link": "https://sc.example.com/s",
            }
        }
    ),
]

_VOCABULARY = [
    *FIELDS,
    "and",
    "or",
    "not",
    "in",
    "matches",
    "true",
    "false",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "(",
    ")",
    "[",
    "]",
    ",",
    '"High"',
    '"^prod-"',
    '"(a+)+"',
    '"2026-01-01"',
    "'x'",
    '"',
    "0",
    "42",
    "-7",
    "\\",
]

_tokens = st.lists(st.sampled_from(_VOCABULARY), max_size=25).map(" ".join)


def _check(text: str) -> None:
    try:
        compiled = compile_filter(text)
    except FilterError as exc:
        error = exc
    else:
        error = None
    if error is not None:
        assert error.position >= 1
        assert error.message.startswith(f"column {error.position}: ")
        return
    for notification in _NOTIFICATIONS:
        assert compiled.matches(notification) in (True, False)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_arbitrary_text_raises_only_filter_error(text: str) -> None:
    _check(text)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_tokens)
def test_arbitrary_token_soup_raises_only_filter_error(text: str) -> None:
    _check(text)


def test_valid_expressions_come_out_of_the_soup() -> None:
    # The soup is not all errors: the generator can build real filters (a test that cannot fail
    # is a defect, so show that the second property also exercises matches()).
    assert compile_filter('ticket.severity == "High" or finished_scan.critical_cnt > -7')
    example: Any = compile_filter("ticket.number + 42 >= 0")
    assert example.matches(_NOTIFICATIONS[0])
