"""The notification models and their wire encoding, against the seed and contract §2."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from scanhook.errors import InvalidNotification
from scanhook.notifications import (
    EVENT_TYPES,
    PAYLOAD_MODELS,
    FinishedScan,
    ScheduledScan,
    Ticket,
    encode,
    event_type,
    parse,
    to_wire,
)

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def finished_scan(**changes: Any) -> dict[str, Any]:
    """The seed's finished_scan with ``changes`` (a value of ``...`` removes the field)."""
    body: dict[str, Any] = {
        "name": "Daily scan",
        "type": "network",
        "started": "2018-08-21 12:02",
        "finished": "2018-08-21 12:59",
        "duration": "00:57",
        "status": "Completed",
        "errors": "",
        "critical_cnt": 1,
        "high_cnt": 0,
        "medium_cnt": 3,
        "low_cnt": 0,
        "link": "https://sc.holmsecurity.com/scans/scans/view/123",
    }
    return {"finished_scan": _apply(body, changes)}


def scheduled_scan(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Weekly external perimeter",
        "type": "web application",
        "starts_at": "2026-03-02 02:30",
        "link": "https://sc.example.com/scans/schedules/view/42",
    }
    return {"scheduled_scan": _apply(body, changes)}


def ticket(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "number": 4711,
        "status": "Open",
        "severity": "Critical",
        "vulnerability_name": "Apache Log4j Remote Code Execution (CVE-2021-44228)",
        "asset_name": "prod-web-01.example.com",
        "asset_link": "https://sc.example.com/assets/view/2817",
        "due_date": "2026-01-19",
        "owner": "anna.lindqvist@example.com",
    }
    return {"ticket": _apply(body, changes)}


