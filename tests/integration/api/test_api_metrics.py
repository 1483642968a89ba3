"""``/metrics`` on a real API server (uvicorn on loopback): its own token when
SCANHOOK_METRICS_TOKEN is set, and queue counts that are exact when read and read again at most
every SCANHOOK_METRICS_REFRESH, however often it is scraped."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from apikit import TOKEN, ApiServer
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from scanhook.metrics import Metrics
from scanhook.store.records import AttemptOutcome

METRICS_TOKEN = "metrics-only-token-0123456789abcdef"
TICKET = {
    "ticket": {
        "number": 1,
        "status": "Open",
        "severity": "High",
        "vulnerability_name": "CVE-2026-0001 in OpenSSL",
        "asset_name": "web-1",
        "asset_link": "https://sc.example.com/assets/1",
        "due_date": "2026-12-31",
        "owner": "secops@example.com",
    }
}


@pytest.fixture
def server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ApiServer]:
    settings = getattr(request, "param", {})
    api = ApiServer(tmp_path / "api.db", **settings).start()
    try:
        yield api
    finally:
        api.close()


def scrape(api: ApiServer, token: str | None = None) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = api.anonymous.get(api.url("/metrics"), headers=headers)
    assert response.status_code == 200, response.text
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            label = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{label}}}" if label else sample.name] = sample.value
    return samples


def queue(samples: dict[str, float]) -> dict[str, int]:
    statuses = ("pending", "sending", "succeeded", "failed")
    return {s: int(samples[f"scanhook_queue_deliveries{{status={s}}}"]) for s in statuses}


def publish(api: ApiServer, count: int) -> None:
    for _ in range(count):
        response = api.session.post(api.url("/v1/events"), json=TICKET)
        assert response.status_code == 202, response.text


@pytest.mark.parametrize("server", [{"metrics_token": METRICS_TOKEN}], indirect=True)
def test_the_metrics_token_is_required_and_no_other_token_will_do(server: ApiServer) -> None:
    url = server.url("/metrics")
    for headers in (
        {},
        {"Authorization": "Bearer wrong-token-0123456789abcdef"},
        {"Authorization": f"Bearer {TOKEN}"},  # an API token is not a metrics token
        {"Authorization": f"Bearer {METRICS_TOKEN[:-1]}"},
        {"Authorization": f"Basic {METRICS_TOKEN}"},
    ):
        response = server.anonymous.get(url, headers=headers)
        assert response.status_code == 401, (headers, response.text)
        error = response.json()["error"]
        assert error["code"] == "unauthorized"
        assert "metrics" in error["message"].lower()
        assert METRICS_TOKEN not in response.text
    assert scrape(server, METRICS_TOKEN)["scanhook_endpoints"] == 0.0
    # The metrics token opens nothing else, and the other open routes stay open.
    headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    assert server.anonymous.get(server.url("/v1/stats"), headers=headers).status_code == 401
    assert server.anonymous.get(server.url("/healthz")).status_code == 200


def test_a_scrape_shows_exactly_the_databases_counts(server: ApiServer) -> None:
    hub = server.hub
    for port in (9, 10):  # nothing is sent: no workers run here
        response = server.session.post(
            server.url("/v1/endpoints"), json={"url": f"http://127.0.0.1:{port}/"}
        )
        assert response.status_code == 201, response.text
    publish(server, 6)  # 12 deliveries, pending

    async def settle() -> None:
        claimed = await hub.store.claim("test-worker", time.time(), 60.0, 5)
        now = time.time()
        outcomes = [
            AttemptOutcome(d.id, d.endpoint.id, d.attempt, now, 1.0, index < 3, 200)
            for index, d in enumerate(claimed[:4])
        ]
        await hub.store.record(outcomes)  # 3 succeeded, 1 failed, 1 still sending

    server.run(settle())
    samples = scrape(server)
    stats = server.session.get(server.url("/v1/stats")).json()
    assert queue(samples) == stats["deliveries"]
    assert queue(samples) == {"pending": 7, "sending": 1, "succeeded": 3, "failed": 1}
    assert samples["scanhook_endpoints"] == 2.0
    assert samples["scanhook_oldest_due_delivery_age_seconds"] >= 0.0
    assert samples["scanhook_queue_counts_age_seconds{counts=queue}"] < 5.0
    assert samples["scanhook_queue_counts_age_seconds{counts=finished}"] < 5.0


@pytest.mark.parametrize("server", [{"metrics_refresh": "2s"}], indirect=True)
def test_counts_are_read_again_at_most_every_refresh_whatever_the_scrapes(
    server: ApiServer,
) -> None:
    response = server.session.post(server.url("/v1/endpoints"), json={"url": "http://127.0.0.1:9/"})
    assert response.status_code == 201
    publish(server, 2)
    assert queue(scrape(server))["pending"] == 2
    read_at = time.monotonic()
    publish(server, 3)
    # Scrapes within the refresh interval answer with the counts already read.
    scrapes = 0
    while scrapes < 3 or time.monotonic() - read_at < 1.0:
        assert queue(scrape(server))["pending"] == 2
        scrapes += 1
    assert time.monotonic() - read_at < 2.0, "too slow to tell: the interval had passed"
    time.sleep(max(0.0, read_at + 2.1 - time.monotonic()))
    deadline = time.monotonic() + 10
    while queue(samples := scrape(server))["pending"] != 5:  # read again in the background
        assert time.monotonic() < deadline, samples
        time.sleep(0.05)
    assert samples["scanhook_queue_counts_age_seconds{counts=queue}"] < 5.0


def test_the_history_is_counted_every_nth_reading_and_the_queue_every_time(
    server: ApiServer,
) -> None:
    hub = server.hub
    metrics = Metrics(CollectorRegistry(), refresh_every=0.0, finished_every=2)
    response = server.session.post(server.url("/v1/endpoints"), json={"url": "http://127.0.0.1:9/"})
    assert response.status_code == 201
    publish(server, 3)

    async def reading() -> dict[str, float | None]:
        await metrics.read_counts(hub.store)
        return {
            status: metrics.registry.get_sample_value(
                "scanhook_queue_deliveries", {"status": status}
            )
            for status in ("pending", "succeeded")
        }

    async def deliver_one() -> None:
        (claimed,) = await hub.store.claim("test-worker", time.time(), 60.0, 1)
        outcome = AttemptOutcome(claimed.id, claimed.endpoint.id, 1, time.time(), 1.0, True, 200)
        await hub.store.record([outcome])

    assert server.run(reading()) == {"pending": 3, "succeeded": 0}  # the first reading: all
    server.run(deliver_one())
    assert server.run(reading()) == {"pending": 2, "succeeded": 0}  # the queue only
    assert server.run(reading()) == {"pending": 2, "succeeded": 1}  # the 2nd after: all again
