"""Endpoint secrets over HTTP: rotation keeps at most two previous secrets and can expire them
at once; ``secret_headers`` values are masked, kept when the mask is sent back, and required
again when the URL changes."""

from __future__ import annotations

from typing import Any

from apikit import ApiServer

MASK = "********"


def create(api: ApiServer, **fields: Any) -> dict[str, Any]:
    body = {"url": "http://127.0.0.1:9/hook", **fields}
    response = api.session.post(api.url("/v1/endpoints"), json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_rotation_keeps_two_previous_secrets_and_expire_previous_ends_them(
    api: ApiServer,
) -> None:
    ep = create(api)
    rotate = api.url(f"/v1/endpoints/{ep['id']}/rotate-secret")
    issued = [ep["secret"]]
    for _ in range(5):
        issued.append(api.session.post(rotate).json()["secret"])
    secrets = api.session.get(api.url(f"/v1/endpoints/{ep['id']}/secret")).json()
    assert secrets["secret"] == issued[-1]
    assert [p["secret"] for p in secrets["previous"]] == [issued[-2], issued[-3]]

    response = api.session.post(rotate, json={"expire_previous": True})
    assert response.status_code == 200, response.text
    secrets = api.session.get(api.url(f"/v1/endpoints/{ep['id']}/secret")).json()
    assert secrets == {"secret": response.json()["secret"], "previous": []}

    bad = api.session.post(rotate, json={"expire_previous": "yes please"})
    assert bad.status_code == 422


def test_secret_header_values_are_masked_and_kept_when_the_mask_comes_back(
    api: ApiServer,
) -> None:
    ep = create(
        api,
        headers={"X-Api-Key": "k3y-value-123", "X-Team": "sec"},
        secret_headers=["x-api-key"],
    )
    assert ep["headers"] == {"X-Api-Key": MASK, "X-Team": "sec"}
    assert ep["secret_headers"] == ["x-api-key"]
    url = api.url(f"/v1/endpoints/{ep['id']}")
    shown = api.session.get(url).json()
    assert shown["headers"] == {"X-Api-Key": MASK, "X-Team": "sec"}
    assert "k3y-value-123" not in api.session.get(api.url("/v1/endpoints")).text

    # The endpoint as read, sent back with a change: the masked value stays what it was.
    back = {"headers": {**shown["headers"], "X-Team": "ops"}, "description": "changed"}
    patched = api.session.patch(url, json=back)
    assert patched.status_code == 200, patched.text
    assert patched.json()["headers"] == {"X-Api-Key": MASK, "X-Team": "ops"}
    stored = api.run(api.hub.store.get_endpoint(ep["id"]))
    assert stored.headers == {"X-Api-Key": "k3y-value-123", "X-Team": "ops"}

    # A new URL with the mask left in: the value must be given again, never sent elsewhere.
    moved = api.session.patch(url, json={"url": "http://127.0.0.1:10/other", **back})
    assert moved.status_code == 422
    assert moved.json()["error"]["field"] == "headers.X-Api-Key"
    assert "k3y-value-123" not in moved.text
    assert api.run(api.hub.store.get_endpoint(ep["id"])).url == "http://127.0.0.1:9/hook"
    again = {"url": "http://127.0.0.1:10/other", "headers": {"X-Api-Key": "new-k3y"}}
    assert api.session.patch(url, json=again).status_code == 200
    assert api.run(api.hub.store.get_endpoint(ep["id"])).headers == {"X-Api-Key": "new-k3y"}
    # The header stays secret while it is there.
    assert api.session.get(url).json()["secret_headers"] == ["x-api-key"]


def test_secret_headers_must_name_headers(api: ApiServer) -> None:
    response = api.session.post(
        api.url("/v1/endpoints"),
        json={
            "url": "http://127.0.0.1:9/hook",
            "headers": {"X-Api-Key": "k3y-value-123"},
            "secret_headers": ["X-Api-Kye"],
        },
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "secret_headers"
    assert "'X-Api-Kye' is not one of the endpoint's headers" in response.text
    assert "k3y-value-123" not in response.text


def test_a_new_url_alone_needs_the_secret_header_values_again(api: ApiServer) -> None:
    ep = create(api, headers={"X-Api-Key": "k3y-value-123"}, secret_headers=["X-Api-Key"])
    url = api.url(f"/v1/endpoints/{ep['id']}")
    moved = api.session.patch(url, json={"url": "http://127.0.0.1:10/elsewhere"})
    assert moved.status_code == 422
    assert moved.json()["error"]["field"] == "headers"
    assert "X-Api-Key" in moved.text
    assert "k3y-value-123" not in moved.text
    same = api.session.patch(url, json={"url": "http://127.0.0.1:9/hook", "description": "d"})
    assert same.status_code == 200, same.text  # the URL it already has: nothing moves
    dropped = api.session.patch(url, json={"url": "http://127.0.0.1:10/elsewhere", "headers": {}})
    assert dropped.status_code == 200, dropped.text
    assert dropped.json()["secret_headers"] == []
