"""Every format × every event type against its golden file (see conftest for regenerating)."""

from __future__ import annotations

from typing import Any

import pytest
from format_samples import check_golden, context, notification

from scanhook.formats import render
from scanhook.notifications import EVENT_TYPES

TEMPLATE = (
    '{"kind": {{ event_type | tojson }}, "id": {{ event_id | tojson }}, '
    '"at": {{ event_time | tojson }}, '
    '"what": {{ (ticket.vulnerability_name if ticket else notification.name) | tojson }}, '
    '"fields": {{ notification | dictsort | map("first") | list | tojson }}}'
)

#: (case name, format, options, remote id of ticket.closed or None)
CASES: list[tuple[str, str, dict[str, Any], str | None]] = [
    ("raw", "raw", {}, None),
    ("cloudevents", "cloudevents", {}, None),
    ("slack", "slack", {"mention": "<!here>"}, None),
    ("teams", "teams", {}, None),
    ("pagerduty", "pagerduty", {"routing_key": "R0UT1NGKEY0123456789ABCDEFGHIJKL"}, None),
    (
        "jira",
        "jira",
        {"project_key": "SEC", "close_transition_id": "31", "priorities": {"High": "High"}},
        None,
    ),
    ("jira-known", "jira", {"project_key": "SEC", "close_transition_id": "31"}, "SEC-42"),
    ("jira-known-no-transition", "jira", {"project_key": "SEC"}, "SEC-42"),
    ("servicenow", "servicenow", {"assignment_group": "Security Operations"}, None),
    ("servicenow-known", "servicenow", {}, "9d385017c611228701d22104cc95c371"),
    ("splunk", "splunk", {"index": "security"}, None),
    ("ocsf", "ocsf", {}, None),
    ("template", "template", {"template": TEMPLATE}, None),
    (
        "template-text",
        "template",
        {
            "template": "{{ notification.name or ticket.asset_name }}: {{ event_type }}\n",
            "content_type": "text/plain; charset=utf-8",
            "path_suffix": "/hooks/sc",
        },
        None,
    ),
]


PARAMS = [
    pytest.param(case, format_name, options, remote_id, event_type, id=f"{case}-{event_type}")
    for case, format_name, options, remote_id in CASES
    for event_type in EVENT_TYPES
    if remote_id is None or event_type == "ticket.closed"  # a remote id only changes a close
]


@pytest.mark.parametrize(("case", "format_name", "options", "remote_id", "event_type"), PARAMS)
def test_golden(
    case: str, format_name: str, options: dict[str, Any], remote_id: str | None, event_type: str
) -> None:
    result = render(format_name, notification(event_type), options, context(event_type, remote_id))
    check_golden(f"{case}/{event_type}", result)
