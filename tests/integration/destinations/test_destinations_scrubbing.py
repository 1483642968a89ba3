"""Credentials echoed back by a receiver never reach the stored response excerpt, in whatever
form the receiver writes them: JSON-escaped (a quote, ``\\/``, ``\\u`` escapes), URL-encoded,
HTML-escaped, as the base64 of basic credentials, or cut off by the 4 KiB excerpt."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from urllib.parse import quote, quote_plus

from aiohttp import web
from destkit import deliver
from engine_support import Hit, Receiver, deliveries, hub_on, receiving, ticket

from scanhook.delivery.auth import MASK

TOKEN = 'tok"quote/sl&sh=+ <b>-1'
PASSWORD = 'pa"ss/wö rd'


def echoes(value: str) -> list[str]:
    """Every way the careless receiver below writes ``value`` back."""
    return [
        json.dumps({"got": value}),
        json.dumps({"got": value}, ensure_ascii=False),
        json.dumps({"got": value}).replace("/", "\\/"),
        quote(value, safe=""),
        quote(value, safe="").lower(),
        quote_plus(value),
        html.escape(value),
    ]


async def careless(hit: Hit, request: web.Request) -> web.StreamResponse:
    """Refuses, writing the credentials it got back in every encoding it can think of."""
    authorization = request.headers["Authorization"]
    scheme, _, credential = authorization.partition(" ")
    if scheme == "Basic":
        credential = base64.b64decode(credential).decode("utf-8").split(":", 1)[1]
    lines = [authorization, *echoes(credential)]
    return web.Response(status=500, text="\n".join(lines))


async def test_escaped_echoes_of_credentials_are_masked_in_stored_excerpts(tmp_path: Path) -> None:
    receiver = Receiver(handler=careless)
    async with receiving(receiver), hub_on(tmp_path, retry_schedule="0.1s") as hub:
        bearer = await hub.add_endpoint(receiver.url, auth={"type": "bearer", "token": TOKEN})
        basic = await hub.add_endpoint(
            receiver.url, auth={"type": "basic", "username": "hook", "password": PASSWORD}
        )
        await hub.publish(ticket(1))
        await deliver(hub, bearer.id, 1)
        await deliver(hub, basic.id, 1)
        records = await deliveries(hub, bearer.id) + await deliveries(hub, basic.id)

    bodies = [a.response_body or "" for d in records for a in d.attempt_log]
    assert len(bodies) == 4
    for body in bodies:
        assert MASK in body
        for secret in (TOKEN, PASSWORD):
            for echoed in echoes(secret):
                inner = echoed.removeprefix('{"got": "').removesuffix('"}')
                assert inner not in body, (inner, body)
        assert base64.b64encode(f"hook:{PASSWORD}".encode()).decode() not in body


async def test_a_credential_cut_off_by_the_excerpt_limit_is_masked(tmp_path: Path) -> None:
    token = "cut-" + "k" * 200  # its first 100 characters end the 4 KiB the client reads

    async def padded(hit: Hit, request: web.Request) -> web.StreamResponse:
        return web.Response(status=500, text="x" * (4096 - 100) + token)

    receiver = Receiver(handler=padded)
    async with receiving(receiver), hub_on(tmp_path, retry_schedule="0.1s") as hub:
        endpoint = await hub.add_endpoint(receiver.url, auth={"type": "bearer", "token": token})
        await hub.publish(ticket(1))
        await deliver(hub, endpoint.id, 1)
        (record,) = await deliveries(hub, endpoint.id)

    body = record.attempt_log[0].response_body or ""
    assert body.endswith("x" + MASK)
    assert "cut-kkkk" not in body


async def test_secret_header_values_echoed_back_are_masked(tmp_path: Path) -> None:
    value = 'k3y/"secret"-value'

    async def echo(hit: Hit, request: web.Request) -> web.StreamResponse:
        got = request.headers["X-Api-Key"]
        return web.Response(status=500, text=json.dumps({"got": got}) + " " + quote(got))

    receiver = Receiver(handler=echo)
    async with receiving(receiver), hub_on(tmp_path, retry_schedule="0.1s") as hub:
        endpoint = await hub.add_endpoint(  # raw, no auth: only the header is a credential
            receiver.url,
            headers={"X-Api-Key": value, "X-Team": "sec"},
            secret_headers=["X-Api-Key"],
        )
        await hub.publish(ticket(1))
        await deliver(hub, endpoint.id, 1)
        (record,) = await deliveries(hub, endpoint.id)

    assert receiver.hits[0].headers["x-api-key"] == value  # it was sent
    bodies = [a.response_body or "" for a in record.attempt_log]
    assert bodies == [f'{{"got": "{MASK}"}} {MASK}'] * 2
