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
