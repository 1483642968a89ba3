"""What a body must be before any route reads it: JSON by its Content-Type (415 otherwise) and
nested at most 64 levels (422 otherwise), checked once for every route, within the size limit."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from apikit import ApiServer
from routes import EP as EP_ID
from routes import V1_ROUTES

SCH_ID = "sch_01JD0000000000000000000000"

#: Every /v1 route that takes a JSON body, with a well-formed one.
BODY_ROUTES = [
    (m, p, b if b is not None else {}) for m, p, b in V1_ROUTES if m in ("POST", "PATCH")
]


def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error: dict[str, Any] = response.json()["error"]
    assert error["message"]
    return error


def nested(depth: int) -> bytes:
    """A JSON value ``depth`` levels deep: arrays inside an object (the object is level 1)."""
    return b'{"x": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


@pytest.mark.parametrize(("method", "path", "body"), BODY_ROUTES)
@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
def test_a_body_that_is_not_declared_json_is_415_on_every_route(
    api: ApiServer, method: str, path: str, body: Any, content_type: str | None
) -> None:
    # requests sends bytes without a Content-Type unless one is given.
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = api.session.request(
        method, api.url(path), data=json.dumps(body).encode(), headers=headers
    )
    if content_type is None:
        assert "Content-Type" not in response.request.headers
    error = error_of(response, 415)
    assert error["code"] == "unsupported_media_type"
    assert "application/json" in error["message"]


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/merge-patch+json",
    ],
)
def test_json_content_types_are_accepted(api: ApiServer, content_type: str) -> None:
    response = api.session.post(
        api.url("/v1/endpoints"),
        data=json.dumps({"url": "http://127.0.0.1:9/hook"}).encode(),
        headers={"Content-Type": content_type},
    )
    assert response.status_code == 201, response.text


def test_an_empty_body_needs_no_content_type(api: ApiServer) -> None:
    created = api.session.post(api.url("/v1/endpoints"), json={"url": "http://127.0.0.1:9/h"})
    endpoint_id = created.json()["id"]
    rotated = api.session.post(api.url(f"/v1/endpoints/{endpoint_id}/rotate-secret"))
    assert rotated.status_code == 200, rotated.text


@pytest.mark.parametrize(("method", "path", "body"), BODY_ROUTES)
def test_json_nested_deeper_than_64_levels_is_422_on_every_route(
    api: ApiServer, method: str, path: str, body: Any
) -> None:
    for depth in (65, 100_000):
        response = api.session.request(
            method, api.url(path), data=nested(depth), headers={"Content-Type": "application/json"}
        )
        error = error_of(response, 422)
        assert error["code"] == "too_deep"
        assert "64" in error["message"]


def test_64_levels_are_read_and_strings_do_not_count(api: ApiServer) -> None:
    # 64 levels reach the route, which answers about the notification, not the depth.
    response = api.session.post(
        api.url("/v1/events"), data=nested(64), headers={"Content-Type": "application/json"}
    )
    assert error_of(response, 422)["code"] == "invalid_notification"
    # Brackets inside strings (also after escaped quotes) are text, not nesting.
    text = json.dumps({"x": '\\"' + "[" * 500 + "{" * 500}).encode()
    response = api.session.post(
        api.url("/v1/events"), data=text, headers={"Content-Type": "application/json"}
    )
    assert error_of(response, 422)["code"] == "invalid_notification"


def test_the_depth_check_is_bounded_in_time_on_a_full_size_body(api: ApiServer) -> None:
    """A 1 MiB body of brackets (the largest accepted) is refused quickly, and the server goes
    on answering; a generous bound, only to catch a quadratic or recursive check."""
    body = b"[" * (512 * 1024) + b"]" * (512 * 1024)
    started = time.monotonic()
    response = api.session.post(
        api.url("/v1/events"), data=body, headers={"Content-Type": "application/json"}
    )
    assert error_of(response, 422)["code"] == "too_deep"
    assert time.monotonic() - started < 5
    assert api.anonymous.get(api.url("/healthz")).status_code == 200


def test_an_unclosed_100000_level_body_and_utf16_json_are_4xx(api: ApiServer) -> None:
    unclosed = api.session.post(
        api.url("/v1/events"), data=b"[" * 100_000, headers={"Content-Type": "application/json"}
    )
    assert error_of(unclosed, 422)["code"] == "malformed_json"
    # json.loads would guess UTF-16 and read it; JSON text is UTF-8 (RFC 8259).
    utf16 = json.dumps({"url": "http://127.0.0.1:9/h"}).encode("utf-16")
    response = api.session.post(
        api.url("/v1/endpoints"), data=utf16, headers={"Content-Type": "application/json"}
    )
    assert error_of(response, 422)["code"] == "malformed_json"


def test_the_openapi_document_lists_415_for_every_body_route(api: ApiServer) -> None:
    document = api.anonymous.get(api.url("/openapi.json")).json()
    checked = 0
    for method, path, _ in BODY_ROUTES:
        template = path.replace(EP_ID, "{endpoint_id}").replace(SCH_ID, "{schedule_id}")
        operation = document["paths"].get(template, {}).get(method.lower())
        if operation is None or "requestBody" not in operation:
            continue  # a route without a body (enable, retry…): the gate still applies
        assert "415" in operation["responses"], (method, template)
        checked += 1
    assert checked >= 7
