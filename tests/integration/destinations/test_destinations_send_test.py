"""``Hub.send_test`` (``POST /v1/endpoints/{id}/test``, ``scanhook endpoint test``) sends a sample
the way a delivery of it would go — signed, in the endpoint's format, with its credentials —
and stores nothing: no delivery, no ticket reference that a later close could find."""

from __future__ import annotations

import json
from pathlib import Path

from destkit import serving
from engine_support import Receiver, hub_on, receiving
from targets import Target


async def test_a_test_send_to_servicenow_is_formatted_authenticated_and_stores_nothing(
    tmp_path: Path,
) -> None:
    # The stand-in refuses (401) anything without exactly this bearer token.
    snow = Target("servicenow", expect_auth="Bearer snow-token-abc")
    async with serving(snow), hub_on(tmp_path) as hub:
        endpoint = await hub.add_endpoint(
            snow.url,
            event_types=["ticket.*"],
            format="servicenow",
            auth={"type": "bearer", "token": "snow-token-abc"},
        )
        result = await hub.send_test(endpoint.id, "ticket.opened")
        (seen,) = snow.seen
        key = seen.json()["correlation_id"].removeprefix("scanhook/")
        stored_ref = await hub.store.get_remote_ref(endpoint.id, key)
        stored_deliveries = await hub.store.list_deliveries()

    assert (result.succeeded, result.status_code) == (True, 201), result.error
    assert (seen.method, seen.path) == ("POST", "/api/now/table/incident")
    assert key.startswith("ticket/")
    assert seen.headers["webhook-id"].startswith("test_")
    assert "webhook-signature" in seen.headers
    # The incident was created, but scanhook keeps no reference to it, and no delivery.
    assert len(snow.records) == 1
    assert stored_ref is None
    assert stored_deliveries == []


async def test_a_test_send_carries_the_endpoint_credentials_on_a_raw_endpoint(
    tmp_path: Path,
) -> None:
    receiver = Receiver()
    async with receiving(receiver), hub_on(tmp_path) as hub:
        endpoint = await hub.add_endpoint(
            receiver.url, auth={"type": "header", "name": "X-Api-Key", "value": "key-123"}
        )
        result = await hub.send_test(endpoint.id, "finished_scan")

    assert result.succeeded, result.error
    (hit,) = receiver.hits
    assert hit.headers["x-api-key"] == "key-123"
    assert hit.headers["scanhook-event-type"] == "finished_scan"
    assert "finished_scan" in json.loads(hit.body)  # the contract's raw body
