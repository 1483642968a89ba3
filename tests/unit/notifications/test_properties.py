"""Properties over generated notifications: the committed schema accepts every encoding, and every
encoding decodes back to an equal notification."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from scanhook.notifications import (
    FinishedScan,
    Notification,
    ScheduledScan,
    Ticket,
    encode,
    parse,
)

SCHEMAS_DIR = Path(__file__).resolve().parents[3] / "schemas"
ZONES: list[tzinfo] = [
    UTC,
    ZoneInfo("Europe/Stockholm"),
    ZoneInfo("America/New_York"),
    ZoneInfo("Asia/Kathmandu"),  # +05:45
    ZoneInfo("Australia/Lord_Howe"),  # a 30-minute DST shift
    timezone(timedelta(hours=-3, minutes=-30)),
]
EXAMPLES = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@cache
def validator(key: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS_DIR / f"{key}.schema.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


# --- strategies --------------------------------------------------------------------------------

texts = st.text(min_size=1, max_size=40)
scan_types = st.sampled_from(["network", "web application"])
counts = st.integers(min_value=0, max_value=10**9) | st.integers(min_value=0, max_value=50)
zones = st.sampled_from(ZONES)

# Single hyphens only: IDNA reserves "xn--"-like double hyphens, and e-mail validation knows it.
_label = st.from_regex(r"\A[a-z0-9]{1,8}(?:-[a-z0-9]{1,8}){0,2}\Z")
hosts = st.builds(
    lambda labels, tld: ".".join([*labels, tld]),
    st.lists(_label, min_size=1, max_size=3),
    st.sampled_from(["com", "net", "org", "se", "io"]),
)
urls = st.builds(
    lambda scheme, host, port, path: f"{scheme}://{host}{port}{path}",
    st.sampled_from(["http", "https"]),
    hosts | st.sampled_from(["127.0.0.1", "[::1]", "sc.example.com"]),
    st.sampled_from(["", ":8443", ":80"]),
    st.from_regex(r"\A(/[A-Za-z0-9._~%!$&'()*+,;=:@-]{0,12}){0,4}(\?[a-z]=[0-9]{1,4})?\Z"),
)
emails = st.builds(
    lambda local, host: f"{local}@{host}",
    st.from_regex(r"\A[a-z0-9]{1,10}(?:[._+-][a-z0-9]{1,10}){0,2}\Z"),
    hosts,
)


def _aware_or_naive(moment: datetime, zone: tzinfo | None) -> datetime:
    return moment if zone is None else moment.replace(tzinfo=zone)


moments = st.builds(
    _aware_or_naive,
    st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2099, 12, 31),
        allow_imaginary=False,
    ),
    st.none() | zones,
)


def _timestamp_input(moment: datetime, form: str, tz: tzinfo) -> Any:
    """``moment`` as a producer may hand it: a datetime, ISO 8601 or the wire format."""
    if form == "datetime":
        return moment
    if form == "iso":
        return moment.isoformat()
    local = moment.astimezone(tz) if moment.tzinfo else moment
    return local.strftime("%Y-%m-%d %H:%M")


timestamp_forms = st.sampled_from(["datetime", "iso", "wire"])


@st.composite
def scheduled_scans(draw: st.DrawFn, tz: tzinfo) -> dict[str, Any]:
    return {
        "scheduled_scan": {
            "name": draw(texts),
            "type": draw(scan_types),
            "starts_at": _timestamp_input(draw(moments), draw(timestamp_forms), tz),
            "link": draw(urls),
        }
    }


@st.composite
def finished_scans(draw: st.DrawFn, tz: tzinfo) -> dict[str, Any]:
    started = draw(moments)
    finished = started + timedelta(minutes=draw(st.integers(0, 5 * 24 * 60)))
    body: dict[str, Any] = {
        "name": draw(texts),
        "type": draw(scan_types),
        "started": _timestamp_input(started, draw(timestamp_forms), tz),
        "finished": _timestamp_input(finished, draw(timestamp_forms), tz),
    }
    if draw(st.booleans()):
        minutes = draw(st.integers(0, 200 * 60))
        body["duration"] = f"{minutes // 60:02d}:{minutes % 60:02d}"
    body["status"] = draw(st.sampled_from(["Completed", "Aborted"]) | texts)
    body["errors"] = draw(st.just("") | st.text(max_size=60) | st.lists(texts, max_size=4))
    for name in ("critical_cnt", "high_cnt", "medium_cnt", "low_cnt"):
        body[name] = draw(counts)
    body["link"] = draw(urls)
    return {"finished_scan": body}


@st.composite
def tickets(draw: st.DrawFn, tz: tzinfo) -> dict[str, Any]:
    status = draw(
        st.just("Open")
        | st.just("Closed (Fixed)")
        | st.just("Closed (Fixed)\nby change CHG0042")  # a line break inside the status
        | st.builds(lambda rest: "Closed" + rest, st.text(max_size=20))
    )
    due = draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)))
    return {
        "ticket": {
            "number": draw(counts),
            "status": status,
            "severity": draw(st.sampled_from(["Info", "Low", "Medium", "High", "Critical"])),
            "vulnerability_name": draw(texts),
            "asset_name": draw(texts),
            "asset_link": draw(urls),
            "due_date": draw(st.sampled_from([due, due.isoformat()])),
            "owner": draw(emails),
        }
    }


def _valid(document: dict[str, Any], tz: tzinfo) -> Notification:
    note = parse(document, tz)
    # The wire has no UTC offset: in the hour that a DST change repeats, a wall time names two
    # instants and is read as the first. Such instants cannot round-trip; see
    # test_repeated_hour_reads_as_the_first_instant.
    for value in note.model_dump().values():
        if isinstance(value, datetime):
            assume(not _ambiguous(value, tz))
    return note


def _ambiguous(moment: datetime, tz: tzinfo) -> bool:
    wall = moment.astimezone(tz).replace(tzinfo=None)
    return (
        wall.replace(tzinfo=tz, fold=0).utcoffset() != wall.replace(tzinfo=tz, fold=1).utcoffset()
    )


def _check(note: Notification, tz: tzinfo) -> None:
    body = encode(note, tz)
    document = json.loads(body)
    assert body == json.dumps(document).encode("utf-8")
    validator(note.KEY).validate(document)
    validator("notification").validate(document)
    again = parse(body, tz)
    assert again == note
    assert encode(again, tz) == body


# --- properties --------------------------------------------------------------------------------


@EXAMPLES
@given(data=st.data(), tz=zones)
def test_scheduled_scans_match_the_schema_and_round_trip(data: st.DataObject, tz: tzinfo) -> None:
    note = _valid(data.draw(scheduled_scans(tz)), tz)
    assert isinstance(note, ScheduledScan)
    _check(note, tz)


@EXAMPLES
@given(data=st.data(), tz=zones)
def test_finished_scans_match_the_schema_and_round_trip(data: st.DataObject, tz: tzinfo) -> None:
    document = data.draw(finished_scans(tz))
    note = _valid(document, tz)
    assert isinstance(note, FinishedScan)
    if "duration" not in document["finished_scan"]:
        minutes = int((note.finished - note.started).total_seconds()) // 60
        assert note.duration == f"{minutes // 60:02d}:{minutes % 60:02d}"
    _check(note, tz)


@EXAMPLES
@given(data=st.data(), tz=zones)
def test_tickets_match_the_schema_and_round_trip(data: st.DataObject, tz: tzinfo) -> None:
    note = _valid(data.draw(tickets(tz)), tz)
    assert isinstance(note, Ticket)
    assert note.event_type == ("ticket.opened" if note.status == "Open" else "ticket.closed")
    _check(note, tz)


def test_repeated_hour_reads_as_the_first_instant() -> None:
    """The documented limit of a wire format without an offset (the property tests skip it)."""
    new_york = ZoneInfo("America/New_York")
    # 2026-11-01 01:30 happens twice in New York: 05:30 UTC (EDT) and 06:30 UTC (EST).
    first = parse({"scheduled_scan": _scheduled("2026-11-01T05:30Z")}, new_york)
    second = parse({"scheduled_scan": _scheduled("2026-11-01T06:30Z")}, new_york)
    assert encode(first, new_york) == encode(second, new_york)
    assert parse(encode(second, new_york), new_york) == first
    assert _ambiguous(datetime(2026, 11, 1, 6, 30, tzinfo=UTC), new_york)
    assert not _ambiguous(datetime(2026, 11, 1, 8, 30, tzinfo=UTC), new_york)
    # In UTC (the default display zone) nothing is ambiguous and every instant round-trips.
    assert parse(encode(second)) == second


def _scheduled(starts_at: str) -> dict[str, str]:
    return {
        "name": "Daily scan",
        "type": "network",
        "starts_at": starts_at,
        "link": "https://sc.example.com/scans/schedules/view/1",
    }
