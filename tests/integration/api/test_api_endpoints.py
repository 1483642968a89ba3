"""Endpoints over HTTP: create, list with cursors, read, change, secrets, enable/disable, test
send, replay, delete."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from apikit import ApiServer

SECRET = "whsec_" + "A" * 32


def create(api: ApiServer, **fields: Any) -> dict[str, Any]:
    body = {"url": "http://127.0.0.1:9/hook", **fields}
    response = api.session.post(api.url("/v1/endpoints"), json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_create_returns_the_secret_and_every_field(api: ApiServer) -> None:
    ep = create(
        api,
        event_types=["ticket.*"],
        description="tracker",
        headers={"X-Team": "sec"},
        legacy_headers=True,
        format="raw",
        filter='ticket.severity in ["High", "Critical"]',
        auth={"type": "bearer", "token": "s3cret"},
        timeout=5,
        max_in_flight=3,
        rate_limit=2.5,
        ordered=True,
    )
    assert ep["id"].startswith("ep_")
    assert ep["secret"].startswith("whsec_")
    assert ep["event_types"] == ["ticket.*"]
    assert ep["headers"] == {"X-Team": "sec"}
    assert ep["legacy_headers"] is True
    assert ep["ordered"] is True
    assert ep["enabled"] is True
    assert ep["timeout"] == 5
    assert ep["max_in_flight"] == 3
    assert ep["rate_limit"] == 2.5
    assert ep["auth"] == {"type": "bearer", "token": "********"}
    assert ep["created_at"].endswith("Z")
    # The given secret is kept; listings and reads never show it, nor the auth token.
    given = create(api, secret=SECRET)
    assert given["secret"] == SECRET
    listing = api.session.get(api.url("/v1/endpoints")).text
    read = api.session.get(api.url(f"/v1/endpoints/{ep['id']}")).text
    for text in (listing, read):
        assert SECRET not in text
        assert ep["secret"] not in text
        assert "s3cret" not in text
        assert '"secret"' not in text


def test_list_pages_with_a_cursor(api: ApiServer) -> None:
    ids = [create(api)["id"] for _ in range(5)]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = api.session.get(api.url("/v1/endpoints"), params=params).json()
        seen += [e["id"] for e in page["data"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids)
    assert pages == 3


def test_patch_changes_only_what_is_given_and_keeps_masked_auth(api: ApiServer) -> None:
    ep = create(api, description="before", auth={"type": "basic", "username": "u", "password": "p"})
    url = api.url(f"/v1/endpoints/{ep['id']}")
    response = api.session.patch(url, json={"description": "after", "auth": ep["auth"]})
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["description"] == "after"
    assert changed["url"] == ep["url"]
    assert changed["auth"] == {"type": "basic", "username": "u", "password": "********"}
    stored = api.run(api.hub.store.get_endpoint(ep["id"]))
    assert stored.auth == {"type": "basic", "username": "u", "password": "p"}
    # A bad filter is refused when saved, naming the field.
    bad = api.session.patch(url, json={"filter": "ticket.severity >"})
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "filter"


def test_rotate_secret_keeps_the_old_one_signing(api: ApiServer) -> None:
    ep = create(api, secret=SECRET)
    rotated = api.session.post(api.url(f"/v1/endpoints/{ep['id']}/rotate-secret"))
    assert rotated.status_code == 200
    new = rotated.json()["secret"]
    assert set(rotated.json()) == {"secret"}
    assert new.startswith("whsec_")
    assert new != SECRET
    secrets = api.session.get(api.url(f"/v1/endpoints/{ep['id']}/secret")).json()
    assert secrets["secret"] == new
    (previous,) = secrets["previous"]
    assert previous["secret"] == SECRET
    assert previous["expires_at"].endswith("Z")
    chosen = "whsec_" + "B" * 32
    response = api.session.post(
        api.url(f"/v1/endpoints/{ep['id']}/rotate-secret"), json={"secret": chosen}
    )
    assert response.json() == {"secret": chosen}


def test_disable_and_enable(api: ApiServer) -> None:
    ep = create(api)
    off = api.session.post(api.url(f"/v1/endpoints/{ep['id']}/disable")).json()
    assert off["enabled"] is False
    assert off["disabled_reason"]
    on = api.session.post(api.url(f"/v1/endpoints/{ep['id']}/enable")).json()
    assert on["enabled"] is True
    assert on["disabled_reason"] is None
    patched = api.session.patch(api.url(f"/v1/endpoints/{ep['id']}"), json={"enabled": False})
    assert patched.json()["enabled"] is False


def test_delete_then_404(api: ApiServer) -> None:
    ep = create(api)
    url = api.url(f"/v1/endpoints/{ep['id']}")
    assert api.session.delete(url).status_code == 204
    response = api.session.get(url)
    assert response.status_code == 404
    assert ep["id"] in response.json()["error"]["message"]
    assert api.session.delete(url).status_code == 404


def test_test_send_reports_the_receivers_answer(api: ApiServer) -> None:
    received: list[web.Request] = []

    async def handler(request: web.Request) -> web.Response:
        received.append(request)
        await request.read()
        return web.Response(status=418, text="short and stout")

    async def start() -> web.AppRunner:
        app = web.Application()
        app.router.add_post("/hook", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return runner

    runner = api.run(start())
    try:
        port = runner.addresses[0][1]
        ep = create(api, url=f"http://127.0.0.1:{port}/hook")
        response = api.session.post(
            api.url(f"/v1/endpoints/{ep['id']}/test"), json={"event_type": "ticket.opened"}
        )
        assert response.status_code == 200, response.text
        result = response.json()
        assert result["succeeded"] is False
        assert result["status_code"] == 418
        assert result["response_body"] == "short and stout"
        assert received[0].headers["scanhook-event-type"] == "ticket.opened"
        assert "webhook-signature" in received[0].headers
    finally:
        api.run(runner.cleanup())


def test_replay_counts_what_it_requeued(api: ApiServer) -> None:
    ep = create(api)
    response = api.session.post(
        api.url(f"/v1/endpoints/{ep['id']}/replay"),
        json={"since": "2020-01-01T00:00:00Z", "status": "failed"},
    )
    assert response.status_code == 200
    assert response.json() == {"requeued": 0, "circuit_delay": None}
    missing = api.session.post(api.url("/v1/endpoints/ep_nope/replay"), json={})
    assert missing.status_code == 404
