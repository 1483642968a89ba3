"""What each format promises beyond its golden files: the rules of its target."""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from cloudevents.core.bindings.http import HTTPMessage, from_http_event
from cloudevents.v1.http import from_http as from_http_v1
from format_samples import WIRE, context, notification

from scanhook.errors import InvalidRequest
from scanhook.formats import (
    FORMATS,
    FormatContext,
    FormattedRequest,
    RenderError,
    Skip,
    render,
    validate_options,
)
from scanhook.formats.slack import (
    MAX_BLOCKS,
    MAX_FIELD_TEXT,
    MAX_FIELDS,
    MAX_HEADER_TEXT,
    MAX_SECTION_TEXT,
    mrkdwn,
)
from scanhook.formats.teams import MAX_MESSAGE_BYTES
from scanhook.notifications import EVENT_TYPES, encode, parse

ROUTING = {"routing_key": "R0UT1NGKEY0123456789ABCDEFGHIJKL"}


def request(
    format_name: str, event_type: str, options: dict[str, Any] | None = None, **kw: Any
) -> FormattedRequest:
    result = render(format_name, notification(event_type), options or {}, context(event_type, **kw))
    assert isinstance(result, FormattedRequest)
    return result


def body(result: FormattedRequest) -> Any:
    return json.loads(result.body)


def huge(event_type: str, size: int = 20_000) -> Any:
    """The fixed notification with every free text field blown up (and full of '&<>')."""
    wire = json.loads(json.dumps(WIRE[event_type]))
    ((_key, fields),) = wire.items()
    for name in ("name", "vulnerability_name", "asset_name", "errors"):
        if name in fields:
            fields[name] = ("a&b<c>" * size)[:size]
    return parse(wire)


# -- raw ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_raw_is_exactly_the_wire_encoding(event_type: str) -> None:
    zone = ZoneInfo("Europe/Stockholm")
    ctx = FormatContext("evt_1", event_type, 0.0, tz=zone)
    result = render("raw", notification(event_type), {}, ctx)
    assert isinstance(result, FormattedRequest)
    assert result.body == encode(notification(event_type), zone)
    assert result.content_type == "application/json"
    assert result.method == "POST"
    assert result.path_suffix == ""
    assert result.headers == {}


# -- cloudevents ----------------------------------------------------------------------------------
@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_cloudevents_parse_with_the_cloudevents_package(event_type: str) -> None:
    result = request("cloudevents", event_type, {"source": "https://sc.example.com"})
    headers = {"content-type": result.content_type}
    event = from_http_event(HTTPMessage(headers=headers, body=result.body))
    assert event.get_specversion() == "1.0"
    assert event.get_id() == context(event_type).event_id
    assert event.get_type() == f"com.scanhook.{event_type}"
    assert event.get_source() == "https://sc.example.com"
    assert event.get_datacontenttype() == "application/json"
    assert event.get_time() is not None
    assert event.get_time().isoformat() == "2026-03-02T11:05:00+00:00"
    assert event.get_data() == json.loads(encode(notification(event_type)))
    # the older v1 API of the same package agrees
    legacy = from_http_v1(headers, result.body)
    assert legacy["type"] == f"com.scanhook.{event_type}"
    assert legacy.data == json.loads(encode(notification(event_type)))


def test_cloudevents_subject_is_stable_per_ticket_and_scan() -> None:
    opened = body(request("cloudevents", "ticket.opened"))
    closed = body(request("cloudevents", "ticket.closed"))
    assert opened["subject"] == closed["subject"] == "ticket/4711"
    assert body(request("cloudevents", "finished_scan"))["subject"] == "scan/Daily%20scan"
    assert request("cloudevents", "finished_scan").content_type == "application/cloudevents+json"


