"""The SSRF guard: which destinations a delivery may connect to.

Two places check, and together they cover every way aiohttp picks an address:

* :meth:`NetworkPolicy.check_url` runs before a request. It refuses odd schemes and ambiguous IP
  spellings (``2130706433``, ``0177.0.0.1``, ``0x7f.0.0.1``, ``127.1``) and checks IP-literal hosts
  itself, because aiohttp connects to an IP literal without asking the resolver.
* :class:`GuardedResolver` is the connector's resolver. It drops every refused address from the
  answer and raises :class:`DestinationBlocked` when none is left. aiohttp connects to exactly the
  addresses the resolver returned (and caches only those), so the address that was checked is
  the address that is connected to: a DNS answer that changes between check and connect
  (rebinding) cannot slip through.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

from scanhook.errors import ScanhookError

__all__ = [
    "DestinationBlocked",
    "GuardedResolver",
    "IPAddress",
    "IPNetwork",
    "NetworkPolicy",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_net4 = ipaddress.IPv4Network
_net6 = ipaddress.IPv6Network

_THIS_NETWORK = _net4("0.0.0.0/8")
_BROADCAST = ipaddress.IPv4Address("255.255.255.255")
_RESERVED4 = _net4("240.0.0.0/4")
_CGNAT = _net4("100.64.0.0/10")
_METADATA = ipaddress.IPv4Address("169.254.169.254")
_PRIVATE4 = (_net4("10.0.0.0/8"), _net4("172.16.0.0/12"), _net4("192.168.0.0/16"))
_ULA = _net6("fc00::/7")
_NAT64 = _net6("64:ff9b::/96")
_SITE_LOCAL = _net6("fec0::/10")

# Hosts made only of digits, dots and hex: what inet_aton would read as an IPv4 address.
_NUMERIC_HOST = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+))*\.?$", re.I)


class DestinationBlocked(ScanhookError):
    """The destination address is refused by the network policy."""

    def __init__(
        self, message: str | None = None, *, address: str | None = None, allowable: bool = False
    ) -> None:
        #: The refused address (or host), when there is one.
        self.address = address
        #: True when allowing private networks (or the address's network) would let it through.
        self.allowable = allowable
        super().__init__(message)


def _always_refused(addr: IPAddress) -> str | None:
    """The class of an address that no setting allows, or None."""
    if addr.is_unspecified:
        return "the unspecified address"
    if addr.is_multicast:
        return "a multicast address"
    if isinstance(addr, ipaddress.IPv4Address):
        if addr == _BROADCAST:
            return "the broadcast address"
        if addr in _THIS_NETWORK:
            return "a 'this network' address (0.0.0.0/8)"
        if addr in _RESERVED4:
            return "a reserved address (240.0.0.0/4)"
        return None
    if addr.ipv4_mapped is not None:
        return "an IPv4-mapped IPv6 address (::ffff:0:0/96)"
    # 64:ff9b::/96 (NAT64) lies inside the reserved ::/8; its embedded IPv4 address is checked.
    if addr.is_reserved and not addr.is_loopback and addr not in _NAT64:
        return "a reserved address"
    return None


def _refused_unless_allowed(addr: IPAddress) -> str | None:
    """The class of an address that only an operator's allowance lets through, or None."""
    if addr.is_loopback:
        return "a loopback address"
    if isinstance(addr, ipaddress.IPv4Address):
        if addr == _METADATA:
            return "the cloud metadata address (link-local)"
        if addr.is_link_local:
            return "a link-local address"
        if addr in _CGNAT:
            return "a shared (CGNAT, 100.64.0.0/10) address"
        if any(addr in net for net in _PRIVATE4):
            return "a private address"
    else:
        if addr.is_link_local:
            return "a link-local address"
        if addr in _ULA:
            return "a private (unique local, fc00::/7) address"
        if addr in _SITE_LOCAL:
            return "a site-local address"
    if not addr.is_global:
        return "a non-global (special-purpose) address"
    return None


