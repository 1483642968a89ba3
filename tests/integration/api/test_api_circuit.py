"""An endpoint's circuit over HTTP: its state, until when, why and its failed probes on the
endpoint; a manual retry and a replay say when the circuit will delay what they requeued.

The circuit is moved by the engine's own store calls (claim, then record the attempts'
failures), at chosen times, so that each state holds as long as the test looks at it."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import pytest
from apikit import ApiServer

from scanhook.store import AttemptOutcome, ClaimedDelivery

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
#: The first pause is the first step (30 s); the longest is 60 s.
SCHEDULE = "30s,60s"


def at(text: str | None) -> float:
    assert text is not None
    return datetime.fromisoformat(text).timestamp()


def failure(c: ClaimedDelivery, started: float, retry: bool = True) -> AttemptOutcome:
    return AttemptOutcome(
        delivery_id=c.id,
        endpoint_id=c.endpoint.id,
        number=c.attempt,
        started_at=started,
        duration_ms=10.0,
        succeeded=False,
        status_code=500,
        error_kind="http",
        error="HTTP 500",
        next_attempt_at=started + 30 if retry else None,
    )


def fail_five(api: ApiServer, endpoint_id: str, started: float, final: int = 0) -> list[str]:
    """Publish six events to the endpoint (its only one), claim five and record them failed
    (the last ``final`` of them for good): the circuit opens at the fifth. Returns the ids
    of the deliveries that failed for good."""
    for n in range(6):
        body = {"ticket": {**TICKET["ticket"], "number": n}}
        assert api.session.post(api.url("/v1/events"), json=body).status_code == 202
    claimed = api.run(api.hub.store.claim("w", time.time(), 30.0, 5))
    assert len(claimed) == 5
    assert {c.endpoint.id for c in claimed} == {endpoint_id}
    outcomes = [failure(c, started, retry=i < 5 - final) for i, c in enumerate(claimed)]
    api.run(api.hub.store.record(outcomes))
    return [c.id for c in claimed[5 - final :]]


def endpoint(api: ApiServer, endpoint_id: str) -> dict[str, Any]:
    response = api.session.get(api.url(f"/v1/endpoints/{endpoint_id}"))
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def test_the_endpoint_shows_its_circuit_and_requeues_say_when_it_delays_them(
    tmp_path: Any,
) -> None:
    api = ApiServer(tmp_path / "api.db", retry_schedule=SCHEDULE).start()
    try:
        response = api.session.post(
            api.url("/v1/endpoints"), json={"url": "http://127.0.0.1:9/hook"}
        )
        endpoint_id = response.json()["id"]
        assert response.json()["health"]["circuit"] == {
            "state": "closed",
            "open_until": None,
            "opened_at": None,
            "reason": None,
            "failed_probes": 0,
        }
        now = time.time()
        failed = fail_five(api, endpoint_id, now, final=2)

        circuit = endpoint(api, endpoint_id)["health"]["circuit"]
        assert circuit["state"] == "open"
        assert circuit["reason"] == "5 consecutive failures; last: HTTP 500"
        assert circuit["failed_probes"] == 0
        assert at(circuit["opened_at"]) == pytest.approx(now + 0.01, abs=1e-3)
        # The first pause is the schedule's first step.
        assert at(circuit["open_until"]) == pytest.approx(now + 0.01 + 30, abs=1e-3)
        listed = api.session.get(api.url("/v1/endpoints")).json()["data"]
        assert [e["health"]["circuit"] for e in listed] == [circuit]

        # A manual retry and a replay while it is open: requeued, and told until when.
        retried = api.session.post(api.url(f"/v1/deliveries/{failed[0]}/retry"))
        assert retried.status_code == 200, retried.text
        assert retried.json()["status"] == "pending"
        assert retried.json()["circuit_delay"] == circuit
        replayed = api.session.post(api.url(f"/v1/endpoints/{endpoint_id}/replay"), json={})
        assert replayed.status_code == 200, replayed.text
        assert replayed.json() == {"requeued": 1, "circuit_delay": circuit}

        # Enabling closes the circuit; a replay with nothing to requeue is not delayed either.
        api.session.post(api.url(f"/v1/endpoints/{endpoint_id}/enable"))
        assert endpoint(api, endpoint_id)["health"]["circuit"]["state"] == "closed"
        assert endpoint(api, endpoint_id)["health"]["circuit_open_until"] is None
        replayed = api.session.post(api.url(f"/v1/endpoints/{endpoint_id}/replay"), json={})
        assert replayed.json() == {"requeued": 0, "circuit_delay": None}
    finally:
        api.close()


def test_a_circuit_whose_pause_has_ended_is_half_open(tmp_path: Any) -> None:
    api = ApiServer(tmp_path / "api.db", retry_schedule=SCHEDULE).start()
    try:
        response = api.session.post(
            api.url("/v1/endpoints"), json={"url": "http://127.0.0.1:9/hook"}
        )
        endpoint_id = response.json()["id"]
        [failed] = fail_five(api, endpoint_id, time.time() - 100, final=1)  # paused 100 s ago
        circuit = endpoint(api, endpoint_id)["health"]["circuit"]
        assert circuit["state"] == "half-open"
        assert at(circuit["open_until"]) < time.time()
        retried = api.session.post(api.url(f"/v1/deliveries/{failed}/retry")).json()
        assert retried["circuit_delay"]["state"] == "half-open"
    finally:
        api.close()