# -- pagerduty ------------------------------------------------------------------------------------
def test_pagerduty_open_triggers_and_close_resolves_the_same_alert() -> None:
    opened = body(request("pagerduty", "ticket.opened", ROUTING))
    closed = body(request("pagerduty", "ticket.closed", ROUTING))
    assert opened["event_action"] == "trigger"
    assert closed["event_action"] == "resolve"
    assert opened["dedup_key"] == closed["dedup_key"] == "scanhook/ticket/4711"
    assert closed == {**ROUTING, "event_action": "resolve", "dedup_key": "scanhook/ticket/4711"}
    assert len(opened["payload"]["summary"]) <= 1024


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        ("Critical", "critical"),
        ("High", "error"),
        ("Medium", "warning"),
        ("Low", "info"),
        ("Info", "info"),
    ],
)
def test_pagerduty_severity_mapping(severity: str, expected: str) -> None:
    wire = {"ticket": {**WIRE["ticket.opened"]["ticket"], "severity": severity}}
    result = render("pagerduty", parse(wire), ROUTING, context("ticket.opened"))
    assert isinstance(result, FormattedRequest)
    assert body(result)["payload"]["severity"] == expected


def _scan(**counts: int) -> Any:
    zero = {"critical_cnt": 0, "high_cnt": 0, "medium_cnt": 0, "low_cnt": 0}
    return parse({"finished_scan": {**WIRE["finished_scan"]["finished_scan"], **zero, **counts}})


@pytest.mark.parametrize(
    ("counts", "min_severity", "triggers", "severity"),
    [
        ({"critical_cnt": 1}, "High", True, "critical"),
        ({"high_cnt": 3}, "High", True, "error"),
        ({"medium_cnt": 9, "low_cnt": 4}, "High", False, None),
        ({"medium_cnt": 9}, "Medium", True, "warning"),
        ({"low_cnt": 1}, "Low", True, "info"),
        ({}, "Low", False, None),
        ({"high_cnt": 1}, "Critical", False, None),
    ],
)
def test_pagerduty_finished_scan_triggers_only_at_its_threshold(
    counts: dict[str, int], min_severity: str, triggers: bool, severity: str | None
) -> None:
    options = {**ROUTING, "min_severity": min_severity}
    result = render("pagerduty", _scan(**counts), options, context("finished_scan"))
    if not triggers:
        assert isinstance(result, Skip)
        assert f"min_severity {min_severity}" in result.reason
        return
    assert isinstance(result, FormattedRequest)
    event = body(result)
    assert event["event_action"] == "trigger"
    assert event["payload"]["severity"] == severity
    assert event["dedup_key"] == "scanhook/scan/Daily%20scan"
    assert event["payload"]["source"] == "sc.example.com"


def test_pagerduty_skips_scheduled_scans_and_low_tickets() -> None:
    assert isinstance(
        render("pagerduty", notification("scheduled_scan"), ROUTING, context("scheduled_scan")),
        Skip,
    )
    options = {**ROUTING, "ticket_min_severity": "Critical"}
    for event_type in ("ticket.opened", "ticket.closed"):
        result = render("pagerduty", notification(event_type), options, context(event_type))
        assert isinstance(result, Skip)
        assert "ticket_min_severity" in result.reason


# -- slack ----------------------------------------------------------------------------------------
def _check_slack_limits(message: dict[str, Any]) -> None:
    assert len(message["text"]) <= MAX_SECTION_TEXT
    assert len(message["blocks"]) <= MAX_BLOCKS
    for block in message["blocks"]:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= MAX_HEADER_TEXT
            assert block["text"]["type"] == "plain_text"
        if block["type"] == "section":
            if "text" in block:
                assert len(block["text"]["text"]) <= MAX_SECTION_TEXT
            assert len(block.get("fields", [])) <= MAX_FIELDS
            for field in block.get("fields", []):
                assert len(field["text"]) <= MAX_FIELD_TEXT
        for element in block.get("elements", []):
            assert len(element.get("url", "")) <= 3000


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_slack_stays_within_its_limits_even_for_huge_notifications(event_type: str) -> None:
    result = render("slack", huge(event_type), {"mention": "<!channel>"}, context(event_type))
    assert isinstance(result, FormattedRequest)
    message = body(result)
    _check_slack_limits(message)
    assert message["text"].startswith("<!channel> ")
    assert message["blocks"][0]["text"]["text"].endswith("…")
    _check_slack_limits(body(request("slack", event_type)))


