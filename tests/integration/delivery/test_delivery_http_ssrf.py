"""The SSRF guard inside the HTTP client.

Only loopback receivers are ever connected to. Non-loopback addresses are refused before any
connection: IP literals by the URL check, names by the guarded resolver (a table, no DNS).
"""

from __future__ import annotations

import ipaddress
import socket

import pytest
from aiohttp import web
from delivery_support import Received, StaticResolver, serve

from scanhook.delivery import USER_AGENT, HttpClient, NetworkPolicy

ONLY_127_0_0_2 = NetworkPolicy(allowed_networks=[ipaddress.ip_network("127.0.0.2/32")])


def _app(received: Received, *, close: bool = False) -> web.Application:
    async def hook(request: web.Request) -> web.Response:
        received.requests.append(request)
        received.bodies.append(await request.read())
        headers = {"Connection": "close"} if close else None
        return web.Response(text="ok", headers=headers)

    app = web.Application()
    app.router.add_post("/hook", hook)
    return app


REFUSED_LITERALS = [
    ("http://127.0.0.1/hook", "loopback"),
    ("http://[::1]/hook", "loopback"),
    ("http://10.0.0.1/hook", "private"),
    ("http://172.16.0.1/hook", "private"),
    ("http://172.31.255.1/hook", "private"),
    ("http://192.168.0.1/hook", "private"),
    ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
    ("http://169.254.10.10/hook", "link-local"),
    ("http://100.64.0.1/hook", "CGNAT"),
    ("http://224.0.0.1/hook", "multicast"),
    ("http://0.0.0.0/hook", "unspecified"),
    ("http://[::]/hook", "unspecified"),
    ("http://240.0.0.1/hook", "reserved"),
    ("http://255.255.255.255/hook", "broadcast"),
    ("http://[::ffff:127.0.0.1]/hook", "IPv4-mapped"),
    ("http://[fd00::1]/hook", "unique local"),
    ("http://[fe80::1]/hook", "link-local"),
    ("http://2130706433/hook", "ambiguous IP address spelling"),
    ("http://0177.0.0.1/hook", "ambiguous IP address spelling"),
    ("http://0x7f.0.0.1/hook", "ambiguous IP address spelling"),
    ("http://127.1/hook", "ambiguous IP address spelling"),
]


@pytest.mark.parametrize(("url", "words"), REFUSED_LITERALS)
async def test_ip_literals_and_odd_spellings_are_refused_before_connecting(
    url: str, words: str
) -> None:
    resolver = StaticResolver({})
    async with HttpClient(NetworkPolicy(), user_agent=USER_AGENT, resolver=resolver) as http:
        result = await http.send(url, {}, b"{}", timeout=5)
    assert result.error_kind == "policy"
    assert result.status_code is None
    assert result.error is not None
    assert result.error.startswith("refused: ")
    assert words in result.error
    assert resolver.calls == []  # refused by the URL check, not even resolved


REFUSED_ANSWERS = [
    ("127.0.0.1", "loopback"),
    ("::1", "loopback"),
    ("10.1.2.3", "private"),
    ("172.20.0.1", "private"),
    ("192.168.50.5", "private"),
    ("169.254.169.254", "cloud metadata"),
    ("100.100.100.100", "CGNAT"),
    ("fd12::5", "unique local"),
    ("fe80::5", "link-local"),
    ("239.1.1.1", "multicast"),
    ("0.0.0.0", "unspecified"),
    ("241.0.0.1", "reserved"),
    ("255.255.255.255", "broadcast"),
    ("::ffff:10.0.0.1", "IPv4-mapped"),
    ("64:ff9b::a9fe:a9fe", "169.254.169.254"),
]


@pytest.mark.parametrize(("address", "words"), REFUSED_ANSWERS)
async def test_names_resolving_to_refused_addresses_are_a_policy_failure(
    address: str, words: str
) -> None:
    resolver = StaticResolver({"inside.test": [address]})
    async with HttpClient(NetworkPolicy(), user_agent=USER_AGENT, resolver=resolver) as http:
        result = await http.send("http://inside.test/hook", {}, b"{}", timeout=5)
    # aiohttp lets the resolver's refusal through: it is "policy", not a connect error.
    assert result.error_kind == "policy", result.error
    assert result.error is not None
    assert result.error.startswith("refused: inside.test resolves only to refused addresses: ")
    assert words in result.error
    assert resolver.calls == ["inside.test"]


async def test_loopback_is_refused_by_default_and_nothing_arrives() -> None:
    received = Received()
    async with (
        serve(_app(received)) as port,
        HttpClient(NetworkPolicy(), user_agent=USER_AGENT) as http,
    ):
        literal = await http.send(f"http://127.0.0.1:{port}/hook", {}, b"{}", timeout=5)
        named = await http.send(f"http://localhost:{port}/hook", {}, b"{}", timeout=5)
    assert literal.error_kind == "policy"
    assert named.error_kind == "policy", named.error
    assert received.requests == []


