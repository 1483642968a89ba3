"""Publishing over HTTP, idempotency, batches, reading events, and delivery to a loopback
receiver by the Hub's workers, with the deliveries list, retry, stats and metrics."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from apikit import ApiServer

FINISHED: dict[str, Any] = {
    "finished_scan": {
        "name": "Daily scan",
        "type": "network",
        "started": "2018-08-21 12:02",
        "finished": "2018-08-21 12:59",
        "duration": "00:57",
        "status": "Completed",
        "errors": "",
        "critical_cnt": 1,
        "high_cnt": 0,
        "medium_cnt": 3,
        "low_cnt": 0,
        "link": "https://sc.holmsecurity.com/scans/scans/view/123",
    }
}
TICKET: dict[str, Any] = {
    "ticket": {
        "number": 7,
        "status": "Open",
        "severity": "High",
        "vulnerability_name": "OpenSSH outdated",
        "asset_name": "web-1",
        "asset_link": "https://sc.example.com/assets/1",
        "due_date": "2026-12-01",
        "owner": "ops@example.com",
    }
}


def add_endpoint(api: ApiServer, url: str = "http://127.0.0.1:9/hook", **fields: Any) -> str:
    response = api.session.post(api.url("/v1/endpoints"), json={"url": url, **fields})
    assert response.status_code == 201, response.text
    endpoint_id: str = response.json()["id"]
    return endpoint_id


def test_publish_stores_the_event_with_its_deliveries(
    api: ApiServer, seed_finished_scan: bytes
) -> None:
    endpoint_id = add_endpoint(api)
    add_endpoint(api, event_types=["ticket.*"])  # does not match
    response = api.session.post(
        api.url("/v1/events"),
        data=seed_finished_scan,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["type"] == "finished_scan"
    assert accepted["deliveries"] == 1
    event = api.session.get(api.url(f"/v1/events/{accepted['id']}")).json()
    assert event["payload"] == json.loads(seed_finished_scan)
    assert event["created_at"].endswith("Z")
    (delivery,) = event["deliveries"]
    assert delivery["endpoint_id"] == endpoint_id
    assert delivery["status"] == "pending"
    assert delivery["attempts"] == []


def test_the_same_idempotency_key_returns_the_same_event_and_creates_nothing(
    api: ApiServer,
) -> None:
    add_endpoint(api)
    headers = {"Idempotency-Key": "scan-123-finished"}
    first = api.session.post(api.url("/v1/events"), json=FINISHED, headers=headers).json()
    again = api.session.post(api.url("/v1/events"), json=FINISHED, headers=headers)
    assert again.status_code == 202
    assert again.json()["id"] == first["id"]
    assert again.json()["duplicate"] is True
    assert first["duplicate"] is False
    stats = api.session.get(api.url("/v1/stats")).json()
    assert stats["deliveries"]["pending"] == 1
    other = api.session.post(api.url("/v1/events"), json=FINISHED).json()
    assert other["id"] != first["id"]


def test_batch_is_all_or_nothing_and_names_the_bad_index(api: ApiServer) -> None:
    add_endpoint(api)
    bad_ticket = {"ticket": {**TICKET["ticket"], "severity": "Severe"}}
    response = api.session.post(
        api.url("/v1/events/batch"), json={"events": [FINISHED, TICKET, bad_ticket]}
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == "events[2].ticket.severity"
    assert "events[2].ticket.severity" in error["message"]
    assert api.session.get(api.url("/v1/stats")).json()["deliveries"]["pending"] == 0
    ok = api.session.post(api.url("/v1/events/batch"), json={"events": [FINISHED, TICKET]})
    assert ok.status_code == 202
    ids = ok.json()["ids"]
    assert len(ids) == 2
    assert api.session.get(api.url(f"/v1/events/{ids[1]}")).json()["type"] == "ticket.opened"


def test_a_batch_over_1000_is_422(api: ApiServer) -> None:
    response = api.session.post(api.url("/v1/events/batch"), json={"events": [TICKET] * 1001})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == "events"
    assert "1000" in error["message"]


def test_deliveries_filter_by_endpoint_status_type_and_time(api: ApiServer) -> None:
    a = add_endpoint(api)
    b = add_endpoint(api, event_types=["ticket.*"])
    api.session.post(api.url("/v1/events/batch"), json={"events": [FINISHED, TICKET, TICKET]})

    def ids(**params: Any) -> list[str]:
        response = api.session.get(api.url("/v1/deliveries"), params=params)
        assert response.status_code == 200, response.text
        return [d["endpoint_id"] + ":" + d["event_type"] for d in response.json()["data"]]

    assert len(ids()) == 5
    assert ids(endpoint_id=b) == [f"{b}:ticket.opened"] * 2
    assert ids(endpoint_id=a, event_type="finished_scan") == [f"{a}:finished_scan"]
    assert ids(status="failed") == []
    assert len(ids(status="pending", limit=2)) == 2
    assert ids(since="2999-01-01T00:00:00Z") == []
    assert len(ids(until="2999-01-01T00:00:00")) == 5
    # Pages follow one another with the cursor, newest first.
    first = api.session.get(api.url("/v1/deliveries"), params={"limit": 3}).json()
    rest = api.session.get(
        api.url("/v1/deliveries"), params={"limit": 3, "cursor": first["next_cursor"]}
    ).json()
    all_ids = [d["id"] for d in first["data"] + rest["data"]]
    assert len(set(all_ids)) == 5
    assert all_ids == sorted(all_ids, reverse=True)
    assert rest["next_cursor"] is None


def test_published_events_are_delivered_to_a_loopback_receiver(tmp_path: Path) -> None:
    received: list[tuple[dict[str, str], bytes]] = []
    status = {"code": 500}

    async def handler(request: web.Request) -> web.Response:
        received.append((dict(request.headers), await request.read()))
        return web.Response(status=status["code"])

    async def start() -> web.AppRunner:
        app = web.Application()
        app.router.add_post("/hook", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return runner

    api = ApiServer(tmp_path / "api.db", workers=True, retry_schedule="0.05s").start()
    runner = api.run(start())
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
        endpoint_id = add_endpoint(api, url=url, secret="whsec_" + "C" * 32)
        event = api.session.post(api.url("/v1/events"), json=TICKET).json()
        # The receiver fails twice (the first attempt and the one retry): the delivery fails.
        delivery = wait_for(api, event["id"], "failed")
        assert [a["status_code"] for a in delivery["attempts"]] == [500, 500]
        assert delivery["attempts"][0]["number"] == 1
        assert delivery["attempts"][0]["started_at"].endswith("Z")
        # Fixed now: a retry by hand delivers it.
        status["code"] = 204
        retried = api.session.post(api.url(f"/v1/deliveries/{delivery['id']}/retry"))
        assert retried.status_code == 200
        assert retried.json()["status"] == "pending"
        delivery = wait_for(api, event["id"], "succeeded")
        assert [a["status_code"] for a in delivery["attempts"]] == [500, 500, 204]
        headers, body = received[-1]
        assert json.loads(body) == TICKET
        assert headers["scanhook-event-type"] == "ticket.opened"
        # A succeeded delivery cannot be retried: 409.
        again = api.session.post(api.url(f"/v1/deliveries/{delivery['id']}/retry"))
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "conflict"
        stats = api.session.get(api.url("/v1/stats")).json()
        assert stats["deliveries"] == {"pending": 0, "sending": 0, "succeeded": 1, "failed": 0}
        metrics = api.anonymous.get(api.url("/metrics")).text
        assert f'scanhook_attempts_total{{endpoint_id="{endpoint_id}",result="retrying"}} 1.0' in (
            metrics
        )
        assert f'scanhook_deliveries_total{{endpoint_id="{endpoint_id}",status="failed"}} 1.0' in (
            metrics
        )
        assert (
            f'scanhook_deliveries_total{{endpoint_id="{endpoint_id}",status="succeeded"}} 1.0'
            in metrics
        )
        assert "scanhook_attempt_duration_seconds_count 3.0" in metrics
        assert 'scanhook_queue_deliveries{status="succeeded"} 1.0' in metrics
        assert "scanhook_endpoints 1.0" in metrics
    finally:
        api.run(runner.cleanup())
        api.close()


def wait_for(api: ApiServer, event_id: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        event = api.session.get(api.url(f"/v1/events/{event_id}")).json()
        (delivery,) = event["deliveries"]
        if delivery["status"] == status:
            result: dict[str, Any] = delivery
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"delivery still {delivery['status']!r}, expected {status!r}: {delivery}")
        time.sleep(0.05)
