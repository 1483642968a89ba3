"""Ticket lifecycle across systems, end to end through the real engine: a ticket's open creates a
Jira issue / ServiceNow incident (its remote id stored), its close transitions / resolves that
record, across a failed attempt and its retry on each side; a close with no remote record known
is still sent and shows ``attention`` in the API."""

from __future__ import annotations

import base64
from pathlib import Path

from destkit import TOKEN, api_get, deliver, serving
from engine_support import deliveries, hub_on, ticket
from targets import Target


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def test_jira_open_creates_close_transitions_with_a_retry_on_each_side(
    tmp_path: Path,
) -> None:
    jira = Target("jira", expect_auth=_basic("sec@example.com", "jira-api-token-1"))
    # The open's first create and the close's first transition answer 503.
    jira.fail_next = ["/rest/api/3/issue/SEC-1/transitions", "/rest/api/3/issue"]
    async with serving(jira), hub_on(tmp_path, api_token=TOKEN) as hub:
        endpoint = await hub.add_endpoint(
            jira.url,
            event_types=["ticket.*"],
            format="jira",
            format_options={"project_key": "SEC", "close_transition_id": "31"},
            auth={"type": "basic", "username": "sec@example.com", "password": "jira-api-token-1"},
        )
        assert endpoint.ordered  # jira endpoints are ordered unless told otherwise
        await hub.publish(ticket(4711))
        await hub.publish(ticket(4711, "Closed (Fixed)"))
        await deliver(hub, endpoint.id, 2)
        opened, closed = await deliveries(hub, endpoint.id)
        stored = await hub.store.get_remote_ref(endpoint.id, "ticket/4711")

    assert [(s.method, s.path) for s in jira.seen] == [
        ("POST", "/rest/api/3/issue"),  # 503
        ("POST", "/rest/api/3/issue"),  # 201 SEC-1
        ("POST", "/rest/api/3/issue/SEC-1/transitions"),  # 503
        ("POST", "/rest/api/3/issue/SEC-1/transitions"),  # 204
    ]
    assert stored == "SEC-1"
    assert jira.records == {"SEC-1": "Done"}  # one issue, transitioned; no second one created
    assert jira.seen[-1].json()["transition"] == {"id": "31"}
    assert (opened.status, opened.attempts, closed.status, closed.attempts) == (
        "succeeded",
        2,
        "succeeded",
        2,
    )
    assert [a.status_code for a in opened.attempt_log] == [503, 201]
    assert [a.status_code for a in closed.attempt_log] == [503, 204]
    # Jira's own headers: JSON both ways, and the contract's signature headers beside them.
    assert jira.seen[1].headers["accept"] == "application/json"
    assert jira.seen[1].headers["content-type"] == "application/json"
    assert jira.seen[1].headers["webhook-id"] == opened.id


async def test_servicenow_open_creates_close_resolves_the_same_incident(tmp_path: Path) -> None:
    snow = Target("servicenow", expect_auth="Bearer snow-token-abc")
    snow.fail_next = ["/api/now/table/incident/"]  # the resolve's first attempt (PATCH …/sys_id)
    async with serving(snow), hub_on(tmp_path, api_token=TOKEN) as hub:
        endpoint = await hub.add_endpoint(
            snow.url,
            event_types=["ticket.*"],
            format="servicenow",
            auth={"type": "bearer", "token": "snow-token-abc"},
        )
        assert endpoint.ordered
        await hub.publish(ticket(77, severity="Critical"))
        await hub.publish(ticket(77, "Closed (Fixed)", severity="Critical"))
        await deliver(hub, endpoint.id, 2)
        opened, closed = await deliveries(hub, endpoint.id)
        stored = await hub.store.get_remote_ref(endpoint.id, "ticket/77")

    (sys_id,) = snow.records
    assert stored == sys_id
    # The create answer is the whole record, over 4 KiB with sys_id at its end: read in full
    # for its id, kept to 4 KiB in the attempt record.
    assert opened.attempt_log[0].response_body is not None
    assert len(opened.attempt_log[0].response_body) == 4096
    assert [(s.method, s.path) for s in snow.seen] == [
        ("POST", "/api/now/table/incident"),
        ("PATCH", f"/api/now/table/incident/{sys_id}"),  # 503
        ("PATCH", f"/api/now/table/incident/{sys_id}"),
    ]
    create = snow.seen[0].json()
    assert create["correlation_id"] == "scanhook/ticket/77"
    assert (create["urgency"], create["impact"]) == ("1", "1")
    assert snow.records[sys_id] == "6"  # resolved
    assert (opened.status, closed.status, closed.attempts) == ("succeeded", "succeeded", 2)


async def test_a_close_with_no_known_issue_is_sent_and_needs_attention(tmp_path: Path) -> None:
    jira = Target("jira")
    async with serving(jira), hub_on(tmp_path, api_token=TOKEN) as hub:
        endpoint = await hub.add_endpoint(
            jira.url, format="jira", format_options={"project_key": "SEC"}
        )
        accepted = await hub.publish(ticket(99, "Closed (Fixed)"))
        await deliver(hub, endpoint.id, 1)
        event = await api_get(hub, f"/v1/events/{accepted.event_id}")
        listed = await api_get(hub, f"/v1/deliveries?endpoint_id={endpoint.id}")

    assert [(s.method, s.path) for s in jira.seen] == [("POST", "/rest/api/3/issue")]
    (delivery,) = event["deliveries"]
    assert delivery["status"] == "succeeded"
    note = "no Jira issue is known for ticket/99: created a new issue instead of closing one"
    assert delivery["attention"] == note
    assert delivery["attempts"][0]["attention"] == note
    assert listed["data"][0]["attention"] == note


async def test_a_deleted_jira_issue_fails_the_close_for_good_with_jiras_reason(
    tmp_path: Path,
) -> None:
    jira = Target("jira")
    async with serving(jira), hub_on(tmp_path, api_token=TOKEN) as hub:
        endpoint = await hub.add_endpoint(
            jira.url,
            format="jira",
            format_options={"project_key": "SEC", "close_transition_id": "31"},
        )
        await hub.publish(ticket(5))
        await deliver(hub, endpoint.id, 1)
        jira.records.clear()  # someone deleted SEC-1 in Jira
        await hub.publish(ticket(5, "Closed (Fixed)"))
        await deliver(hub, endpoint.id, 2)
        _, closed = await deliveries(hub, endpoint.id)

    assert (closed.status, closed.attempts) == ("failed", 1)  # no retries: it cannot help
    error = closed.attempt_log[0].error or ""
    assert error.startswith("HTTP 404: Jira: Issue does not exist")
    assert error.endswith("retrying cannot help")
