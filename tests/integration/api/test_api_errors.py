"""Client mistakes are 4xx with a JSON error naming the problem; a broken database is 503."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from apikit import ApiServer


def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error: dict[str, Any] = response.json()["error"]
    assert set(error) >= {"code", "message", "field"}
    assert error["message"]
    return error


@pytest.mark.parametrize(
    "path", ["/v1/endpoints", "/v1/events", "/v1/events/batch", "/v1/endpoints/ep_x/replay"]
)
def test_malformed_json_is_422(api: ApiServer, path: str) -> None:
    response = api.session.post(
        api.url(path), data=b'{"url": ', headers={"Content-Type": "application/json"}
    )
    error = error_of(response, 422)
    assert error["code"] == "malformed_json"
    assert "JSON" in error["message"]


def test_wrong_types_unknown_keys_and_bad_enums_name_the_field(api: ApiServer) -> None:
    wrong_type = api.session.post(
        api.url("/v1/endpoints"), json={"url": "http://127.0.0.1:9/", "max_in_flight": "ten"}
    )
    error = error_of(wrong_type, 422)
    assert error["field"] == "max_in_flight"
    assert "max_in_flight" in error["message"]
    unknown = api.session.post(
        api.url("/v1/endpoints"), json={"url": "http://127.0.0.1:9/", "colour": "red"}
    )
    error = error_of(unknown, 422)
    assert error["field"] == "colour"
    assert "unknown field" in error["message"]
    missing = api.session.post(api.url("/v1/endpoints"), json={})
    assert error_of(missing, 422)["message"] == "url: field required"
    bad_glob = api.session.post(
        api.url("/v1/endpoints"), json={"url": "http://127.0.0.1:9/", "event_types": ["scan.*"]}
    )
    assert "matches no event type" in error_of(bad_glob, 422)["message"]
    bad_format = api.session.post(
        api.url("/v1/endpoints"), json={"url": "http://127.0.0.1:9/", "format": "fax"}
    )
    assert error_of(bad_format, 422)["field"] == "format"
    bad_status = api.session.get(api.url("/v1/deliveries"), params={"status": "lost"})
    error = error_of(bad_status, 422)
    assert error["field"] == "status"
    assert "'lost'" in error["message"]
    bad_type = api.session.get(api.url("/v1/deliveries"), params={"event_type": "ticket"})
    assert error_of(bad_type, 422)["field"] == "event_type"
    bad_time = api.session.get(api.url("/v1/deliveries"), params={"since": "yesterday"})
    assert error_of(bad_time, 422)["field"] == "since"
    backwards = api.session.get(
        api.url("/v1/deliveries"),
        params={"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
    )
    assert error_of(backwards, 422)["field"] == "until"
    bad_limit = api.session.get(api.url("/v1/endpoints"), params={"limit": 0})
    assert error_of(bad_limit, 422)["field"] == "limit"
    bad_replay = api.session.post(api.url("/v1/endpoints/ep_x/replay"), json={"status": "pending"})
    assert error_of(bad_replay, 422)["field"] == "status"


def test_an_invalid_notification_lists_every_bad_field(api: ApiServer) -> None:
    response = api.session.post(
        api.url("/v1/events"),
        json={"ticket": {"number": -1, "status": "Open", "severity": "Severe"}},
    )
    error = error_of(response, 422)
    assert error["code"] == "invalid_notification"
    fields = {p["field"] for p in error["problems"]}
    assert {"ticket.severity", "ticket.owner", "ticket.asset_link"} <= fields
    not_an_object = api.session.post(api.url("/v1/events"), json=[1, 2])
    assert "JSON object" in error_of(not_an_object, 422)["message"]
    too_long_key = api.session.post(
        api.url("/v1/events"), json={"x": 1}, headers={"Idempotency-Key": "k" * 256}
    )
    assert error_of(too_long_key, 422)["field"] == "idempotency-key"


@pytest.mark.parametrize(
    "path",
    [
        "/v1/endpoints/ep_missing",
        "/v1/endpoints/ep_missing/secret",
        "/v1/events/evt_missing",
        "/v1/deliveries/dlv_missing",
        "/v1/nothing-here",
    ],
)
def test_bad_ids_are_404(api: ApiServer, path: str) -> None:
    assert error_of(api.session.get(api.url(path)), 404)["code"] == "not_found"


def test_wrong_method_is_405_json(api: ApiServer) -> None:
    error = error_of(api.session.put(api.url("/v1/endpoints")), 405)
    assert "PUT" in error["message"]


def test_a_body_over_1_mib_is_413_before_parsing(api: ApiServer) -> None:
    big = b'{"events": [' + b" " * (1024 * 1024) + b"]}"
    response = api.session.post(
        api.url("/v1/events/batch"), data=big, headers={"Content-Type": "application/json"}
    )
    error = error_of(response, 413)
    assert error["code"] == "payload_too_large"
    assert "1 MiB" in error["message"]
    # Also without Content-Length (chunked): requests streams a generator that way.
    chunks = (b" " * 65536 for _ in range(20))
    response = api.session.post(
        api.url("/v1/events"), data=chunks, headers={"Content-Type": "application/json"}
    )
    error_of(response, 413)
    # A declared length over the limit is refused without reading the body.
    with socket.create_connection(("127.0.0.1", api.port)) as sock:
        sock.sendall(
            b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 5000000\r\n\r\n{"
        )
        head = sock.recv(65536)
    assert head.startswith(b"HTTP/1.1 413")


def test_a_broken_database_is_503_with_a_clear_message(api: ApiServer) -> None:
    api.run(api.hub.store.close())
    error = error_of(api.session.get(api.url("/v1/deliveries")), 503)
    assert error["code"] == "database_unavailable"
    assert "database" in error["message"]
    assert "Traceback" not in error["message"]
    health = api.anonymous.get(api.url("/healthz"))
    assert health.status_code == 503
    assert health.json()["database"] == "unavailable"
    assert error_of(api.anonymous.get(api.url("/metrics")), 503)


def test_healthz_reports_the_database(api: ApiServer) -> None:
    response = api.anonymous.get(api.url("/healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_a_body_that_is_not_utf8_is_422_not_400(api: ApiServer) -> None:
    response = api.session.post(
        api.url("/v1/endpoints"), data=b"\xc3\x28{}", headers={"Content-Type": "application/json"}
    )
    assert error_of(response, 422)["code"] == "malformed_json"
