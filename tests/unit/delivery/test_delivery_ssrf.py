"""The network policy: every refused address class, odd spellings, and the guarded resolver.

Nothing here opens a connection: addresses are checked at the policy and resolver level.
"""

from __future__ import annotations

import ipaddress

import pytest

from scanhook.delivery.resolver import GuardedResolver
from scanhook.delivery.ssrf import (
    REFUSAL_REASONS,
    DestinationBlocked,
    NetworkPolicy,
)
from scanhook.errors import ScanhookError
from table_resolver import StaticResolver

DEFAULT = NetworkPolicy()
PRIVATE_OK = NetworkPolicy(allow_private=True)

# (address, words the refusal must contain)
ALLOWABLE = [
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("::1", "loopback"),
    ("10.0.0.1", "private"),
    ("10.255.255.255", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.254", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "cloud metadata"),
    ("169.254.1.1", "link-local"),
    ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"),
    ("100.64.0.1", "CGNAT"),
    ("100.127.255.254", "CGNAT"),
    ("fc00::1", "unique local"),
    ("fd12:3456::1", "unique local"),
    ("fec0::1", "site-local"),
    ("192.0.2.1", "non-global"),
    ("198.18.0.1", "non-global"),
    ("2001:db8::1", "non-global"),
    ("64:ff9b::a00:1", "embeds the IPv4 address 10.0.0.1, which is a private address"),
    ("2002:a9fe:a9fe::", "embeds the IPv4 address 169.254.169.254"),
]
ALWAYS = [
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("0.1.2.3", "0.0.0.0/8"),
    ("255.255.255.255", "broadcast"),
    ("240.0.0.1", "reserved"),
    ("250.1.2.3", "reserved"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("ff02::1", "multicast"),
    ("ff05::2", "multicast"),
    ("::ffff:127.0.0.1", "IPv4-mapped"),
    ("::ffff:8.8.8.8", "IPv4-mapped"),
    ("::7f00:1", "reserved"),
    ("64:ff9b::e000:1", "embeds the IPv4 address 224.0.0.1, which is a multicast"),
    ("2002:e000:1::", "multicast"),
    ("2002:0:1::", "0.0.0.0/8"),
]
GLOBAL = ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "64:ff9b::808:808", "2002:808:808::"]


@pytest.mark.parametrize(("address", "words"), ALLOWABLE)
def test_refused_unless_allowed(address: str, words: str) -> None:
    with pytest.raises(DestinationBlocked, match=words) as caught:
        DEFAULT.check_ip(address)
    assert caught.value.allowable
    assert isinstance(caught.value, ScanhookError)
    PRIVATE_OK.check_ip(address)


@pytest.mark.parametrize(("address", "words"), ALWAYS)
def test_refused_always(address: str, words: str) -> None:
    everything = NetworkPolicy(
        allow_private=True,
        allowed_networks=[ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")],
    )
    for policy in (DEFAULT, PRIVATE_OK, everything):
        with pytest.raises(DestinationBlocked, match=words) as caught:
            policy.check_ip(address)
        assert not caught.value.allowable


@pytest.mark.parametrize("address", GLOBAL)
def test_global_addresses_pass(address: str) -> None:
    DEFAULT.check_ip(address)
    DEFAULT.check_ip(ipaddress.ip_address(address))


def test_allowed_networks_allow_exactly_those() -> None:
    policy = NetworkPolicy(allowed_networks=[ipaddress.ip_network("127.0.0.2/32")])
    policy.check_ip("127.0.0.2")
    for other in ("127.0.0.1", "127.0.0.3", "10.0.0.1", "::1"):
        with pytest.raises(DestinationBlocked):
            policy.check_ip(other)
    v6 = NetworkPolicy(allowed_networks=[ipaddress.ip_network("fd00:1::/64")])
    v6.check_ip("fd00:1::5")
    with pytest.raises(DestinationBlocked, match="unique local"):
        v6.check_ip("fd00:2::5")


@pytest.mark.parametrize(
    "url",
    [
        "http://2130706433/",  # decimal
        "http://0177.0.0.1/",  # octal
        "http://0x7f.0.0.1/",  # hex
        "http://0x7f000001/",
        "http://127.1/",  # short
        "http://10.1/",
        "http://1.2.3/",
        "http://0/",
        "http://127.0.0.1./",
        "https://017700000001:8443/hook",
        "http://8.8.8.010/",  # leading zero: octal to inet_aton
    ],
)
def test_ambiguous_ip_spellings_are_refused(url: str) -> None:
    for policy in (DEFAULT, PRIVATE_OK):
        with pytest.raises(DestinationBlocked, match="ambiguous IP address spelling"):
            policy.check_url(url)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://127.0.0.1:8080/hook", "loopback"),
        ("http://[::1]:8080/hook", "loopback"),
        ("http://10.0.0.1/", "private"),
        ("http://172.16.5.4/", "private"),
        ("http://192.168.0.1/", "private"),
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://100.64.1.1/", "CGNAT"),
        ("http://[fd00::1]/", "unique local"),
        ("http://[fe80::1%25eth0]/", "link-local"),
        ("http://[::ffff:127.0.0.1]/", "IPv4-mapped"),
        ("http://[::ffff:7f00:1]/", "IPv4-mapped"),
        ("http://224.0.0.1/", "multicast"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://[::]/", "unspecified"),
        ("http://255.255.255.255/", "broadcast"),
        ("http://240.0.0.1/", "reserved"),
    ],
)
def test_ip_literal_hosts_are_checked_in_check_url(url: str, words: str) -> None:
    with pytest.raises(DestinationBlocked, match=words):
        DEFAULT.check_url(url)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://example.com/", "scheme must be http or https"),
        ("file:///etc/passwd", "scheme"),
        ("gopher://example.com/", "scheme"),
        ("example.com/hook", "scheme"),
        ("http:///hook", "host is missing"),
    ],
)
def test_bad_urls_are_refused(url: str, words: str) -> None:
    with pytest.raises(DestinationBlocked, match=words):
        PRIVATE_OK.check_url(url)