def _apply(body: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    for name, value in changes.items():
        if value is ...:
            del body[name]
        else:
            body[name] = value
    return body


def problems_of(data: Any, tz: Any = UTC) -> list[dict[str, object]]:
    with pytest.raises(InvalidNotification) as caught:
        parse(data, tz)
    assert caught.value.problems, "an invalid notification names at least one problem"
    return caught.value.problems


# --- the seed's example ---------------------------------------------------------------------


def test_seed_example_parses_and_encodes_to_the_same_json(seed_finished_scan: bytes) -> None:
    notification = parse(seed_finished_scan)
    assert isinstance(notification, FinishedScan)
    assert notification.critical_cnt == 1
    assert notification.medium_cnt == 3
    assert notification.started == datetime(2018, 8, 21, 12, 2, tzinfo=UTC)
    assert json.loads(encode(notification)) == json.loads(seed_finished_scan)


def test_encoding_uses_the_seeds_separators(seed_finished_scan: bytes) -> None:
    body = encode(parse(seed_finished_scan))
    decoded = json.loads(body)
    assert body == json.dumps(decoded).encode("utf-8")
    assert body == json.dumps(to_wire(parse(seed_finished_scan))).encode("utf-8")
    assert b'"name": "Daily scan", "type": "network"' in body
    assert b'{"finished_scan": {' in body
    # The seed's payload holds no comma or colon inside a value: each one is a separator.
    assert body.count(b",") == body.count(b", ") == 11
    assert body.count(b": ") == 13


def test_encoding_keeps_the_contracts_field_order(seed_finished_scan: bytes) -> None:
    wire = to_wire(parse(seed_finished_scan))
    assert list(wire) == ["finished_scan"]
    assert list(wire["finished_scan"]) == list(FinishedScan.model_fields)
    assert list(FinishedScan.model_fields)[:4] == ["name", "type", "started", "finished"]


def test_encoding_is_utf8_and_escapes_nothing_it_need_not() -> None:
    note = parse(ticket(asset_name="fileserver-Göteborg.corp.example"))
    body = encode(note)
    assert body.decode("utf-8") == json.dumps(json.loads(body))
    assert json.loads(body)["ticket"]["asset_name"] == "fileserver-Göteborg.corp.example"


# --- bad fields: each error names its field --------------------------------------------------

BAD_FIELDS: list[tuple[str, Callable[[], dict[str, Any]], str, str]] = [
    ("wrong type: count as a string", lambda: finished_scan(low_cnt="0"), "low_cnt", "integer"),
    ("wrong type: count as a bool", lambda: finished_scan(high_cnt=True), "high_cnt", "integer"),
    ("wrong type: count as a float", lambda: finished_scan(medium_cnt=3.0), "medium_cnt", ""),
    ("wrong type: name as null", lambda: finished_scan(name=None), "name", "string"),
    ("wrong type: ticket number as text", lambda: ticket(number="4711"), "number", "integer"),
    ("wrong type: timestamp as a number", lambda: finished_scan(started=1534852920), "started", ""),
    ("missing field", lambda: finished_scan(status=...), "status", "required"),
    ("missing ticket field", lambda: ticket(owner=...), "owner", "required"),
    ("missing scheduled field", lambda: scheduled_scan(starts_at=...), "starts_at", "required"),
    ("unknown field", lambda: finished_scan(info_cnt=4), "info_cnt", "unknown field"),
    ("unknown ticket field", lambda: ticket(assignee="x"), "assignee", "unknown field"),
    ("bad enum: scan type", lambda: finished_scan(type="web"), "type", "web application"),
    ("bad enum: severity case", lambda: ticket(severity="high"), "severity", "'High'"),
    ("bad enum: severity", lambda: ticket(severity="Urgent"), "severity", "Critical"),
    ("negative count", lambda: finished_scan(critical_cnt=-1), "critical_cnt", "greater than"),
    ("negative ticket number", lambda: ticket(number=-3), "number", "greater than"),
    ("owner not an e-mail", lambda: ticket(owner="anna.lindqvist"), "owner", "e-mail"),
    ("owner without a domain", lambda: ticket(owner="anna@localhost"), "owner", "e-mail"),
    ("link relative", lambda: finished_scan(link="/scans/scans/view/123"), "link", "absolute"),
    ("link not http", lambda: scheduled_scan(link="ftp://sc.example.com/x"), "link", "http(s)"),
    ("link without host", lambda: ticket(asset_link="https://"), "asset_link", "absolute"),
    (
        "link with a space",
        lambda: ticket(asset_link="https://sc.example.com/a b"),
        "asset_link",
        "white space",
    ),
    (
        "finished before started",
        lambda: finished_scan(finished="2018-08-21 11:59"),
        "finished",
        "before started",
    ),
    ("ticket status", lambda: ticket(status="Pending"), "status", "Open"),
    ("ticket status case", lambda: ticket(status="closed (fixed)"), "status", "Closed"),
    ("timestamp garbage", lambda: finished_scan(started="yesterday"), "started", "timestamp"),
    ("timestamp is a date", lambda: scheduled_scan(starts_at="2026-03-02"), "starts_at", "date"),
    ("due date is a timestamp", lambda: ticket(due_date="2026-01-19 10:00"), "due_date", ""),
    ("due date not real", lambda: ticket(due_date="2026-02-30"), "due_date", "real date"),
    ("duration format", lambda: finished_scan(duration="0:57"), "duration", "HH:MM"),
    ("duration seconds", lambda: finished_scan(duration="00:57:10"), "duration", "HH:MM"),
    ("duration trailing newline", lambda: finished_scan(duration="00:57\n"), "duration", ""),
    ("empty name", lambda: scheduled_scan(name=""), "name", "at least 1"),
    ("errors list of non-text", lambda: finished_scan(errors=["ok", 3]), "errors", "item 1"),
]


@pytest.mark.parametrize(
    ("data", "field", "fragment"),
    [pytest.param(make, field, fragment, id=case) for case, make, field, fragment in BAD_FIELDS],
)
def test_a_bad_field_is_named_with_its_problem(
    data: Callable[[], dict[str, Any]], field: str, fragment: str
) -> None:
    document = data()
    key = next(iter(document))
    problems = problems_of(document)
    assert [p["field"] for p in problems] == [f"{key}.{field}"]
    assert fragment in str(problems[0]["message"])
    # The same problem through the exception's message, as logs and API errors show it.
    with pytest.raises(InvalidNotification, match=rf"^{key}\.{field}: "):
        parse(document)


def test_every_problem_is_reported_not_only_the_first() -> None:
    problems = problems_of(ticket(number=-1, severity="high", owner="bob", extra=1))
    assert {p["field"] for p in problems} == {
        "ticket.number",
        "ticket.severity",
        "ticket.owner",
        "ticket.extra",
    }


def test_a_bad_value_is_shown_in_the_message() -> None:
    (problem,) = problems_of(finished_scan(low_cnt=-7))
    assert "-7" in str(problem["message"])
    assert problem["value"] == -7


def test_unknown_field_lists_the_allowed_ones() -> None:
    (problem,) = problems_of(scheduled_scan(when="tomorrow"))
    assert problem["message"] == "unknown field (allowed: name, type, starts_at, link)"


# --- bad bodies -----------------------------------------------------------------------------

BAD_BODIES: list[tuple[str, Any, str, str]] = [
    ("array", [finished_scan()], "(body)", "JSON object"),
    ("string", '"finished_scan"', "(body)", "JSON object"),
    ("number", b"42", "(body)", "JSON object"),
    ("null", "null", "(body)", "JSON object"),
    ("invalid JSON", b'{"finished_scan": {', "(body)", "not valid JSON"),
    ("not UTF-8", b'{"ticket": "\xff"}', "(body)", "not valid JSON"),
    ("empty object", {}, "(body)", "empty object"),
    ("two top-level keys", {**finished_scan(), **ticket()}, "(body)", "exactly one"),
    ("unknown top-level key", {"scan_finished": {}}, "scan_finished", "unknown notification"),
    ("payload not an object", {"ticket": [1, 2]}, "ticket", "must be a JSON object"),
    ("payload a string", {"finished_scan": "Completed"}, "finished_scan", "JSON object"),
]


@pytest.mark.parametrize(
    ("data", "field", "fragment"),
    [pytest.param(data, field, fragment, id=case) for case, data, field, fragment in BAD_BODIES],
)
def test_a_bad_body_is_refused_with_a_reason(data: Any, field: str, fragment: str) -> None:
    (problem,) = problems_of(data)
    assert problem["field"] == field
    assert fragment in str(problem["message"])


def test_bytes_text_and_objects_parse_alike(seed_finished_scan: bytes) -> None:
    from_bytes = parse(seed_finished_scan)
    assert parse(seed_finished_scan.decode()) == from_bytes
    assert parse(json.loads(seed_finished_scan)) == from_bytes


# --- timestamps, dates, the display time zone ------------------------------------------------


@pytest.mark.parametrize(
    "given",
    [
        "2018-08-21 12:02",  # the wire format, read in the display zone
        "2018-08-21T12:02",  # ISO 8601 without a zone: the display zone too
        "2018-08-21T12:02:59",  # seconds are cut: the wire has minutes
        "2018-08-21T10:02:00Z",
        "2018-08-21T10:02:00+00:00",
        "2018-08-21T05:02:00-05:00",
        datetime(2018, 8, 21, 12, 2),  # naive: the display zone
        datetime(2018, 8, 21, 10, 2, 30, 500, tzinfo=UTC),
        datetime(2018, 8, 21, 16, 2, tzinfo=timezone(timedelta(hours=6))),
    ],
    ids=repr,
)
def test_timestamps_are_read_in_every_form_and_written_in_the_display_zone(given: Any) -> None:
    # Stockholm is UTC+02:00 in August (CEST).
    note = parse(scheduled_scan(starts_at=given), STOCKHOLM)
    assert isinstance(note, ScheduledScan)
    assert note.starts_at == datetime(2018, 8, 21, 10, 2, tzinfo=UTC)
    assert json.loads(encode(note, STOCKHOLM))["scheduled_scan"]["starts_at"] == "2018-08-21 12:02"
    assert json.loads(encode(note))["scheduled_scan"]["starts_at"] == "2018-08-21 10:02"


def test_display_zone_follows_daylight_saving_time() -> None:
    winter = parse(scheduled_scan(starts_at="2026-01-15T10:00:00Z"))
    summer = parse(scheduled_scan(starts_at="2026-07-15T10:00:00Z"))
    assert to_wire(winter, STOCKHOLM)["scheduled_scan"]["starts_at"] == "2026-01-15 11:00"
    assert to_wire(summer, STOCKHOLM)["scheduled_scan"]["starts_at"] == "2026-07-15 12:00"


def test_the_default_display_zone_is_utc() -> None:
    note = parse(scheduled_scan(starts_at="2026-01-15T11:00:00+01:00"))
    assert to_wire(note)["scheduled_scan"]["starts_at"] == "2026-01-15 10:00"


def test_dates_accept_text_and_date_objects() -> None:
    assert parse(ticket(due_date="2026-01-19")) == parse(ticket(due_date=date(2026, 1, 19)))
    as_object = Ticket.model_validate(ticket(due_date=date(2026, 1, 19))["ticket"])
    assert to_wire(as_object)["ticket"]["due_date"] == "2026-01-19"


def test_a_datetime_is_not_a_due_date() -> None:
    (problem,) = problems_of(ticket(due_date=datetime(2026, 1, 19, 10, 0)))
    assert problem["field"] == "ticket.due_date"


# --- duration and errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("started", "finished", "duration"),
    [
        ("2018-08-21 12:02", "2018-08-21 12:59", "00:57"),
        ("2018-08-21 12:02", "2018-08-21 12:02", "00:00"),
        ("2018-08-21 12:02", "2018-08-22 15:07", "27:05"),
        ("2018-08-21 22:30", "2018-08-24 01:00", "50:30"),
    ],
)
def test_duration_is_computed_when_omitted(started: str, finished: str, duration: str) -> None:
    note = parse(finished_scan(started=started, finished=finished, duration=...))
    assert isinstance(note, FinishedScan)
    assert note.duration == duration
    assert json.loads(encode(note))["finished_scan"]["duration"] == duration


