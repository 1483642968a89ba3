"""The filter language: what matches, what is refused at save time, and where the error points."""

from __future__ import annotations

from typing import Any

import pytest

from scanhook.errors import ScanhookError
from scanhook.filters import FilterError, compile_filter
from scanhook.notifications import Notification, parse

TICKET: dict[str, Any] = {
    "number": 4711,
    "status": "Open",
    "severity": "High",
    "vulnerability_name": "OpenSSH < 9.3p2 RCE",
    "asset_name": "prod-web-01",
    "asset_link": "https://sc.example.com/assets/view/9",
    "due_date": "2026-12-31",
    "owner": "ops@example.com",
}
SCAN: dict[str, Any] = {
    "name": "Daily scan",
    "type": "network",
    "started": "2026-03-02 10:00",
    "finished": "2026-03-02 10:57",
    "duration": "00:57",
    "status": "Completed",
    "errors": "",
    "critical_cnt": 0,
    "high_cnt": 2,
    "medium_cnt": 7,
    "low_cnt": 11,
    "link": "https://sc.example.com/scans/view/123",
}


def ticket(**changes: Any) -> Notification:
    return parse({"ticket": {**TICKET, **changes}})


def scan(**changes: Any) -> Notification:
    return parse({"finished_scan": {**SCAN, **changes}})


def scheduled() -> Notification:
    return parse(
        {
            "scheduled_scan": {
                "name": "Nightly web",
                "type": "web application",
                "starts_at": "2026-03-03 02:30",
                "link": "https://sc.example.com/scans/schedules/view/42",
            }
        }
    )


@pytest.mark.parametrize(
    ("text", "notification", "expected"),
    [
        ('ticket.severity in ["High", "Critical"]', ticket(), True),
        ('ticket.severity in ["High", "Critical"]', ticket(severity="Medium"), False),
        ('ticket.severity not in ["High", "Critical"]', ticket(severity="Medium"), True),
        ("finished_scan.critical_cnt + finished_scan.high_cnt > 0", scan(), True),
        ("finished_scan.critical_cnt + finished_scan.high_cnt > 0", scan(high_cnt=0), False),
        ("finished_scan.medium_cnt - finished_scan.low_cnt == -4", scan(), True),
        ('ticket.asset_name matches "^prod-"', ticket(), True),
        ('ticket.asset_name matches "^prod-"', ticket(asset_name="test-prod-1"), False),
        ('ticket.asset_name matches "web"', ticket(), True),  # found anywhere, like re.search
        ('"web" in ticket.asset_name', ticket(), True),
        ('"db" in ticket.asset_name', ticket(), False),
        ('ticket.severity >= "High"', ticket(severity="Critical"), True),  # severity order
        ('ticket.severity >= "High"', ticket(severity="Medium"), False),
        ('ticket.severity < "Medium"', ticket(severity="Info"), True),
        ('ticket.due_date < "2027-01-01"', ticket(), True),
        ('ticket.due_date < "2026-12-31"', ticket(), False),
        ('finished_scan.finished >= "2026-03-02 10:57"', scan(), True),
        ('finished_scan.finished > "2026-03-02T10:57:00+00:00"', scan(), False),
        ('event_type == "ticket.opened"', ticket(), True),
        ('event_type == "ticket.closed"', ticket(status="Closed (Fixed)"), True),
        ('event_type in ["scheduled_scan"]', scheduled(), True),
        ('ticket.status matches "^Closed"', ticket(status="Closed (Fixed)"), True),
        ("ticket.number in [4711, 4712]", ticket(), True),
        ("not (ticket.number == 1)", ticket(), True),
        ('(ticket.severity == "Low" or ticket.number > 4000) and true', ticket(), True),
        ("true", scan(), True),
        ("false or false", scan(), False),
        ('finished_scan.errors == ""', scan(), True),
        ('scheduled_scan.type == "web application"', scheduled(), True),
        ("ticket.owner == 'ops@example.com'", ticket(), True),
        (r'ticket.vulnerability_name matches "\\d\\.\\dp2"', ticket(), True),
        (
            'ticket.vulnerability_name == "say \\"hi\\""',
            ticket(vulnerability_name='say "hi"'),
            True,
        ),
    ],
)
def test_matches(text: str, notification: Notification, expected: bool) -> None:
    assert compile_filter(text).matches(notification) is expected


@pytest.mark.parametrize(
    "text",
    [
        'ticket.severity == "High"',
        'not (ticket.severity == "High")',  # unknown stays unknown under 'not'
        'ticket.severity != "High"',
        "ticket.number > 0 and true",
        'ticket.asset_name matches "."',
        'ticket.severity not in ["Low"]',
    ],
)
def test_an_expression_about_tickets_is_false_for_a_scan(text: str) -> None:
    assert compile_filter(text).matches(scan()) is False


def test_three_valued_logic_lets_one_filter_serve_several_notifications() -> None:
    f = compile_filter('ticket.severity == "Critical" or finished_scan.critical_cnt > 0')
    assert f.matches(ticket(severity="Critical"))
    assert not f.matches(ticket(severity="High"))
    assert f.matches(scan(critical_cnt=1))
    assert not f.matches(scan())
    assert not f.matches(scheduled())
    # false and unknown is false; true or unknown is true
    assert not compile_filter("false and ticket.number > 0").matches(scan())
    assert compile_filter("true or ticket.number > 0").matches(scan())