def test_slack_escapes_and_never_cuts_an_escape_in_half() -> None:
    assert mrkdwn("a<b>&c", 100) == "a&lt;b&gt;&amp;c"
    for limit in range(1, 30):
        cut = mrkdwn("&&&&&&&&&&&&&&&&", limit)
        assert len(cut) <= limit
        assert cut.rstrip("…").replace("&amp;", "") == ""  # only whole escapes before the marker
    assert mrkdwn("abc", 3) == "abc"
    assert mrkdwn("abcd", 3) == "ab…"


def test_slack_drops_a_button_whose_url_is_too_long() -> None:
    wire = {
        "ticket": {
            **WIRE["ticket.opened"]["ticket"],
            "asset_link": "https://sc.example.com/" + "a" * 3100,
        }
    }
    result = render("slack", parse(wire), {}, context("ticket.opened"))
    assert isinstance(result, FormattedRequest)
    message = body(result)
    assert all(block["type"] != "actions" for block in message["blocks"])
    _check_slack_limits(message)


# -- teams ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_teams_sends_an_adaptive_card_1_5_within_the_size_limit(event_type: str) -> None:
    for source in (notification(event_type), huge(event_type)):
        result = render("teams", source, {}, context(event_type))
        assert isinstance(result, FormattedRequest)
        assert len(result.body) < MAX_MESSAGE_BYTES
        message = body(result)
        assert message["type"] == "message"
        (attachment,) = message["attachments"]
        assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
        card = attachment["content"]
        assert card["type"] == "AdaptiveCard"
        assert card["version"] == "1.5"
        assert "@type" not in card
        assert card.get("@context") is None
        assert card["actions"][0]["type"] == "Action.OpenUrl"


# -- splunk ---------------------------------------------------------------------------------------
def test_splunk_event_has_epoch_time_and_sourcetype() -> None:
    event = body(request("splunk", "ticket.opened"))
    assert event["time"] == 1772449500.0
    assert event["sourcetype"] == "scanhook:notification"
    assert "index" not in event
    assert event["event"]["ticket"]["number"] == 4711
    custom = body(
        request(
            "splunk", "ticket.opened", {"sourcetype": "sc:ticket", "index": "sec", "host": "sc01"}
        )
    )
    assert (custom["sourcetype"], custom["index"], custom["host"]) == ("sc:ticket", "sec", "sc01")
    assert request("splunk", "ticket.opened").path_suffix == "/services/collector/event"


# -- jira / servicenow lifecycle ------------------------------------------------------------------
def test_jira_open_creates_and_asks_for_the_remote_key() -> None:
    opened = request("jira", "ticket.opened", {"project_key": "SEC"})
    assert opened.path_suffix == "/rest/api/3/issue"
    assert opened.expects_remote_id
    assert opened.correlation_key == "ticket/4711"
    fields = body(opened)["fields"]
    assert fields["project"] == {"key": "SEC"}
    assert fields["issuetype"] == {"name": "Task"}
    assert fields["description"]["type"] == "doc"
    assert fields["description"]["version"] == 1
    assert len(fields["summary"]) <= 255