def _embedded_ipv4(addr: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses that NAT64, 6to4 and Teredo forms of ``addr`` would reach."""
    found: list[ipaddress.IPv4Address] = []
    if addr in _NAT64:
        found.append(ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF))
    if addr.sixtofour is not None:
        found.append(addr.sixtofour)
    if addr.teredo is not None:
        found.extend(addr.teredo)
    return found


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    """Which destination addresses deliveries may connect to.

    By default only global (public) unicast addresses. ``allow_private`` also allows loopback,
    private, link-local, CGNAT and other non-global unicast ranges; ``allowed_networks`` allows
    exactly the given networks (e.g. ``127.0.0.2/32``) and nothing else. Unspecified, multicast,
    broadcast, ``0.0.0.0/8``, reserved and IPv4-mapped IPv6 addresses are refused always.
    """

    allow_private: bool = False
    allowed_networks: Sequence[IPNetwork] = ()

    def check_ip(self, ip: str | IPAddress) -> None:
        """Raise :class:`DestinationBlocked` naming the address class unless ``ip`` is allowed."""
        addr = _parse_ip(ip) if isinstance(ip, str) else ip
        refusal = self._refusal(addr)
        if refusal is None and isinstance(addr, ipaddress.IPv6Address):
            for inner in _embedded_ipv4(addr):
                inner_refusal = self._refusal(inner)
                if inner_refusal is not None:
                    reason, allowable = inner_refusal
                    raise DestinationBlocked(
                        f"{addr} embeds the IPv4 address {inner}, which is {reason}",
                        address=str(addr),
                        allowable=allowable,
                    )
        if refusal is not None:
            reason, allowable = refusal
            raise DestinationBlocked(f"{addr} is {reason}", address=str(addr), allowable=allowable)

    def _refusal(self, addr: IPAddress) -> tuple[str, bool] | None:
        """(the address class, whether an allowance could let it through), or None if allowed."""
        reason = _always_refused(addr)
        if reason is not None:
            return reason, False
        if self.allow_private:
            return None
        reason = _refused_unless_allowed(addr)
        if reason is None:
            return None
        for net in self.allowed_networks:
            if addr.version == net.version and addr in net:
                return None
        return reason, True

    def check_url(self, url: str | URL) -> URL:
        """Check a destination URL before any connection; return it parsed.

        Refuses schemes other than http/https, a missing host, ambiguous numeric host spellings,
        and IP-literal hosts that :meth:`check_ip` refuses.
        """
        try:
            parsed = url if isinstance(url, URL) else URL(url)
        except (ValueError, TypeError) as exc:
            raise DestinationBlocked(f"url: not a valid URL ({exc})") from None
        if parsed.scheme not in ("http", "https"):
            raise DestinationBlocked(
                f"url: scheme must be http or https, not {parsed.scheme or 'missing'!r}"
            )
        host = parsed.host
        if not host:
            raise DestinationBlocked("url: the host is missing")
        try:
            addr = _parse_ip(host)
        except DestinationBlocked:
            if _NUMERIC_HOST.match(host):
                raise DestinationBlocked(
                    f"url: {host!r} is an ambiguous IP address spelling; "
                    "write IPv4 addresses as four decimal numbers (e.g. 192.0.2.10)",
                    address=host,
                ) from None
            return parsed  # a name: GuardedResolver checks what it resolves to
        self.check_ip(addr)
        return parsed


def _parse_ip(text: str) -> IPAddress:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        raise DestinationBlocked(f"{text!r} is not an IP address", address=text) from None


class GuardedResolver(AbstractResolver):
    """An aiohttp resolver that answers only addresses the policy allows.

    ``inner`` does the resolving (default: aiohttp's :class:`~aiohttp.resolver.ThreadedResolver`,
    created on first use); this resolver owns it and closes it. Refused addresses are dropped;
    when none is left :class:`DestinationBlocked` is raised, which aiohttp passes through to the
    caller unwrapped (it wraps only ``OSError``).
    """

    def __init__(self, policy: NetworkPolicy, inner: AbstractResolver | None = None) -> None:
        self.policy = policy
        self._inner = inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if self._inner is None:
            self._inner = ThreadedResolver()
        answers = await self._inner.resolve(host, port, family)
        allowed: list[ResolveResult] = []
        first_refusal: DestinationBlocked | None = None
        for answer in answers:
            try:
                self.policy.check_ip(answer["host"])
            except DestinationBlocked as exc:
                first_refusal = first_refusal or exc
                continue
            allowed.append(answer)
        if allowed:
            return allowed
        if first_refusal is None:
            # Not a policy matter: aiohttp reports an OSError as a failure to resolve.
            raise OSError(f"{host} resolves to no address")
        raise DestinationBlocked(
            f"{host} resolves only to refused addresses: {first_refusal.message}",
            address=first_refusal.address,
            allowable=first_refusal.allowable,
        )

    async def close(self) -> None:
        if self._inner is not None:
            await self._inner.close()
