"""A destination the network policy refuses is refused when the endpoint is saved (POST and
PATCH), with a 422 naming the policy and the setting that allows it; nothing is stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apikit import ApiServer

#: Hosts that are loopback addresses (or the localhost name) in some spelling.
LOOPBACK_SPELLINGS = [
    "127.0.0.1",
    "127.0.0.2",
    "2130706433",  # decimal
    "0x7f000001",  # hex
    "0x7f.1",
    "0177.0.0.1",  # octal
    "127.1",  # short
    "127.0.0.1.",  # trailing dot
    "[::1]",
    "[0:0:0:0:0:0:0:1]",
    "[::1%25lo]",  # zone id
    "localhost",
    "LOCALHOST.",
    "api.localhost",
    "api.localhost.",
]
#: Addresses that no setting allows.
NEVER = ["[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "0.0.0.0", "0", "224.0.0.1", "240.0.0.1"]
#: Other refused classes (checked as literals only: nothing connects to them).
PRIVATE = ["10.0.0.1", "192.168.1.1", "169.254.169.254", "[fd00::1]", "[fe80::1%25eth0]"]


@pytest.fixture
def strict(tmp_path: Path) -> Iterator[ApiServer]:
    """The API with the default policy: private networks not allowed."""
    server = ApiServer(tmp_path / "strict.db", allow_private_networks=False).start()
    try:
        yield server
    finally:
        server.close()


def refusal(response: Any) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == "invalid_request"
    return error


def assert_names_the_policy_and_the_setting(message: str) -> None:
    assert "network policy" in message
    assert "SCANHOOK_ALLOW_PRIVATE_NETWORKS=true" in message


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS + PRIVATE)
def test_a_refused_address_in_any_spelling_is_422_on_create_and_patch(
    strict: ApiServer, host: str
) -> None:
    url = f"http://{host}:9000/hook"
    error = refusal(strict.session.post(strict.url("/v1/endpoints"), json={"url": url}))
    assert error["field"] == "url"
    assert_names_the_policy_and_the_setting(error["message"])

    created = strict.session.post(
        strict.url("/v1/endpoints"), json={"url": "https://hooks.example.com/x"}
    )
    assert created.status_code == 201, created.text
    endpoint_id = created.json()["id"]
    patched = strict.session.patch(strict.url(f"/v1/endpoints/{endpoint_id}"), json={"url": url})
    error = refusal(patched)
    assert error["field"] == "url"
    assert_names_the_policy_and_the_setting(error["message"])
    listed = strict.session.get(strict.url("/v1/endpoints")).json()["data"]
    assert [e["url"] for e in listed] == ["https://hooks.example.com/x"]


@pytest.mark.parametrize("host", NEVER)
def test_an_address_no_setting_allows_is_422_even_with_the_allowance(
    api: ApiServer, strict: ApiServer, host: str
) -> None:
    for server in (strict, api):  # api: SCANHOOK_ALLOW_PRIVATE_NETWORKS=true
        response = server.session.post(
            server.url("/v1/endpoints"), json={"url": f"http://{host}:9000/hook"}
        )
        error = refusal(response)
        assert error["field"] == "url"
        assert "SCANHOOK_ALLOW_PRIVATE_NETWORKS" not in error["message"]


def test_the_oauth2_token_url_is_held_to_the_same_policy(strict: ApiServer) -> None:
    auth = {
        "type": "oauth2",
        "token_url": "http://127.1:9000/token",
        "client_id": "c",
        "client_secret": "s",
    }
    response = strict.session.post(
        strict.url("/v1/endpoints"), json={"url": "https://hooks.example.com/x", "auth": auth}
    )
    error = refusal(response)
    assert error["field"] == "auth.token_url"
    assert_names_the_policy_and_the_setting(error["message"])


def test_loopback_is_accepted_when_allowed(api: ApiServer, tmp_path: Path) -> None:
    for host in ("127.0.0.1", "[::1]", "localhost"):
        response = api.session.post(
            api.url("/v1/endpoints"), json={"url": f"http://{host}:9000/hook"}
        )
        assert response.status_code == 201, response.text
    # One allowed network lets exactly that network through.
    one = ApiServer(
        tmp_path / "one.db", allow_private_networks=False, allowed_networks="127.0.0.2/32"
    ).start()
    try:
        ok = one.session.post(one.url("/v1/endpoints"), json={"url": "http://127.0.0.2:9/h"})
        assert ok.status_code == 201, ok.text
        other = one.session.post(one.url("/v1/endpoints"), json={"url": "http://127.0.0.1:9/h"})
        assert_names_the_policy_and_the_setting(refusal(other)["message"])
        # localhost names 127.0.0.1 and ::1, neither of which is allowed here.
        named = one.session.post(one.url("/v1/endpoints"), json={"url": "http://localhost:9/h"})
        refusal(named)
    finally:
        one.close()
