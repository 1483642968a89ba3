"""Endpoint authentication through the real engine: basic, bearer and header credentials arrive;
an OAuth2 token is fetched once, cached across deliveries and fetched again after a 401 within
the same attempt; credentials never show in API output or attempt records; bad ``auth`` is
refused when the endpoint is saved, naming the field and never repeating the value."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from destkit import TOKEN, api_get, deliver, serving
from engine_support import Receiver, all_final, deliveries, hub_on, receiving, ticket, wait_for
from targets import Target

from scanhook.errors import InvalidRequest


async def test_basic_bearer_and_header_credentials_arrive(tmp_path: Path) -> None:
    receiver = Receiver()
    auths: list[dict[str, Any]] = [
        {"type": "basic", "username": "hook", "password": "pa:ss wörd"},
        {"type": "bearer", "token": "bearer-token-1"},
        {"type": "header", "name": "X-Api-Key", "value": "key-123"},
    ]
    async with receiving(receiver), hub_on(tmp_path) as hub:
        endpoints = [await hub.add_endpoint(receiver.url, auth=auth) for auth in auths]
        await hub.publish(ticket(1))
        async with hub.run_workers():
            for endpoint in endpoints:
                await wait_for(lambda e=endpoint: all_final(hub, e.id, 1), what="delivered")

    by_id = {hit.webhook_id: hit for hit in receiver.hits}
    assert len(by_id) == 3
    sent = {}
    for hit in by_id.values():
        sent[hit.headers.get("authorization") or hit.headers.get("x-api-key")] = hit
    assert set(sent) == {
        "Basic " + base64.b64encode("hook:pa:ss wörd".encode()).decode(),
        "Bearer bearer-token-1",
        "key-123",
    }
    # The raw body, as contract §2 has it, whatever the auth.
    assert all(json.loads(hit.body)["ticket"]["number"] == 1 for hit in by_id.values())


async def test_oauth2_token_is_fetched_once_cached_and_fetched_again_after_a_401(
    tmp_path: Path,
) -> None:
    oauth = Target("oauth")
    # The target accepts only the newest token the server handed out.
    api = Target(
        "servicenow",
        expect_auth=lambda header: bool(oauth.tokens) and header == f"Bearer {oauth.tokens[-1]}",
    )
    async with serving(oauth, api), hub_on(tmp_path) as hub:
        endpoint = await hub.add_endpoint(
            api.url,
            format="servicenow",
            auth={
                "type": "oauth2",
                "token_url": f"{oauth.url}/oauth/token",
                "client_id": "scanhook",
                "client_secret": "s3cret-client",
                "scope": "events:write",
            },
        )
        for number in range(3):
            await hub.publish(ticket(number))
        async with hub.run_workers():
            await wait_for(lambda: all_final(hub, endpoint.id, 3), what="first three")
            assert len(oauth.seen) == 1  # one token for three deliveries
            oauth.tokens.append("rotated-out-of-band")  # the cached token is no longer valid
            await hub.publish(ticket(9))
            await wait_for(lambda: all_final(hub, endpoint.id, 4), what="the fourth")
        found = await deliveries(hub, endpoint.id)

    assert len(oauth.seen) == 2
    form = oauth.seen[0].body.decode()
    assert "grant_type=client_credentials" in form
    assert "scope=events%3Awrite" in form
    assert [d.status for d in found] == ["succeeded"] * 4
    assert [d.attempts for d in found] == [1, 1, 1, 1]  # the 401 was retried within the attempt
    statuses = [s.headers.get("authorization") == f"Bearer {oauth.tokens[-1]}" for s in api.seen]
    assert statuses == [False, False, False, False, True]  # 3 with the first token, a 401, then new


async def test_a_failing_token_request_fails_the_attempt_readably_without_the_secret(
    tmp_path: Path,
) -> None:
    oauth = Target("oauth")
    api = Target("splunk")
    async with serving(oauth, api), hub_on(tmp_path, retry_schedule="0.1s") as hub:
        endpoint = await hub.add_endpoint(
            api.url,
            format="splunk",
            auth={
                "type": "oauth2",
                "token_url": f"{oauth.url}/oauth/token",
                "client_id": "scanhook",
                "client_secret": "wrong-client-secret",
            },
        )
        await hub.publish(ticket(1))
        await deliver(hub, endpoint.id, 1)
        (delivery,) = await deliveries(hub, endpoint.id)

    assert api.seen == []
    assert (delivery.status, delivery.attempts) == ("failed", 2)  # retried: creds may be fixed
    attempt = delivery.attempt_log[0]
    assert attempt.error_kind == "auth"
    assert attempt.error == (
        f"OAuth2 token request to {oauth.url}/oauth/token failed: HTTP 401: invalid_client "
        "(Client authentication failed)"
    )


async def test_credentials_never_show_in_api_output_or_attempt_records(tmp_path: Path) -> None:
    secret = "very-secret-bearer-value"
    # A careless target that echoes the credentials it refuses in its error body.
    careless = Target("jira", expect_auth="Bearer something-else", echo_auth=True)
    async with (
        serving(careless),
        hub_on(tmp_path, api_token=TOKEN, retry_schedule="0.1s") as hub,
    ):
        endpoint = await hub.add_endpoint(
            careless.url,
            format="jira",
            format_options={"project_key": "SEC"},
            auth={"type": "bearer", "token": secret},
        )
        oauth_endpoint = await hub.add_endpoint(
            careless.url,
            format="raw",
            enabled=False,
            auth={
                "type": "oauth2",
                "token_url": "https://login.example.com/oauth/token",
                "client_id": "scanhook",
                "client_secret": "client-secret-value",
            },
        )
        accepted = await hub.publish(ticket(3))
        await deliver(hub, endpoint.id, 1)
        event = await api_get(hub, f"/v1/events/{accepted.event_id}")
        listed = await api_get(hub, "/v1/endpoints")
        one = await api_get(hub, f"/v1/endpoints/{oauth_endpoint.id}")
        records = await deliveries(hub, endpoint.id)

    assert careless.seen[0].headers["authorization"] == f"Bearer {secret}"  # it was sent
    text = json.dumps([event, listed, one]) + repr(records)
    assert secret not in text
    assert "client-secret-value" not in text
    bodies = [a.response_body for d in records for a in d.attempt_log]
    assert bodies == ["rejected credentials Bearer ********"] * 2
    auth = {e["id"]: e["auth"] for e in listed["data"]}
    assert auth[endpoint.id] == {"type": "bearer", "token": "********"}
    assert one["auth"] == {
        "type": "oauth2",
        "token_url": "https://login.example.com/oauth/token",
        "client_id": "scanhook",
        "client_secret": "********",
        "client_auth": "body",
    }


@pytest.mark.parametrize(
    ("auth", "field", "message"),
    [
        ({"type": "magic"}, "auth.type", "auth.type: expected one of none, basic"),
        ({"type": "basic", "username": "u"}, "auth.password", "auth.password: required"),
        (
            {"type": "bearer", "token": "abc-secret\ndef"},
            "auth.token",
            "auth.token: must not contain line breaks",
        ),
        (
            {"type": "header", "name": "Content-Type", "value": "x"},
            "auth.name",
            "auth.name: 'Content-Type' is set by scanhook and cannot be replaced",
        ),
        (
            {"type": "oauth2", "token_url": "ftp://x", "client_id": "a", "client_secret": "b"},
            "auth.token_url",
            "auth.token_url: 'ftp://x' is not an absolute http(s) URL",
        ),
        (
            {"type": "bearer", "token": "t", "mtls": {"cert_pem": "nope", "key_pem": "nope"}},
            "auth.mtls",
            "auth.mtls: the certificate and key do not load as PEM, or do not match",
        ),
        ({"type": "bearer", "token": "t", "extra": 1}, "auth.extra", "auth.extra: unknown field"),
    ],
)
async def test_bad_auth_is_refused_when_saved_naming_the_field(
    tmp_path: Path, auth: dict[str, Any], field: str, message: str
) -> None:
    async with hub_on(tmp_path) as hub:
        with pytest.raises(InvalidRequest) as caught:
            await hub.add_endpoint("https://hooks.example.com/x", auth=auth)
        endpoint = await hub.add_endpoint("https://hooks.example.com/x")
        with pytest.raises(InvalidRequest):
            await hub.update_endpoint(endpoint.id, auth=auth)
    assert caught.value.field == field
    assert str(caught.value).startswith(message)
    assert "abc-secret" not in str(caught.value)


async def test_auth_none_is_stored_as_no_auth(tmp_path: Path) -> None:
    async with hub_on(tmp_path) as hub:
        endpoint = await hub.add_endpoint("https://hooks.example.com/x", auth={"type": "none"})
    assert endpoint.auth is None
