"""Hostile ``template`` endpoints over HTTP: a template that breaks a limit is refused at save
(422) while /healthz keeps answering, and one that breaks it only on real events fails its
delivery with the reason, under the same limits, without stalling the API or the worker."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from apikit import ApiServer

N = 12_000
BOMB = f'{{{{ ("a"*{N}).replace("a", "b"*{N}) }}}}'
ENDLESS = "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}"
#: True for real tickets (number 7), false for the samples the save-time check renders.
ONLY_REAL = "{% if ticket is not none and ticket.number != 1 %}"
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


def template_endpoint(template: str) -> dict[str, Any]:
    return {
        "url": "http://127.0.0.1:9/hook",
        "format": "template",
        "format_options": {"template": template},
    }


class HealthProbe:
    """Asks /healthz every 20 ms on its own thread and keeps each answer's latency."""

    def __init__(self, api: ApiServer) -> None:
        self.api = api
        self.latencies: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            with requests.get(self.api.url("/healthz"), timeout=30) as answer:
                assert answer.status_code == 200
            self.latencies.append(time.monotonic() - started)
            time.sleep(0.02)

    def __enter__(self) -> HealthProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)


@pytest.fixture
def working_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiServer]:
    monkeypatch.delenv("SCANHOOK_API_TOKEN", raising=False)
    monkeypatch.delenv("SCANHOOK_CONFIG", raising=False)
    server = ApiServer(tmp_path / "api.db", workers=True).start()
    try:
        yield server
    finally:
        server.close()


def test_a_slow_template_is_refused_while_healthz_keeps_answering(api: ApiServer) -> None:
    api.session.post(api.url("/v1/endpoints"), json=template_endpoint("{{ 1 }}"))  # warm pool
    with HealthProbe(api) as probe:
        time.sleep(0.1)
        started = time.monotonic()
        refused = api.session.post(api.url("/v1/endpoints"), json=template_endpoint(ENDLESS))
        elapsed = time.monotonic() - started
        time.sleep(0.1)
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["field"] == "format_options.template"
    assert "longer than its 1 s budget" in error["message"]
    assert elapsed < 5.0
    assert len(probe.latencies) >= 5
    assert max(probe.latencies) < 0.5  # the render ran elsewhere: the API loop never waited


def test_a_bomb_is_refused_even_behind_a_test_for_the_sample_event_id(api: ApiServer) -> None:
    for template in (BOMB, '{% if event_id != "evt_sample" %}' + BOMB + "{% endif %}"):
        refused = api.session.post(api.url("/v1/endpoints"), json=template_endpoint(template))
        assert refused.status_code == 422, refused.text
        message = refused.json()["error"]["message"]
        assert "'replace' would build more than the output budget of 65536 bytes" in message


def test_a_template_that_breaks_a_limit_only_on_real_events_fails_its_delivery(
    working_api: ApiServer,
) -> None:
    api = working_api
    ids = {}
    for name, body in (("bomb", BOMB), ("endless", ENDLESS)):
        created = api.session.post(
            api.url("/v1/endpoints"),
            json=template_endpoint(ONLY_REAL + body + "{% endif %}sample"),
        )
        assert created.status_code == 201, created.text  # the samples never take the branch
        ids[name] = created.json()["id"]
    with HealthProbe(api) as probe:
        event = api.session.post(api.url("/v1/events"), json=TICKET).json()
        assert event["deliveries"] == 2
        failed = {}
        for name, endpoint_id in ids.items():
            deliveries = api.session.get(
                api.url("/v1/deliveries"), params={"endpoint_id": endpoint_id}
            ).json()["data"]
            (delivery,) = deliveries
            failed[name] = _finished(api, delivery["id"])
    assert failed["bomb"]["status"] == "failed"
    assert "'replace' would build more than the output budget" in failed["bomb"]["last_error"]
    assert failed["endless"]["status"] == "failed"
    assert "longer than its 1 s budget" in failed["endless"]["last_error"]
    assert max(probe.latencies) < 0.5


def _finished(api: ApiServer, delivery_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        delivery: dict[str, Any] = api.session.get(api.url(f"/v1/deliveries/{delivery_id}")).json()
        if delivery["status"] in ("failed", "succeeded"):
            return delivery
        if time.monotonic() > deadline:
            pytest.fail(f"delivery not finished: {delivery}")
        time.sleep(0.05)
