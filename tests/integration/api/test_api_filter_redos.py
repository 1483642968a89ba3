"""A hostile ``matches`` filter over HTTP: it cannot stall a publish or the API, and patterns
the linear-time engine cannot run are refused with 422 naming the filter and the construct."""

from __future__ import annotations

import threading
import time

import requests
from apikit import ApiServer

from integration.engine.engine_support import finished_scan

#: Python's ``re`` took 4.8 s on 24 spaces with this pattern, doubling with each space more.
CATASTROPHIC_FILTER = 'finished_scan.name matches "(.|\\\\s)*!"'


def test_a_catastrophic_filter_cannot_stall_a_publish_or_healthz(api: ApiServer) -> None:
    created = api.session.post(
        api.url("/v1/endpoints"),
        json={"url": "http://127.0.0.1:9/hook", "filter": CATASTROPHIC_FILTER},
    )
    assert created.status_code == 201, created.text

    health: list[float] = []
    publishing = threading.Event()

    def probe() -> None:
        publishing.wait(10)
        while publishing.is_set():
            started = time.monotonic()
            with requests.get(api.url("/healthz"), timeout=30) as answer:
                assert answer.status_code == 200
            health.append(time.monotonic() - started)
            time.sleep(0.02)

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    publishing.set()
    try:
        started = time.monotonic()
        for name in (" " * 28, " " * 5_000, " " * 28 + "!"):
            published = api.session.post(
                api.url("/v1/events"), json=finished_scan(name), timeout=30
            )
            assert published.status_code == 202, published.text
            assert published.json()["deliveries"] == (1 if name.endswith("!") else 0)
        elapsed = time.monotonic() - started
    finally:
        publishing.clear()
        prober.join(30)
    # re needed minutes for the first name alone; RE2 reads each name once.
    assert elapsed < 5.0
    assert health
    assert max(health) < 2.0


def test_a_pattern_re2_cannot_run_is_refused_naming_filter_and_construct(api: ApiServer) -> None:
    refused = api.session.post(
        api.url("/v1/endpoints"),
        json={"url": "http://127.0.0.1:9/hook", "filter": 'ticket.asset_name matches "(a)\\\\1"'},
    )
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["field"] == "filter"
    assert error["message"].startswith("filter: column 27: ")
    assert "uses a backreference ('\\\\1' at character 4)" in error["message"]

    lookaround = api.session.post(
        api.url("/v1/endpoints"),
        json={"url": "http://127.0.0.1:9/hook", "filter": 'ticket.owner matches "x(?=@corp)"'},
    )
    assert lookaround.status_code == 422, lookaround.text
    assert "lookahead or lookbehind" in lookaround.text

    endpoint = api.session.post(api.url("/v1/endpoints"), json={"url": "http://127.0.0.1:9/hook"})
    patched = api.session.patch(
        api.url(f"/v1/endpoints/{endpoint.json()['id']}"),
        json={"filter": 'ticket.owner matches "(?<!x)y"'},
    )
    assert patched.status_code == 422, patched.text
    assert "lookahead or lookbehind" in patched.text
