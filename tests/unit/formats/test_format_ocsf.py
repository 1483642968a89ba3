"""OCSF output validates offline against the vendored OCSF 1.3.0 class schemas."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from format_samples import WIRE, context, notification

from scanhook.formats import FormattedRequest, render
from scanhook.formats.ocsf import schema
from scanhook.notifications import EVENT_TYPES, parse

_CHECKER = jsonschema.Draft202012Validator.FORMAT_CHECKER


def event(source: Any, event_type: str) -> dict[str, Any]:
    result = render("ocsf", source, {}, context(event_type))
    assert isinstance(result, FormattedRequest)
    loaded: dict[str, Any] = json.loads(result.body)
    return loaded


def validate(document: dict[str, Any], class_uid: int | None = None) -> None:
    chosen = schema(class_uid or document["class_uid"])
    jsonschema.Draft202012Validator.check_schema(chosen)
    jsonschema.validate(
        document,
        chosen,
        cls=jsonschema.Draft202012Validator,
        format_checker=_CHECKER,
    )


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_output_validates(event_type: str) -> None:
    document = event(notification(event_type), event_type)
    validate(document)
    expected = 2002 if event_type.startswith("ticket") else 6007
    assert document["class_uid"] == expected
    assert document["type_uid"] == expected * 100 + document["activity_id"]


@pytest.mark.parametrize("severity", ["Info", "Low", "Medium", "High", "Critical"])
def test_every_severity_validates(severity: str) -> None:
    wire = {"ticket": {**WIRE["ticket.opened"]["ticket"], "severity": severity}}
    document = event(parse(wire), "ticket.opened")
    validate(document)
    assert (
        document["severity_id"] == ["Info", "Low", "Medium", "High", "Critical"].index(severity) + 1
    )


def test_a_failed_scan_is_an_error_activity() -> None:
    wire = {"finished_scan": {**WIRE["finished_scan"]["finished_scan"], "status": "Aborted"}}
    document = event(parse(wire), "finished_scan")
    validate(document)
    assert (document["activity_id"], document["status_id"]) == (6, 2)


def test_ticket_lifecycle_maps_to_create_and_close() -> None:
    opened = event(notification("ticket.opened"), "ticket.opened")
    closed = event(notification("ticket.closed"), "ticket.closed")
    assert (opened["activity_id"], opened["status_id"]) == (1, 1)
    assert (closed["activity_id"], closed["status_id"]) == (3, 4)
    assert opened["finding_info"]["uid"] == closed["finding_info"]["uid"] == "ticket/4711"


@pytest.mark.parametrize(
    "breakage",
    [
        {"class_uid": 2001},
        {"type_uid": 200299},
        {"severity_id": 7},
        {"finding_info": {"title": "no uid"}},
        {"vulnerabilities": []},
        {"severty_id": 4},
        {"time": "2026-03-02T11:05:00Z"},
    ],
)
def test_the_schema_is_not_a_rubber_stamp(breakage: dict[str, Any]) -> None:
    document = {**event(notification("ticket.opened"), "ticket.opened"), **breakage}
    with pytest.raises(jsonschema.ValidationError):
        validate(document, 2002)