def test_jira_close_transitions_a_known_issue_and_flags_an_unknown_one() -> None:
    options = {"project_key": "SEC", "close_transition_id": "31"}
    known = request("jira", "ticket.closed", options, remote_id="SEC-42")
    assert known.path_suffix == "/rest/api/3/issue/SEC-42/transitions"
    assert body(known)["transition"] == {"id": "31"}
    assert known.attention is None
    unknown = request("jira", "ticket.closed", options)
    assert unknown.path_suffix == "/rest/api/3/issue"
    assert unknown.attention is not None
    assert "ticket/4711" in unknown.attention
    assert not unknown.expects_remote_id
    # A stored key of another shape never goes into a path.
    with pytest.raises(RenderError, match=r"'SEC-42/\.\./\.\./x' is not a Jira issue key"):
        request("jira", "ticket.closed", options, remote_id="SEC-42/../../x")


def test_servicenow_open_creates_close_resolves() -> None:
    opened = request("servicenow", "ticket.opened")
    incident = body(opened)
    assert opened.method == "POST"
    assert opened.path_suffix == "/api/now/table/incident"
    assert incident["correlation_id"] == "scanhook/ticket/4711"
    assert (incident["urgency"], incident["impact"]) == ("2", "1")
    assert opened.expects_remote_id
    sys_id = "9d385017c611228701d22104cc95c371"
    closed = request("servicenow", "ticket.closed", remote_id=sys_id)
    assert closed.method == "PATCH"
    assert closed.path_suffix == f"/api/now/table/incident/{sys_id}"
    assert body(closed)["state"] == "6"
    fallback = request("servicenow", "ticket.closed")
    assert fallback.method == "POST"
    assert fallback.attention is not None
    with pytest.raises(RenderError, match=r"'abc123' is not a ServiceNow sys_id"):
        request("servicenow", "ticket.closed", remote_id="abc123")


# -- options --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("format_name", "options", "field", "fragment"),
    [
        ("pagerduty", {}, "format_options.routing_key", "format_options.routing_key: required"),
        (
            "pagerduty",
            {**ROUTING, "min_severity": "Severe"},
            "format_options.min_severity",
            "Severe",
        ),
        (
            "pagerduty",
            {**ROUTING, "routing_key": "has space"},
            "format_options.routing_key",
            "should match pattern",  # an integration key: its value is never repeated
        ),
        (
            "jira",
            {"project_key": "sec"},
            "format_options.project_key",
            "format_options.project_key",
        ),
        (
            "jira",
            {"project_key": "SEC", "close_transition_id": 31},
            "format_options.close_transition_id",
            "string",
        ),
        (
            "raw",
            {"colour": "red"},
            "format_options.colour",
            "unknown option of the raw format (allowed: none)",
        ),
        ("slack", {"mentoin": "x"}, "format_options.mentoin", "allowed: mention, show_event_id"),
        ("splunk", {"index": ""}, "format_options.index", "format_options.index"),
        ("nosuch", {}, "format", "unknown format 'nosuch'"),
    ],
)
def test_invalid_options_are_refused_naming_the_option(
    format_name: str, options: dict[str, Any], field: str, fragment: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        validate_options(format_name, options)
    assert caught.value.field == field
    assert fragment in caught.value.message


def test_a_refused_routing_key_is_not_repeated() -> None:
    with pytest.raises(InvalidRequest) as caught:
        validate_options("pagerduty", {**ROUTING, "routing_key": "R0UTING KEY 0123456789"})
    assert "R0UTING" not in caught.value.message


def test_valid_options_come_back_normalised_without_defaults() -> None:
    assert validate_options("pagerduty", ROUTING) == ROUTING
    assert validate_options("raw", None) == {}
    assert validate_options("cloudevents", {"source": "/sc"}) == {"source": "/sc"}


def test_every_format_has_golden_files_for_every_event_type() -> None:
    from format_samples import GOLDEN

    for name in FORMATS:
        for event_type in EVENT_TYPES:
            assert (GOLDEN / name / f"{event_type}.json").exists(), (name, event_type)


def test_render_is_pure() -> None:
    for name in ("raw", "cloudevents", "slack", "teams", "splunk"):
        for event_type in EVENT_TYPES:
            assert request(name, event_type) == request(name, event_type)
    assert FormatContext("e", "ticket.opened", 0.0).tz is UTC
