"""Masked credentials sent back in a PATCH keep the stored ones only while the credentials would
go where they went before: the url, the auth type and the OAuth2 token_url unchanged. Otherwise
the PATCH is 422 and the stored secret reaches no new host, not even through /test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from apikit import ApiServer

MASK = "********"
SECRET = "client-secret-0123456789"


@dataclass
class Host:
    """A loopback server that records every request and answers like a receiver and an
    OAuth2 token endpoint."""

    address: str
    port: int = 0
    seen: list[dict[str, Any]] = field(default_factory=list)
    runner: web.AppRunner | None = None

    def url(self, path: str) -> str:
        return f"http://{self.address}:{self.port}{path}"

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        self.seen.append({"path": request.path, "headers": dict(request.headers), "body": body})
        if request.path == "/token":
            return web.json_response({"access_token": "tok-" + self.address, "expires_in": 600})
        return web.Response(status=204)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, self.address, 0).start()
        self.port = self.runner.addresses[0][1]

    def text(self) -> str:
        return repr(self.seen)


@pytest.fixture
def hosts(api: ApiServer) -> Iterator[tuple[Host, Host]]:
    """The endpoint's own host (127.0.0.1) and another one (127.0.0.2)."""
    own, other = Host("127.0.0.1"), Host("127.0.0.2")
    api.run(own.start())
    api.run(other.start())
    try:
        yield own, other
    finally:
        for host in (own, other):
            assert host.runner is not None
            api.run(host.runner.cleanup())


def create(api: ApiServer, **fields: Any) -> dict[str, Any]:
    response = api.session.post(api.url("/v1/endpoints"), json=fields)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def patch(api: ApiServer, endpoint_id: str, **fields: Any) -> Any:
    return api.session.patch(api.url(f"/v1/endpoints/{endpoint_id}"), json=fields)


def send_test(api: ApiServer, endpoint_id: str) -> dict[str, Any]:
    response = api.session.post(api.url(f"/v1/endpoints/{endpoint_id}/test"))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_oauth2_token_url_moved_with_the_mask_is_422_and_the_new_host_gets_nothing(
    api: ApiServer, hosts: tuple[Host, Host]
) -> None:
    own, other = hosts
    ep = create(
        api,
        url=own.url("/hook"),
        auth={
            "type": "oauth2",
            "token_url": own.url("/token"),
            "client_id": "scanhook",
            "client_secret": SECRET,
        },
    )
    shown = api.session.get(api.url(f"/v1/endpoints/{ep['id']}")).json()["auth"]
    assert shown["client_secret"] == MASK
    moved = patch(api, ep["id"], auth={**shown, "token_url": other.url("/token")})
    assert moved.status_code == 422, moved.text
    error = moved.json()["error"]
    assert error["field"] == "auth.client_secret"
    assert "token_url" in error["message"]
    assert "again" in error["message"]
    # The type changed with the mask left in: the same.
    retyped = patch(api, ep["id"], auth={"type": "bearer", "token": MASK})
    assert retyped.status_code == 422, retyped.text

    assert send_test(api, ep["id"])["succeeded"] is True
    assert other.seen == []
    assert SECRET in own.text()  # the token request went where it always went

    # Given again, the secret may go to the new token URL.
    given = patch(
        api, ep["id"], auth={**shown, "token_url": other.url("/token"), "client_secret": "new-1"}
    )
    assert given.status_code == 200, given.text
    assert send_test(api, ep["id"])["succeeded"] is True
    assert SECRET not in other.text()
    assert "new-1" in other.text()


CREDENTIALS = {
    "basic": ({"type": "basic", "username": "u", "password": SECRET}, "password"),
    "bearer": ({"type": "bearer", "token": SECRET}, "token"),
    "header": ({"type": "header", "name": "X-Api-Key", "value": SECRET}, "value"),
}


@pytest.mark.parametrize(("auth", "key"), CREDENTIALS.values(), ids=CREDENTIALS.keys())
def test_url_moved_with_the_mask_or_without_auth_is_422_and_the_new_host_gets_nothing(
    api: ApiServer, hosts: tuple[Host, Host], auth: dict[str, str], key: str
) -> None:
    own, other = hosts
    ep = create(api, url=own.url("/hook"), auth=auth)
    shown = ep["auth"]
    assert shown[key] == MASK
    with_mask = patch(api, ep["id"], url=other.url("/hook"), auth=shown)
    assert with_mask.status_code == 422, with_mask.text
    assert with_mask.json()["error"]["field"] == f"auth.{key}"
    without_auth = patch(api, ep["id"], url=other.url("/hook"))
    assert without_auth.status_code == 422, without_auth.text
    assert without_auth.json()["error"]["field"] == "auth"

    assert send_test(api, ep["id"])["succeeded"] is True
    assert other.seen == []
    stored = api.run(api.hub.store.get_endpoint(ep["id"]))
    assert stored.url == own.url("/hook")

    # The mask with the url unchanged keeps the stored secret (an endpoint read back and saved).
    kept = patch(api, ep["id"], description="read back", auth=shown, url=own.url("/hook"))
    assert kept.status_code == 200, kept.text
    assert api.run(api.hub.store.get_endpoint(ep["id"])).auth == auth
    # With the credentials given again, the move is allowed.
    moved = patch(api, ep["id"], url=other.url("/hook"), auth={**auth, key: "fresh-credential"})
    assert moved.status_code == 200, moved.text
    assert send_test(api, ep["id"])["succeeded"] is True
    assert SECRET not in other.text()
    assert other.seen
