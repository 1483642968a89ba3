"""An endpoint's fields are checked whole when saved (create, PATCH, rotate), and a refusal
names the field without repeating a value that may be a credential."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from apikit import ApiServer

URL = "http://127.0.0.1:9/hook"
GOOD_SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()


def error_of(response: Any, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


def create(api: ApiServer, **fields: Any) -> Any:
    return api.session.post(api.url("/v1/endpoints"), json={"url": URL, **fields})


@pytest.mark.parametrize("name", ["Host\n", "X-Team\n", "X-Team\r\n"])
def test_a_header_name_with_a_trailing_line_break_is_refused_on_create_and_patch(
    api: ApiServer, name: str
) -> None:
    assert error_of(create(api, headers={name: "x"}))["field"] == "headers"
    endpoint_id = create(api).json()["id"]
    patched = api.session.patch(
        api.url(f"/v1/endpoints/{endpoint_id}"), json={"headers": {name: "x"}}
    )
    assert error_of(patched)["field"] == "headers"
    stored = api.run(api.hub.store.get_endpoint(endpoint_id))
    assert stored.headers == {}


BAD_SECRETS = {
    "a trailing line break": GOOD_SECRET + "\n",
    "12 bytes": "whsec_" + base64.b64encode(b"s" * 12).decode(),
    "65 bytes": "whsec_" + base64.b64encode(b"s" * 65).decode(),
    "not base64": "whsec_" + "A" * 31 + "!",
    "huge": "whsec_" + "A" * 100_000,
}


@pytest.mark.parametrize("secret", BAD_SECRETS.values(), ids=BAD_SECRETS.keys())
def test_a_secret_that_cannot_sign_is_refused_on_create_and_rotate_without_echo(
    api: ApiServer, secret: str
) -> None:
    error = error_of(create(api, secret=secret))
    assert error["field"] == "secret"
    assert secret.strip() not in error["message"]
    assert secret[6:30] not in error["message"]
    endpoint_id = create(api, secret=GOOD_SECRET).json()["id"]
    rotated = api.session.post(
        api.url(f"/v1/endpoints/{endpoint_id}/rotate-secret"), json={"secret": secret}
    )
    error = error_of(rotated)
    assert error["field"] == "secret"
    assert secret[6:30] not in error["message"]
    stored = api.run(api.hub.store.get_endpoint(endpoint_id))
    assert [s.value for s in stored.secrets] == [GOOD_SECRET]


def test_a_secret_of_24_and_64_bytes_is_accepted(api: ApiServer) -> None:
    for size in (24, 64):
        secret = "whsec_" + base64.b64encode(b"z" * size).decode()
        assert create(api, secret=secret).status_code == 201


def test_patch_enforces_the_url_length_cap(api: ApiServer) -> None:
    endpoint_id = create(api).json()["id"]
    long_url = "http://127.0.0.1:9/" + "a" * 500_000
    error = error_of(
        api.session.patch(api.url(f"/v1/endpoints/{endpoint_id}"), json={"url": long_url})
    )
    assert error["field"] == "url"
    assert "2048" in error["message"]
    assert error_of(create(api, url=long_url))["field"] == "url"
    assert api.run(api.hub.store.get_endpoint(endpoint_id)).url == URL


@pytest.mark.parametrize(
    "fields",
    [
        {"secret": 12345678901234567890},
        {"secret": "short-hunter2-secret"},
        {"headers": {"X-Api-Key": 12345678901234567890}},
        {"headers": {"X-Api-Key": "hunter2\nInjected: 1"}},
        {"auth": {"type": "bearer", "token": 12345678901234567890}},
        {"auth": {"type": "basic", "username": "u", "password": "hunter2\n"}},
        {"auth": {"type": "header", "name": "X-Key", "value": ["12345678901234567890"]}},
    ],
)
def test_a_422_never_repeats_a_secret_field(api: ApiServer, fields: dict[str, Any]) -> None:
    response = create(api, **fields)
    text = response.text
    assert response.status_code == 422, text
    for secret in ("12345678901234567890", "hunter2"):
        assert secret not in text
    endpoint_id = create(api).json()["id"]
    patched = api.session.patch(api.url(f"/v1/endpoints/{endpoint_id}"), json=fields)
    if "secret" not in fields:  # a PATCH cannot set the secret: that is rotate-secret
        assert patched.status_code == 422, patched.text
        for secret in ("12345678901234567890", "hunter2"):
            assert secret not in patched.text


def test_null_for_a_field_that_has_no_none_is_422_not_503(api: ApiServer) -> None:
    endpoint_id = create(api).json()["id"]
    for field in ("url", "event_types", "max_in_flight", "format"):
        response = api.session.patch(api.url(f"/v1/endpoints/{endpoint_id}"), json={field: None})
        assert error_of(response)["field"] == field
    # Fields that can be none still take null.
    cleared = api.session.patch(api.url(f"/v1/endpoints/{endpoint_id}"), json={"timeout": None})
    assert cleared.status_code == 200, cleared.text
