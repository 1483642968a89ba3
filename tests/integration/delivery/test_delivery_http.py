"""The HTTP client against real receivers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
import standardwebhooks
from aiohttp import web
from delivery_support import Received, StaticResolver, free_port, serve

from scanhook.delivery import (
    USER_AGENT,
    HttpClient,
    NetworkPolicy,
    build_headers,
    generate_secret,
)

LOOPBACK_OK = NetworkPolicy(allow_private=True)
BODY = b'{"ticket": {"number": 42, "status": "Open"}}'


def _headers(
    secret: str, *, legacy: bool = False, extra: dict[str, str] | None = None
) -> dict[str, str]:
    return build_headers(
        msg_id="dlv_test",
        timestamp=int(time.time()),
        body=BODY,
        event_type="ticket.opened",
        attempt=1,
        secrets=[secret],
        legacy_headers=legacy,
        extra=extra or {},
        user_agent=USER_AGENT,
    )


@pytest.fixture
async def client() -> AsyncIterator[HttpClient]:
    async with HttpClient(LOOPBACK_OK, user_agent=USER_AGENT) as http:
        yield http


def _recording_app(received: Received, response: web.Response | None = None) -> web.Application:
    async def hook(request: web.Request) -> web.StreamResponse:
        received.requests.append(request)
        received.bodies.append(await request.read())
        peer = request.transport.get_extra_info("peername") if request.transport else None
        received.peers.append(peer)
        if response is not None:
            return response
        return web.Response(status=200, text="thanks")

    app = web.Application()
    app.router.add_post("/hook", hook)
    return app


async def test_2xx_is_success_and_the_body_arrives_signed(client: HttpClient) -> None:
    received = Received()
    secret = generate_secret()
    async with serve(_recording_app(received)) as port:
        result = await client.send(
            f"http://127.0.0.1:{port}/hook", _headers(secret), BODY, timeout=5
        )
    assert result.succeeded
    assert (result.status_code, result.error_kind, result.error) == (200, None, None)
    assert result.body == b"thanks"
    assert result.duration_ms > 0
    assert received.bodies == [BODY]
    request = received.requests[0]
    assert request.method == "POST"
    standardwebhooks.Webhook(secret).verify(
        received.bodies[0], dict(request.headers), json_parse=False
    )


@pytest.mark.parametrize("status", [201, 202, 204, 299])
async def test_every_2xx_succeeds(client: HttpClient, status: int) -> None:
    async with serve(_recording_app(Received(), web.Response(status=status))) as port:
        result = await client.send(
            f"http://127.0.0.1:{port}/hook", _headers(generate_secret()), BODY, timeout=5
        )
    assert result.succeeded
    assert result.status_code == status


async def test_headers_are_exactly_the_contracts(client: HttpClient) -> None:
    received = Received()
    extra = {"X-Team": "blue", "content-type": "text/plain", "User-Agent": "curl", "Host": "x"}
    async with serve(_recording_app(received)) as port:
        result = await client.send(
            f"http://127.0.0.1:{port}/hook",
            _headers(generate_secret(), legacy=True, extra=extra),
            BODY,
            timeout=5,
        )
    assert result.succeeded
    request = received.requests[0]
    names = [name.decode().lower() for name, _ in request.raw_headers]
    assert len(names) == len(set(names)), f"a header was sent twice: {names}"
    assert set(names) == {
        "host",
        "accept-encoding",  # added by aiohttp; the response body is decoded for the log
        "content-type",
        "accept",
        "content-length",
        "user-agent",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "scanhook-event-type",
        "scanhook-attempt",
        "content_type",
        "content_length",
        "x-team",
    }
    headers = request.headers
    assert headers["Content-Type"] == "application/json"
    assert headers["Accept"] == "*/*"
    assert headers["Content-Length"] == str(len(BODY))
    assert headers["User-Agent"] == USER_AGENT
    assert headers["Host"] == f"127.0.0.1:{port}"
    assert headers["scanhook-event-type"] == "ticket.opened"
    assert headers["scanhook-attempt"] == "1"
    assert headers["webhook-id"] == "dlv_test"
    assert headers["Content_Type"] == "application/json"
    assert headers["Content_Length"] == str(len(BODY))
    assert headers["X-Team"] == "blue"


async def test_aiohttp_adds_no_user_agent_of_its_own() -> None:
    received = Received()
    async with (
        HttpClient(LOOPBACK_OK, user_agent="scanhook/9.9") as http,
        serve(_recording_app(received)) as port,
    ):
        # Even headers without a User-Agent go out with ours, never aiohttp's.
        result = await http.send(f"http://127.0.0.1:{port}/hook", {}, BODY, timeout=5)
    assert result.succeeded
    assert received.requests[0].headers.getall("User-Agent") == ["scanhook/9.9"]


async def test_500_is_an_http_failure_with_the_body(client: HttpClient) -> None:
    response = web.Response(status=500, text="database on fire")
    async with serve(_recording_app(Received(), response)) as port:
        result = await client.send(
            f"http://127.0.0.1:{port}/hook", _headers(generate_secret()), BODY, timeout=5
        )
    assert not result.succeeded
    assert (result.status_code, result.error_kind, result.error) == (500, "http", "HTTP 500")
    assert result.body == b"database on fire"
    assert result.retry_after is None


async def test_429_with_retry_after_seconds(client: HttpClient) -> None:
    response = web.Response(status=429, headers={"Retry-After": "7"})
    async with serve(_recording_app(Received(), response)) as port:
        result = await client.send(
            f"http://127.0.0.1:{port}/hook", _headers(generate_secret()), BODY, timeout=5
        )
    assert (result.status_code, result.error_kind, result.error) == (429, "http", "HTTP 429")
    assert result.retry_after == 7


async def test_503_with_retry_after_http_date(client: HttpClient) -> None:
    when = format_datetime(datetime.fromtimestamp(time.time() + 120, tz=UTC), usegmt=True)
    response = web.Response(status=503, headers={"Retry-After": when})
    async with serve(_recording_app(Received(), response)) as port:
        result = await client.send(
            f"http://127.0.0.1:{port}/hook", _headers(generate_secret()), BODY, timeout=5
        )
    assert result.status_code == 503
    assert result.retry_after is not None
    assert 110 <= result.retry_after <= 121


async def test_retry_after_is_ignored_on_other_statuses_and_when_garbage(
    client: HttpClient,
) -> None:
    # "²" passes str.isdigit() but not int(); 5,000 digits pass neither int() nor a bound.
    for status, value in ((500, "7"), (503, "whenever"), (503, "²"), (429, "9" * 5000)):
        response = web.Response(status=status, headers={"Retry-After": value})
        async with serve(_recording_app(Received(), response)) as port:
            result = await client.send(
                f"http://127.0.0.1:{port}/hook", _headers(generate_secret()), BODY, timeout=5
            )
        assert result.status_code == status
        assert result.retry_after is None


async def test_redirect_is_not_followed(client: HttpClient) -> None:
    followed = Received()

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound("/elsewhere")

    async def elsewhere(request: web.Request) -> web.Response:
        followed.requests.append(request)
        return web.Response(text="followed")

    app = web.Application()
    app.router.add_post("/hook", moved)
    app.router.add_route("*", "/elsewhere", elsewhere)
    async with serve(app) as port:
        result = await client.send(
            f"http://127.0.0.1:{port}/hook", _headers(generate_secret()), BODY, timeout=5
        )
    assert not result.succeeded
    assert result.status_code == 302
    assert result.error_kind == "http"
    assert result.error == "HTTP 302: redirect not followed (Location: /elsewhere)"
    assert followed.requests == []


async def test_connection_refused_is_connect(client: HttpClient) -> None:
    port = free_port()
    result = await client.send(
        f"http://127.0.0.1:{port}/hook", _headers(generate_secret()), BODY, timeout=5
    )
    assert not result.succeeded
    assert result.status_code is None
    assert result.error_kind == "connect"
    assert result.error == f"could not connect to 127.0.0.1:{port}: connection refused"


async def test_unresolvable_name_is_connect() -> None:
    async with HttpClient(LOOPBACK_OK, user_agent=USER_AGENT, resolver=StaticResolver({})) as http:
        result = await http.send("http://nowhere.test/hook", {}, BODY, timeout=5)
    assert result.error_kind == "connect"
    assert result.error is not None
    assert result.error.startswith("could not resolve nowhere.test")


async def _drip_server(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head_at_once: bool
) -> None:
    await reader.readuntil(b"\r\n\r\n")
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
    try:
        if head_at_once:
            writer.write(head)
            head = b""
        for byte in head + b"x" * 100:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(1)
    except ConnectionError:
        pass
    finally:
        writer.close()


@pytest.mark.parametrize("head_at_once", [False, True], ids=["drip-status-line", "drip-body"])
async def test_a_dripping_receiver_is_cut_off_at_the_deadline(
    client: HttpClient, head_at_once: bool
) -> None:
    connections: list[asyncio.Task[None]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        connections.append(task)
        await _drip_server(reader, writer, head_at_once)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        started = time.monotonic()
        result = await client.send(
            f"http://127.0.0.1:{port}/hook", _headers(generate_secret()), BODY, timeout=1.5
        )
        elapsed = time.monotonic() - started
    finally:
        for task in connections:
            task.cancel()
        server.close()
        await server.wait_closed()
    assert result.error_kind == "timeout"
    assert result.error == "timed out after 1.5 s"
    assert 1.4 <= elapsed <= 5.0  # cut off near the deadline, not after 100 s of dripping
    if head_at_once:
        assert result.status_code == 200  # the status came, the body did not
        assert len(result.body) <= 3
    else:
        assert result.status_code is None


async def test_a_huge_body_is_capped_and_the_connection_dropped(client: HttpClient) -> None:
    sent = 0
    disconnected = asyncio.Event()

    async def endless(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        await request.read()
        response = web.StreamResponse()
        await response.prepare(request)
        chunk = b"y" * 65536
        try:
            while sent < 1 << 30:
                await response.write(chunk)
                sent += len(chunk)
        except (ConnectionError, RuntimeError):
            disconnected.set()
        return response

    app = web.Application()
    app.router.add_post("/hook", endless)
    async with serve(app) as port:
        started = time.monotonic()
        result = await client.send(
            f"http://127.0.0.1:{port}/hook", _headers(generate_secret()), BODY, timeout=20
        )
        elapsed = time.monotonic() - started
        await asyncio.wait_for(disconnected.wait(), timeout=10)
    assert result.succeeded
    assert result.body == b"y" * 4096
    assert elapsed < 20  # it did not wait for the deadline
    assert sent < 1 << 30  # nor drain the body


async def test_the_cap_is_configurable_and_a_short_body_is_whole() -> None:
    response = web.Response(status=500, body=b"z" * 100)
    async with (
        HttpClient(LOOPBACK_OK, user_agent=USER_AGENT, max_response_bytes=10) as http,
        serve(_recording_app(Received(), response)) as port,
    ):
        result = await http.send(f"http://127.0.0.1:{port}/hook", {}, BODY, timeout=5)
    assert result.body == b"z" * 10


async def test_connections_are_kept_alive_and_reused(client: HttpClient) -> None:
    received = Received()
    async with serve(_recording_app(received)) as port:
        for _ in range(5):
            result = await client.send(
                f"http://127.0.0.1:{port}/hook", _headers(generate_secret()), BODY, timeout=5
            )
            assert result.succeeded
    assert len(received.peers) == 5
    assert len(set(received.peers)) == 1


async def test_many_concurrent_sends_are_not_capped(client: HttpClient) -> None:
    gate = asyncio.Event()
    waiting = 0

    async def slow(request: web.Request) -> web.Response:
        nonlocal waiting
        waiting += 1
        if waiting >= 150:
            gate.set()
        await asyncio.wait_for(gate.wait(), timeout=10)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", slow)
    async with serve(app) as port:
        results = await asyncio.gather(
            *(
                client.send(f"http://127.0.0.1:{port}/hook", {}, BODY, timeout=15)
                for _ in range(150)
            )
        )
    # All 150 were in the receiver at once: no connection limit of 100 (aiohttp's default).
    assert all(r.succeeded for r in results)


async def test_send_before_opening_is_a_programming_error() -> None:
    http = HttpClient(LOOPBACK_OK, user_agent=USER_AGENT)
    with pytest.raises(RuntimeError, match="not open"):
        await http.send("http://127.0.0.1:1/", {}, b"", timeout=1)