async def test_allow_private_lets_loopback_through() -> None:
    received = Received()
    async with (
        serve(_app(received)) as port,
        HttpClient(NetworkPolicy(allow_private=True), user_agent=USER_AGENT) as http,
    ):
        result = await http.send(f"http://127.0.0.1:{port}/hook", {}, b"{}", timeout=5)
    assert result.succeeded
    assert len(received.requests) == 1


async def test_an_allowed_loopback_alias_works_while_127_0_0_1_stays_refused() -> None:
    on_2, on_1 = Received(), Received()
    async with (
        serve(_app(on_2), host="127.0.0.2") as port,
        serve(_app(on_1), host="127.0.0.1") as port_1,
        HttpClient(ONLY_127_0_0_2, user_agent=USER_AGENT) as http,
    ):
        allowed = await http.send(f"http://127.0.0.2:{port}/hook", {}, b"{}", timeout=5)
        refused = await http.send(f"http://127.0.0.1:{port_1}/hook", {}, b"{}", timeout=5)
    assert allowed.succeeded, allowed.error
    assert refused.error_kind == "policy"
    assert refused.error == "refused: 127.0.0.1 is a loopback address"
    assert len(on_2.requests) == 1
    assert on_1.requests == []


def _bind_pair() -> int:
    """A port free on both 127.0.0.1 and 127.0.0.2."""
    for _ in range(20):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = int(first.getsockname()[1])
        with socket.socket() as second:
            try:
                second.bind(("127.0.0.2", port))
            except OSError:
                continue
        return port
    raise AssertionError("no port free on both 127.0.0.1 and 127.0.0.2")


async def test_a_name_with_allowed_and_refused_answers_only_reaches_the_allowed_one() -> None:
    on_2, on_1 = Received(), Received()
    port = _bind_pair()
    resolver = StaticResolver({"both.test": ["127.0.0.1", "127.0.0.2"]})
    async with (
        serve(_app(on_2, close=True), host="127.0.0.2", port=port),
        serve(_app(on_1, close=True), host="127.0.0.1", port=port),
        HttpClient(
            ONLY_127_0_0_2, user_agent=USER_AGENT, resolver=resolver, dns_cache_ttl=0
        ) as http,
    ):
        results = [
            await http.send(f"http://both.test:{port}/hook", {}, b"{}", timeout=5) for _ in range(6)
        ]
    assert all(r.succeeded for r in results), [r.error for r in results]
    assert len(on_2.requests) == 6
    assert on_1.requests == []  # the refused answer was never connected to
    assert len(resolver.calls) == 6  # a new connection, a new (checked) answer every time


async def test_a_changed_answer_is_checked_again_no_dns_rebinding() -> None:
    on_2, on_1 = Received(), Received()
    port = _bind_pair()
    resolver = StaticResolver({"flip.test": ["127.0.0.2"]})
    async with (
        serve(_app(on_2, close=True), host="127.0.0.2", port=port),
        serve(_app(on_1, close=True), host="127.0.0.1", port=port),
        HttpClient(
            ONLY_127_0_0_2, user_agent=USER_AGENT, resolver=resolver, dns_cache_ttl=0
        ) as http,
    ):
        first = await http.send(f"http://flip.test:{port}/hook", {}, b"{}", timeout=5)
        resolver.table["flip.test"] = ["127.0.0.1"]  # the attacker's DNS answer changes
        second = await http.send(f"http://flip.test:{port}/hook", {}, b"{}", timeout=5)
        resolver.table["flip.test"] = ["127.0.0.2"]
        third = await http.send(f"http://flip.test:{port}/hook", {}, b"{}", timeout=5)
    assert first.succeeded, first.error
    assert second.error_kind == "policy"
    assert second.error is not None
    assert "127.0.0.1 is a loopback address" in second.error
    assert third.succeeded, third.error
    assert len(on_2.requests) == 2
    assert on_1.requests == []
    assert resolver.calls == ["flip.test"] * 3


async def test_a_refusal_is_not_cached_as_an_answer() -> None:
    received = Received()
    resolver = StaticResolver({"later.test": ["127.0.0.1"]})
    async with (
        serve(_app(received), host="127.0.0.2") as port,
        HttpClient(ONLY_127_0_0_2, user_agent=USER_AGENT, resolver=resolver) as http,
    ):
        refused = await http.send(f"http://later.test:{port}/hook", {}, b"{}", timeout=5)
        resolver.table["later.test"] = ["127.0.0.2"]
        allowed = await http.send(f"http://later.test:{port}/hook", {}, b"{}", timeout=5)
    assert refused.error_kind == "policy"
    assert allowed.succeeded, allowed.error
    assert len(received.requests) == 1