def test_names_and_public_literals_pass_check_url() -> None:
    assert DEFAULT.check_url("https://hooks.example.com/x?y=1").host == "hooks.example.com"
    DEFAULT.check_url("http://8.8.8.8/")
    DEFAULT.check_url("https://[2606:4700::1111]:8443/")
    PRIVATE_OK.check_url("http://127.0.0.1:9/")
    # A name made of a number and a letter is a name, not an IP spelling.
    DEFAULT.check_url("http://1e100.net/")


async def test_guarded_resolver_drops_refused_answers() -> None:
    inner = StaticResolver(
        {
            "mixed.test": ["10.0.0.5", "8.8.8.8", "169.254.169.254", "2606:4700::1111"],
            "inside.test": ["192.168.1.10", "10.0.0.1"],
            "meta.test": ["169.254.169.254"],
        }
    )
    resolver = GuardedResolver(DEFAULT, inner)
    answers = await resolver.resolve("mixed.test", 443)
    assert [a["host"] for a in answers] == ["8.8.8.8", "2606:4700::1111"]
    with pytest.raises(DestinationBlocked, match=r"inside\.test .*192\.168\.1\.10 is a private"):
        await resolver.resolve("inside.test", 443)
    with pytest.raises(DestinationBlocked, match="cloud metadata"):
        await resolver.resolve("meta.test", 80)
    with pytest.raises(OSError, match="no such host"):
        await resolver.resolve("unknown.test", 80)


async def test_guarded_resolver_checks_every_answer_not_just_the_first() -> None:
    inner = StaticResolver({"flip.test": ["8.8.8.8"]})
    resolver = GuardedResolver(DEFAULT, inner)
    assert [a["host"] for a in await resolver.resolve("flip.test")] == ["8.8.8.8"]
    inner.table["flip.test"] = ["127.0.0.1"]  # the name now points inside
    with pytest.raises(DestinationBlocked, match="loopback"):
        await resolver.resolve("flip.test")
    assert inner.calls == ["flip.test", "flip.test"]


async def test_guarded_resolver_allows_with_the_policy() -> None:
    inner = StaticResolver({"lo.test": ["127.0.0.1", "127.0.0.2"]})
    policy = NetworkPolicy(allowed_networks=[ipaddress.ip_network("127.0.0.2/32")])
    answers = await GuardedResolver(policy, inner).resolve("lo.test", 80)
    assert [a["host"] for a in answers] == ["127.0.0.2"]


@pytest.mark.parametrize(
    ("url", "spelled", "reason"),
    [
        ("http://2130706433/", "127.0.0.1", "loopback"),
        ("http://0x7f000001/", "127.0.0.1", "loopback"),
        ("http://0x7f.1/", "127.0.0.1", "loopback"),
        ("http://0177.0.0.1/", "127.0.0.1", "loopback"),
        ("http://127.1/", "127.0.0.1", "loopback"),
        ("http://127.0.0.1./", "127.0.0.1", "loopback"),
        ("http://10.1/", "10.0.0.1", "private"),
        ("http://0xa9fea9fe/", "169.254.169.254", "metadata"),
        ("http://0/", "0.0.0.0", "unspecified"),
    ],
)
def test_an_ambiguous_spelling_names_the_address_and_its_class(
    url: str, spelled: str, reason: str
) -> None:
    with pytest.raises(
        DestinationBlocked, match=f"ambiguous IP address spelling of {spelled}"
    ) as e:
        DEFAULT.check_url(url)
    assert e.value.reason == reason
    with pytest.raises(DestinationBlocked, match="ambiguous IP address spelling"):
        PRIVATE_OK.check_url(url)  # allowed or not, it is never connected to


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:9/",
        "http://LOCALHOST./",
        "http://api.localhost/",
        "http://a.b.localhost./",
    ],
)
def test_localhost_names_are_loopback(url: str) -> None:
    with pytest.raises(DestinationBlocked, match="names a loopback address") as caught:
        DEFAULT.check_url(url)
    assert caught.value.allowable
    assert caught.value.reason == "loopback"
    PRIVATE_OK.check_url(url)
    NetworkPolicy(allowed_networks=[ipaddress.ip_network("::1/128")]).check_url(url)
    with pytest.raises(DestinationBlocked):
        NetworkPolicy(allowed_networks=[ipaddress.ip_network("127.0.0.2/32")]).check_url(url)
    DEFAULT.check_url("http://localhost.example.com/")  # a name like any other


def test_a_percent_encoded_host_is_refused() -> None:
    for policy in (DEFAULT, PRIVATE_OK):
        with pytest.raises(DestinationBlocked, match="percent-encoded"):
            policy.check_url("http://127.0.0.1%2e/")


def test_every_refusal_has_a_known_reason() -> None:
    for address, _ in ALLOWABLE + ALWAYS:
        with pytest.raises(DestinationBlocked) as caught:
            DEFAULT.check_ip(address)
        assert caught.value.reason in REFUSAL_REASONS
