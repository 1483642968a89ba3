"""Every /v1 route needs a valid bearer token; /healthz, /metrics, /openapi.json, /docs do not."""

from __future__ import annotations

from pathlib import Path

import pytest
from apikit import ApiServer
from routes import V1_ROUTES

from scanhook.hub import Hub


def test_the_route_list_covers_every_v1_route_of_the_app(api: ApiServer) -> None:
    spec = api.anonymous.get(api.url("/openapi.json")).json()
    documented = {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        if path.startswith("/v1")
        for method in item
    }
    listed = set()
    for method, path, _ in V1_ROUTES:
        template = path
        for raw, name in (
            ("ep_01JD0000000000000000000000", "{endpoint_id}"),
            ("evt_01JD0000000000000000000000", "{event_id}"),
            ("dlv_01JD0000000000000000000000", "{delivery_id}"),
            ("sch_01JD0000000000000000000000", "{schedule_id}"),
        ):
            template = template.replace(raw, name)
        listed.add((method, template))
    assert documented == listed


@pytest.mark.parametrize(("method", "path", "body"), V1_ROUTES)
def test_every_v1_route_is_401_without_a_token_or_with_a_wrong_one(
    api: ApiServer, method: str, path: str, body: object
) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic dTpw"}):
        response = api.anonymous.request(method, api.url(path), json=body, headers=headers)
        assert response.status_code == 401, (headers, response.text)
        error = response.json()["error"]
        assert error["code"] == "unauthorized"
        assert "token" in error["message"]
        assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("path", ["/healthz", "/metrics", "/openapi.json", "/docs"])
def test_open_routes_need_no_token(api: ApiServer, path: str) -> None:
    assert api.anonymous.get(api.url(path)).status_code == 200


def test_stored_tokens_work_until_revoked_and_record_their_use(api: ApiServer) -> None:
    token_id, token = api.run(api.hub.create_token("ci"))
    assert token.startswith("shk_")
    headers = {"Authorization": f"Bearer {token}"}
    assert api.anonymous.get(api.url("/v1/stats"), headers=headers).status_code == 200
    (stored,) = [t for t in api.run(api.hub.list_tokens()) if t.id == token_id]
    assert stored.last_used_at is not None
    assert token not in repr(stored)  # only the hash is kept
    api.run(api.hub.revoke_token(token_id))
    response = api.anonymous.get(api.url("/v1/stats"), headers=headers)
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]
    # A token that differs in its last character is refused too.
    near = {"Authorization": f"Bearer {token[:-1]}{'A' if token[-1] != 'A' else 'B'}"}
    assert api.anonymous.get(api.url("/v1/stats"), headers=near).status_code == 401


def test_ensure_initial_token_creates_one_only_when_there_is_none(api: ApiServer) -> None:
    # The server runs with SCANHOOK_API_TOKEN set: nothing is created.
    assert api.run(api.hub.ensure_initial_token()) is None
    assert api.run(api.hub.list_tokens()) == []


async def test_serve_gets_an_initial_token_once_when_none_is_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SCANHOOK_API_TOKEN", raising=False)
    async with Hub.open(f"sqlite:///{tmp_path / 'a.db'}") as hub:
        token = await hub.ensure_initial_token()
        assert token is not None
        assert await hub.authenticate(token)
        assert await hub.ensure_initial_token() is None
        (stored,) = await hub.list_tokens()
        assert stored.name == "initial"
        await hub.revoke_token(stored.id)
        assert not await hub.authenticate(token)
        # With every token revoked, the next start makes a new one.
        assert await hub.ensure_initial_token() not in (None, token)
