"""Remote ids from a target's answer are checked before they are kept or put into a URL: a Jira
or ServiceNow stand-in (real, on loopback) that answers a create with ``..`` for an id must not
be able to point the close at another path of its host (``…/issue/../transitions`` normalises
to ``…/api/3/transitions``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from destkit import TOKEN, api_get, deliver, serving
from engine_support import deliveries, hub_on, ticket
from targets import Target

#: format → (its options, the create path, a well-formed id of that target)
CASES = {
    "jira": (
        {"project_key": "SEC", "close_transition_id": "31"},
        "/rest/api/3/issue",
        "SEC-7",
    ),
    "servicenow": ({}, "/api/now/table/incident", "0123456789abcdef0123456789abcdef"),
}


@pytest.mark.parametrize("format_name", ["jira", "servicenow"])
@pytest.mark.parametrize("hostile", ["..", "SEC-1/../../x", "9D385017C611228701D22104CC95C371"])
async def test_an_answered_id_of_the_wrong_shape_is_refused_and_never_put_into_a_url(
    tmp_path: Path, format_name: str, hostile: str
) -> None:
    options, create_path, _ = CASES[format_name]
    target = Target(format_name, hand_out=[hostile])
    async with serving(target), hub_on(tmp_path, api_token=TOKEN) as hub:
        endpoint = await hub.add_endpoint(
            target.url, event_types=["ticket.*"], format=format_name, format_options=options
        )
        opened_event = await hub.publish(ticket(11))
        await hub.publish(ticket(11, "Closed (Fixed)"))
        await deliver(hub, endpoint.id, 2)
        opened, closed = await deliveries(hub, endpoint.id)
        stored = await hub.store.get_remote_ref(endpoint.id, "ticket/11")
        event = await api_get(hub, f"/v1/events/{opened_event.event_id}")

    assert stored is None
    # Only creates reached the target: the close had no id to build a path from.
    assert [(s.method, s.path) for s in target.seen] == [("POST", create_path)] * 2
    assert (opened.status, closed.status) == ("succeeded", "succeeded")
    note = event["deliveries"][0]["attention"]
    assert note.startswith(f"needs attention: the {format_name} answer's id for ticket/11 was")
    assert repr(hostile) in note
    assert "is not a" in note


@pytest.mark.parametrize("format_name", ["jira", "servicenow"])
async def test_a_stored_id_of_the_wrong_shape_fails_the_close_without_a_request(
    tmp_path: Path, format_name: str
) -> None:
    """An id kept before ids were checked (or written by hand) is refused at render time."""
    options, _, _ = CASES[format_name]
    target = Target(format_name)
    async with serving(target), hub_on(tmp_path, api_token=TOKEN) as hub:
        endpoint = await hub.add_endpoint(
            target.url, event_types=["ticket.*"], format=format_name, format_options=options
        )
        await hub.store.put_remote_ref(endpoint.id, "ticket/12", "..", "dlv_old", 0.0)
        await hub.publish(ticket(12, "Closed (Fixed)"))
        await deliver(hub, endpoint.id, 1)
        (closed,) = await deliveries(hub, endpoint.id)

    assert target.seen == []
    assert (closed.status, closed.attempts) == ("failed", 1)  # final: retrying cannot help
    error = closed.attempt_log[0].error or ""
    assert "'..' is not a" in error
    assert "stored for ticket/12 is not usable" in error


@pytest.mark.parametrize("format_name", ["jira", "servicenow"])
async def test_a_well_formed_answered_id_is_kept_and_closes_its_record(
    tmp_path: Path, format_name: str
) -> None:
    options, create_path, good = CASES[format_name]
    target = Target(format_name, hand_out=[good])
    async with serving(target), hub_on(tmp_path, api_token=TOKEN) as hub:
        endpoint = await hub.add_endpoint(
            target.url, event_types=["ticket.*"], format=format_name, format_options=options
        )
        await hub.publish(ticket(13))
        await hub.publish(ticket(13, "Closed (Fixed)"))
        await deliver(hub, endpoint.id, 2)
        stored = await hub.store.get_remote_ref(endpoint.id, "ticket/13")

    assert stored == good
    assert target.seen[1].path.startswith(f"{create_path}/{good}")