def test_duration_over_a_dst_change_counts_real_time() -> None:
    # 2026-03-29 02:00 CET the clocks jump to 03:00 CEST: 01:30 → 03:30 is one hour.
    note = parse(
        finished_scan(started="2026-03-29 01:30", finished="2026-03-29 03:30", duration=...),
        STOCKHOLM,
    )
    assert isinstance(note, FinishedScan)
    assert note.duration == "01:00"


def test_duration_as_a_timedelta_is_rendered_as_hh_mm() -> None:
    body = finished_scan()["finished_scan"]
    body["duration"] = timedelta(hours=27, minutes=5, seconds=40)
    note = FinishedScan.model_validate(body)
    assert note.duration == "27:05"


def test_a_given_duration_is_kept_as_sent() -> None:
    note = parse(finished_scan(duration="00:58"))
    assert isinstance(note, FinishedScan)
    assert note.duration == "00:58"


def test_finished_before_started_is_the_only_error_when_duration_is_omitted() -> None:
    problems = problems_of(finished_scan(finished="2018-08-21 11:00", duration=...))
    assert [p["field"] for p in problems] == ["finished_scan.finished"]


def test_errors_given_as_a_list_are_joined_by_a_blank_line() -> None:
    messages = ["Host 10.0.0.7 did not respond.", "SSH authentication failed on db-02."]
    note = parse(finished_scan(errors=messages))
    assert isinstance(note, FinishedScan)
    assert note.errors == "Host 10.0.0.7 did not respond.\n\nSSH authentication failed on db-02."
    assert parse(finished_scan(errors=[])) == parse(finished_scan(errors=""))
    assert b'"errors": "Host 10.0.0.7 did not respond.\\n\\nSSH' in encode(note)


