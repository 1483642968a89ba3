"""Targets' error bodies read as reasons; remote ids read from create responses."""

from __future__ import annotations

import json

import pytest

from scanhook.formats import classify_failure, describe_failure, extract_remote_id
from scanhook.formats.outcomes import NEVER
from scanhook.formats.remote_ids import UnexpectedRemoteId


def j(value: object) -> bytes:
    return json.dumps(value).encode()


@pytest.mark.parametrize(
    ("format_name", "status", "body", "reason", "permanent"),
    [
        (
            "splunk",
            400,
            j({"text": "Incorrect index", "code": 7, "invalid-event-number": 0}),
            "Splunk: Incorrect index (code 7), event #0",
            True,
        ),
        (
            "splunk",
            403,
            j({"text": "Invalid token", "code": 4}),
            "Splunk: Invalid token (code 4): the HEC token is invalid",
            False,
        ),
        ("splunk", 503, j({"text": "Server is busy", "code": 9}), "Splunk: Server is busy", False),
        (
            "pagerduty",
            400,
            j(
                {
                    "status": "invalid event",
                    "message": "Event object is invalid",
                    "errors": ["'routing_key' is invalid"],
                }
            ),
            "PagerDuty: Event object is invalid; 'routing_key' is invalid",
            True,
        ),
        (
            "pagerduty",
            429,
            j({"status": "throttle event", "message": "Requests for this service are throttled"}),
            "PagerDuty: Requests for this service are throttled",
            False,
        ),
        (
            "jira",
            400,
            j(
                {
                    "errorMessages": [],
                    "errors": {"summary": "You must specify a summary of the issue."},
                }
            ),
            "Jira: summary: You must specify a summary of the issue.",
            True,
        ),
        (
            "jira",
            404,
            j({"errorMessages": ["Issue does not exist or you do not have permission to see it."]}),
            "Jira: Issue does not exist",
            True,
        ),
        (
            "jira",
            401,
            j({"errorMessages": ["You are not authenticated."]}),
            "Jira: You are not authenticated.",
            False,
        ),
        (
            "servicenow",
            400,
            j(
                {
                    "error": {"message": "Invalid table incidentx", "detail": None},
                    "status": "failure",
                }
            ),
            "ServiceNow: Invalid table incidentx",
            True,
        ),
        (
            "servicenow",
            403,
            j({"error": {"message": "User Not Authorized", "detail": "ACL"}, "status": "failure"}),
            "ServiceNow: User Not Authorized; ACL",
            False,
        ),
        ("slack", 400, b"invalid_payload", "Slack: invalid_payload", True),
        ("slack", 404, b"no_service", "Slack: no_service", True),
    ],
)
def test_error_bodies_become_readable_reasons(
    format_name: str, status: int, body: bytes, reason: str, permanent: bool
) -> None:
    failure = classify_failure(format_name, status, body)
    assert failure.permanent is permanent
    assert failure.reason is not None
    assert failure.reason.startswith(reason)
    described = describe_failure(format_name, status, body)
    assert described is not None
    assert described.startswith(reason)
    assert described.endswith(NEVER) is permanent


@pytest.mark.parametrize(
    ("format_name", "status", "body"),
    [
        ("raw", 400, b'{"error": "x"}'),
        ("splunk", 200, j({"text": "Success", "code": 0})),
        ("splunk", 502, b"<html>Bad gateway</html>"),
        ("jira", 500, b""),
        ("servicenow", 500, j({"result": []})),
        ("slack", 500, b"<html>an error page</html>"),
    ],
)
def test_unreadable_or_irrelevant_bodies_give_no_reason(
    format_name: str, status: int, body: bytes
) -> None:
    assert describe_failure(format_name, status, body) is None


def test_a_400_with_an_unreadable_body_is_still_final_for_these_targets() -> None:
    assert classify_failure("pagerduty", 400, b"not json").permanent
    assert not classify_failure("raw", 400, b"not json").permanent


def test_remote_ids_from_create_responses() -> None:
    jira = j(
        {"id": "10000", "key": "SEC-42", "self": "https://x.atlassian.net/rest/api/3/issue/10000"}
    )
    assert extract_remote_id("jira", jira) == "SEC-42"
    snow = j({"result": {"sys_id": "9d385017c611228701d22104cc95c371", "number": "INC0010001"}})
    assert extract_remote_id("servicenow", snow) == "9d385017c611228701d22104cc95c371"
    assert extract_remote_id("jira", b"oops") is None
    assert extract_remote_id("servicenow", j({"result": {}})) is None
    assert extract_remote_id("raw", jira) is None


def test_a_response_nested_too_deep_to_parse_gives_no_reason() -> None:
    # A hostile receiver's 4 KiB answer of brackets: deeper than the parser recurses.
    deep = b"[" * 4096
    assert describe_failure("pagerduty", 400, deep) is None
    assert extract_remote_id("jira", deep) is None


@pytest.mark.parametrize(
    ("format_name", "value"),
    [
        ("jira", ".."),
        ("jira", "SEC-1/../../x"),
        ("jira", "sec-1"),
        ("jira", "SEC-1\n"),  # `$` would have let it through
        ("jira", "SEC-\u0661"),  # an Arabic-Indic digit: `\d` would have let it through
        ("jira", "S" * 300 + "-1"),
        ("servicenow", ".."),
        ("servicenow", "9D385017C611228701D22104CC95C371"),
        ("servicenow", "9d385017c611228701d22104cc95c37"),
        ("servicenow", "9d385017c611228701d22104cc95c371/.."),
    ],
)
def test_remote_ids_of_the_wrong_shape_are_refused(format_name: str, value: str) -> None:
    body = j({"key": value}) if format_name == "jira" else j({"result": {"sys_id": value}})
    with pytest.raises(UnexpectedRemoteId, match="is not a"):
        extract_remote_id(format_name, body)
