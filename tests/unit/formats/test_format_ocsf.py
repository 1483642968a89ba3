"""OCSF output validates offline against the official OCSF definitions of the version it declares.

The definitions are the OCSF project's own schema export, shipped by the ``ocsf-json-schema``
package and compiled by it to a JSON Schema (draft 2020-12) per class, objects embedded. Nothing
here is written by hand; the checks after ``validate`` cover what the schema cannot say.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jsonschema
import pytest
from format_samples import GOLDEN, WIRE, context, notification
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema, get_packaged_versions

from scanhook.formats import FormattedRequest, render
from scanhook.formats.ocsf import OCSF_VERSION
from scanhook.notifications import EVENT_TYPES, parse

_CHECKER = jsonschema.Draft202012Validator.FORMAT_CHECKER
_CLASSES = {2002: "vulnerability_finding", 6007: "scan_activity"}


@cache
def official(class_uid: int) -> jsonschema.Draft202012Validator:
    """A validator for the official OCSF ``OCSF_VERSION`` definition of ``class_uid``."""
    ocsf = OcsfJsonSchemaEmbedded(get_ocsf_schema(version=OCSF_VERSION))
    name = ocsf.lookup_class_name_from_uid(class_uid)
    assert name == _CLASSES[class_uid]
    compiled = ocsf.get_class_schema(class_name=name)
    jsonschema.Draft202012Validator.check_schema(compiled)
    return jsonschema.Draft202012Validator(compiled, format_checker=_CHECKER)


def event(source: Any, event_type: str) -> dict[str, Any]:
    result = render("ocsf", source, {}, context(event_type))
    assert isinstance(result, FormattedRequest)
    loaded: dict[str, Any] = json.loads(result.body)
    return loaded


def validate(document: dict[str, Any], class_uid: int | None = None) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``document`` is a valid OCSF event."""
    official(class_uid or document["class_uid"]).validate(document)
    # What a per-class JSON Schema cannot say: the version we claim and type_uid's arithmetic.
    assert document["metadata"]["version"] == OCSF_VERSION
    assert document["type_uid"] == document["class_uid"] * 100 + document["activity_id"]


def ticket(**changes: Any) -> Any:
    return parse({"ticket": {**WIRE["ticket.opened"]["ticket"], **changes}})


def test_the_package_carries_the_declared_version() -> None:
    assert OCSF_VERSION in get_packaged_versions()


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_golden_file_validates(event_type: str) -> None:
    golden = json.loads((GOLDEN / "ocsf" / f"{event_type}.json").read_text(encoding="utf-8"))
    document = golden["body"]
    validate(document)
    assert document == event(notification(event_type), event_type)
    assert document["class_uid"] == (2002 if event_type.startswith("ticket") else 6007)


@pytest.mark.parametrize("severity", ["Info", "Low", "Medium", "High", "Critical"])
def test_every_severity_validates(severity: str) -> None:
    document = event(ticket(severity=severity), "ticket.opened")
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
    ("name", "expected"),
    [
        (
            "OpenSSH < 9.3p2 remote code execution",
            {"advisory": {"uid": "OpenSSH < 9.3p2 remote code execution"}},
        ),
        ("Apache Log4j RCE (CVE-2021-44228)", {"cve": {"uid": "CVE-2021-44228"}}),
        (
            "Log4j CVE-2021-44228, CVE-2021-45046 and CVE-2021-44228 again",
            {
                "cve": {"uid": "CVE-2021-44228"},
                "related_vulnerabilities": ["CVE-2021-45046"],
            },
        ),
    ],
)
def test_the_vulnerability_has_exactly_one_identifier(name: str, expected: dict[str, Any]) -> None:
    document = event(ticket(vulnerability_name=name), "ticket.opened")
    validate(document)
    (vulnerability,) = document["vulnerabilities"]
    assert vulnerability["title"] == name
    identifiers = {key for key in ("advisory", "cve", "cwe") if key in vulnerability}
    assert identifiers == {key for key in expected if key != "related_vulnerabilities"}
    for key, value in expected.items():
        found = vulnerability[key]
        assert found == value if not isinstance(value, dict) else value.items() <= found.items()


@pytest.mark.parametrize(
    ("owner", "expected"),
    [
        (
            "anna.lindqvist@example.com",
            {"name": "anna.lindqvist@example.com", "email_addr": "anna.lindqvist@example.com"},
        ),
        # OCSF's email_t pattern is ASCII only: the owner is still named, not dropped.
        ("åsa.ops@example.com", {"name": "åsa.ops@example.com"}),
    ],
)
def test_the_owner_fits_ocsf_email_t(owner: str, expected: dict[str, str]) -> None:
    document = event(ticket(owner=owner), "ticket.opened")
    validate(document)
    assert document["resources"][0]["owner"] == expected


@pytest.mark.parametrize(
    "breakage",
    [
        {"class_uid": 2001},
        {"type_uid": 200204},
        {"severity_id": 7},
        {"status_id": 42},
        {"finding_info": {"title": "no uid"}},
        {"vulnerabilities": [{"title": "no identifier"}]},
        {"vulnerabilities": [{"cve": {"uid": "CVE-2021-44228"}, "cwe": {"uid": "CWE-79"}}]},
        {"resources": [{"name": "prod-web-01", "owner": {"email_addr": "åsa.ops@example.com"}}]},
        {"metadata": {"product": {"name": "scanhook"}}},
        {"severty_id": 4},
        {"time": "2026-03-02T11:05:00Z"},
    ],
)
def test_the_official_schema_is_not_a_rubber_stamp(breakage: dict[str, Any]) -> None:
    document = {**event(notification("ticket.opened"), "ticket.opened"), **breakage}
    with pytest.raises(jsonschema.ValidationError):
        official(2002).validate(document)


@pytest.mark.parametrize("breakage", [{"type_uid": 200203}, {"metadata": {"version": "1.3.0"}}])
def test_what_the_schema_allows_our_own_checks_catch(breakage: dict[str, Any]) -> None:
    document = event(notification("ticket.opened"), "ticket.opened")
    metadata = {**document["metadata"], **breakage.get("metadata", {})}
    document = {**document, **breakage, "metadata": metadata}
    official(2002).validate(document)  # a listed type_uid, a well-formed version: schema-valid
    with pytest.raises(AssertionError):
        validate(document)


@pytest.mark.parametrize(
    "breakage",
    [
        {"activity_id": 11},
        {"scan": {"name": "no type_id"}},
        {"scan": {"type_id": 99}},
        {"num_detections": "three"},
    ],
)
def test_the_scan_schema_is_not_a_rubber_stamp(breakage: dict[str, Any]) -> None:
    document = {**event(notification("finished_scan"), "finished_scan"), **breakage}
    with pytest.raises(jsonschema.ValidationError):
        official(6007).validate(document)