# --- event types -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (scheduled_scan(), "scheduled_scan"),
        (finished_scan(), "finished_scan"),
        (ticket(status="Open"), "ticket.opened"),
        (ticket(status="Closed (Fixed)"), "ticket.closed"),
        (ticket(status="Closed (Accepted risk)"), "ticket.closed"),
        (ticket(status="Closed"), "ticket.closed"),
    ],
)
def test_event_type(document: dict[str, Any], expected: str) -> None:
    note = parse(document)
    assert event_type(note) == expected
    assert note.event_type == expected
    assert expected in EVENT_TYPES


def test_event_types_map_to_their_top_level_keys() -> None:
    assert set(PAYLOAD_MODELS) == {"scheduled_scan", "finished_scan", "ticket"}
    for document in (scheduled_scan(), finished_scan(), ticket()):
        note = parse(document)
        assert next(iter(document)) == note.KEY
        assert note.event_type.split(".")[0] == note.KEY


# --- round trip ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "document",
    [scheduled_scan(), finished_scan(), ticket(), ticket(status="Closed (Fixed)")],
    ids=["scheduled_scan", "finished_scan", "ticket.opened", "ticket.closed"],
)
@pytest.mark.parametrize("tz", [UTC, STOCKHOLM, ZoneInfo("America/New_York")], ids=str)
def test_round_trip(document: dict[str, Any], tz: Any) -> None:
    note = parse(document, tz)
    assert parse(encode(note, tz), tz) == note
    assert encode(parse(encode(note, tz), tz), tz) == encode(note, tz)


def test_models_are_immutable() -> None:
    note = parse(ticket())
    with pytest.raises(ValueError, match="frozen"):
        note.status = "Closed (Fixed)"  # type: ignore[misc]


def test_json_nested_too_deep_for_the_parser_is_an_invalid_notification() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    for data in (deep, deep.decode()):
        with pytest.raises(InvalidNotification, match="not valid JSON"):
            parse(data)