def test_fields_lists_what_the_filter_reads() -> None:
    f = compile_filter(
        "finished_scan.critical_cnt + finished_scan.high_cnt > finished_scan.critical_cnt"
    )
    assert f.fields == ("finished_scan.critical_cnt", "finished_scan.high_cnt")


def test_the_pattern_is_compiled_once_at_compile_time() -> None:
    f = compile_filter('ticket.asset_name matches "^prod-"')
    first = f.root.pattern  # type: ignore[attr-defined]
    f.matches(ticket())
    assert f.root.pattern is first  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        (
            'ticket.severty == "High"',
            1,
            "unknown field 'ticket.severty' (did you mean 'ticket.severity'?)",
        ),
        (
            'finished_scan.critical_cnt > 0 and ticket.severty == "High"',
            36,
            "did you mean 'ticket.severity'?",
        ),
        ("nonsense > 1", 1, "unknown field 'nonsense'"),
        ('ticket == "x"', 1, "'ticket' is a notification, not a field"),
        (
            "ticket.severity == 1",
            17,
            "cannot compare 'ticket.severity' (a severity) with an integer",
        ),
        ('finished_scan.critical_cnt == "1"', 28, "cannot compare"),
        ('finished_scan.critical_cnt matches "1"', 1, "'matches' works on strings"),
        ("ticket.asset_name matches ticket.owner", 27, "must be a string literal"),
        ('ticket.asset_name matches "("', 27, "invalid regular expression"),
        ('ticket.asset_name matches "(a)\\\\1"', 27, "uses a backreference ('\\\\1'"),
        ('ticket.asset_name matches "x(?=y)"', 27, "uses a lookahead or lookbehind ('(?='"),
        ('ticket.asset_name matches "' + "a" * 300 + '"', 27, "too long"),
        ('ticket.severity == "Hgh"', 20, "'Hgh' is never a value of 'ticket.severity'"),
        ('ticket.severity in ["High", "Crit"]', 20, "'Crit' is never a value"),
        ('scheduled_scan.type < "network"', 21, "does not order"),
        ('ticket.due_date < "tomorrow"', 19, "'tomorrow' is not a date"),
        ('finished_scan.started > "2026-02-30 10:00"', 25, "is not a timestamp"),
        ('ticket.asset_name + "x" == "y"', 1, "'+' works on integers"),
        ("ticket.number", 1, "a filter must be a condition"),
        ("ticket.number > 1 and ticket.number", 23, "right side of 'and' must be a condition"),
        ("not ticket.number", 5, "operand of 'not' must be a condition"),
        ("ticket.number > 1 ticket.number < 9", 19, "join conditions with 'and' or 'or'"),
        ("1 < ticket.number < 9", 19, "comparisons cannot be chained"),
        ("ticket.number = 1", 15, "use '=='"),
        ("ticket.number > 1 && true", 19, "use 'and', 'or', 'not'"),
        ('ticket.owner == "unterminated', 17, "not closed"),
        ('ticket.owner == "bad \\q escape"', 22, "unknown escape"),
        ("ticket.number in [1, 2", 18, "not closed"),
        ('ticket.number in [1, "2"]', 22, "a list holds values of one type"),
        ("ticket.number in [[1]]", 19, "lists cannot hold lists"),
        ('ticket.number in ["1"]', 18, "cannot look for 'ticket.number'"),
        ("ticket.number in 5", 18, "needs a list"),
        ("(ticket.number > 1", 19, "')' to close the '(' at column 1"),
        ("ticket.number > ", 17, "expected a value, found the end of the filter"),
        ("ticket.number > and", 17, "expected a value, found 'and'"),
        ("ticket.number > 12abc", 17, "is not a number"),
        ("ticket.number > 1234567890123456789", 17, "number is too long"),
        ("", 1, "filter is empty"),
        ("   ", 1, "filter is empty"),
        ("(" * 40 + "true" + ")" * 40, 33, "nests too deeply"),
        ("not " * 40 + "true", 129, "nests too deeply"),
        ("true or " * 600 + "true", 4097, "filter is too long"),
    ],
)
def test_errors_name_the_problem_and_its_column(text: str, position: int, fragment: str) -> None:
    with pytest.raises(FilterError) as caught:
        compile_filter(text)
    error = caught.value
    assert fragment in error.message, error.message
    assert error.position == position, error.message
    assert error.message.startswith(f"column {position}: ")
    assert isinstance(error, ScanhookError)


def test_the_example_of_the_brief_reads_exactly() -> None:
    with pytest.raises(FilterError) as caught:
        compile_filter('ticket.severty in ["High"]')
    assert caught.value.message == (
        "column 1: unknown field 'ticket.severty' (did you mean 'ticket.severity'?)"
    )
    assert caught.value.problem.startswith("unknown field")


def test_nothing_is_evaluated_as_python() -> None:
    for text in ('__import__("os").system("true")', "().__class__", "ticket.number.__class__ == 1"):
        with pytest.raises(FilterError):
            compile_filter(text)
