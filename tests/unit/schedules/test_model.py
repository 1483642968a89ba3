from __future__ import annotations

from typing import Any

import pytest

from scanhook.errors import InvalidRequest
from scanhook.schedules import (
    InvalidSchedule,
    RRuleRecurrence,
    ScheduleSpec,
    parse_patch,
    parse_schedule,
)


def body(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Daily scan",
        "type": "network",
        "link": "https://sc.example.com/scans/schedules/view/42",
        "recurrence": "30 2 * * *",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not ...}


def problems(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InvalidSchedule) as info:
        parse_schedule(data)
    return {str(p["field"]): str(p["message"]) for p in info.value.problems}


def test_defaults() -> None:
    spec = parse_schedule(body())
    assert spec.timezone == "UTC"
    assert spec.leads == ["24h", "1h"]
    assert spec.enabled is True
    assert [lead.seconds for lead in spec.parsed_leads] == [86400, 3600]
    assert spec.rule.timezone == "UTC"


def test_the_contract_example_with_an_rrule() -> None:
    spec = parse_schedule(
        body(
            type="web application",
            recurrence="DTSTART:20261201T023000\nRRULE:FREQ=WEEKLY;BYDAY=MO",
            timezone="Europe/Stockholm",
            leads=["0s"],
            enabled=False,
        )
    )
    assert isinstance(spec.rule, RRuleRecurrence)
    assert spec.rule.timezone == "Europe/Stockholm"
    assert spec.enabled is False


def test_timezone_follows_a_dtstart_tzid_when_not_given() -> None:
    text = "DTSTART;TZID=America/New_York:20260101T013000\nRRULE:FREQ=DAILY"
    assert parse_schedule(body(recurrence=text)).timezone == "America/New_York"
    assert problems(body(recurrence=text, timezone="UTC")) == {
        "recurrence": "DTSTART is in America/New_York but the schedule's timezone is UTC: set "
        "timezone to 'America/New_York' or give DTSTART as a floating local time"
    }


def test_every_error_names_its_field() -> None:
    found = problems(
        {
            "name": "",
            "type": "full",
            "link": "ftp://sc.example.com",
            "recurrence": "30 2 * *",
            "timezone": "Europe/Nowhere",
            "leads": ["1h", "soon"],
            "enabled": "yes",
            "owner": "me",
        }
    )
    assert set(found) == {
        "name",
        "type",
        "link",
        "recurrence",
        "timezone",
        "leads.1",
        "enabled",
        "owner",
    }
    assert "unknown IANA time zone 'Europe/Nowhere'" in found["timezone"]
    assert "has 4 field(s)" in found["recurrence"]
    assert "cannot read 'soon'" in found["leads.1"]
    assert found["owner"].startswith("unknown field (allowed: name, type, link")


@pytest.mark.parametrize(
    ("changes", "field", "problem"),
    [
        ({"name": ...}, "name", "field required"),
        ({"recurrence": ...}, "recurrence", "field required"),
        ({"recurrence": "RRULE:FREQ=DAILY"}, "recurrence", "needs a DTSTART"),
        ({"recurrence": 5}, "recurrence", "valid string"),
        ({"leads": []}, "leads", "at least 1"),
        ({"leads": ["1h", "60m"]}, "leads", "'1h' and '60m' are the same lead"),
        ({"leads": ["-1h"]}, "leads.0", "cannot read '-1h'"),
        ({"leads": "1h"}, "leads", "valid list"),
        ({"timezone": None}, "timezone", "valid string"),
        ({"link": "https://sc.example.com/a b"}, "link", "white space"),
    ],
)
def test_bad_fields(changes: dict[str, Any], field: str, problem: str) -> None:
    found = problems(body(**changes))
    assert field in found, found
    assert problem in found[field]


def test_invalid_schedule_is_an_invalid_request_naming_the_first_field() -> None:
    with pytest.raises(InvalidRequest) as info:
        parse_schedule(body(timezone="Nowhere"))
    assert info.value.field == "timezone"
    assert str(info.value).startswith("timezone: unknown IANA time zone")


def test_a_spec_is_frozen() -> None:
    spec = parse_schedule(body())
    with pytest.raises(ValueError, match="frozen"):
        spec.name = "other"  # type: ignore[misc]


def test_patch_changes_only_what_it_gives() -> None:
    spec = parse_schedule(body(timezone="Europe/Stockholm"))
    patch = parse_patch({"name": "Nightly", "leads": ["0s"]})
    assert patch.changes == {"name": "Nightly", "leads": ["0s"]}
    edited = patch.apply(spec)
    assert edited.name == "Nightly"
    assert edited.leads == ["0s"]
    assert edited.timezone == "Europe/Stockholm"
    assert edited.recurrence == spec.recurrence
    assert patch.affects_notices
    assert not parse_patch({"name": "x", "link": "https://a.example"}).affects_notices


def test_patch_refuses_null_unknown_and_bad_values() -> None:
    with pytest.raises(InvalidSchedule) as info:
        parse_patch({"name": None, "colour": "red", "leads": ["1h", "1x"]})
    fields = {p["field"]: p["message"] for p in info.value.problems}
    assert fields["name"] == "cannot be null; leave the field out to keep its value"
    assert "unknown field" in str(fields["colour"])
    assert "cannot read '1x'" in str(fields["leads.1"])


def test_patch_is_validated_as_a_whole() -> None:
    spec = parse_schedule(
        body(recurrence="DTSTART;TZID=Europe/Stockholm:20260101T023000\nRRULE:FREQ=DAILY")
    )
    assert spec.timezone == "Europe/Stockholm"
    with pytest.raises(InvalidSchedule) as info:
        parse_patch({"timezone": "America/New_York"}).apply(spec)
    assert info.value.field == "recurrence"
    # A new recurrence with its own TZID carries the timezone with it ...
    moved = parse_patch(
        {"recurrence": "DTSTART;TZID=America/New_York:20260101T013000\nRRULE:FREQ=DAILY"}
    ).apply(spec)
    assert moved.timezone == "America/New_York"
    # ... and a floating or cron one keeps the schedule's.
    assert parse_patch({"recurrence": "0 3 * * *"}).apply(spec).timezone == "Europe/Stockholm"


def test_json_schema_is_available_for_the_api() -> None:
    schema = ScheduleSpec.model_json_schema()
    assert schema["required"] == ["name", "type", "link", "recurrence"]
    assert schema["additionalProperties"] is False
