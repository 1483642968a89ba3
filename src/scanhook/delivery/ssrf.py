"""The SSRF guard: which destinations a delivery may connect to.

Two places check, and together they cover every way aiohttp picks an address:

* :meth:`NetworkPolicy.check_url` runs before a request, and when an endpoint is saved. It refuses
  odd schemes and ambiguous IP spellings (``2130706433``, ``0177.0.0.1``, ``0x7f.0.0.1``,
  ``127.1``; each also named by the class of the address it spells), checks IP-literal hosts
  itself, because aiohttp connects to an IP literal without asking the resolver, and takes
  ``localhost`` and ``*.localhost`` for the loopback addresses they always name.
* :class:`GuardedResolver` is the connector's resolver. It drops every refused address from the
  answer and raises :class:`DestinationBlocked` when none is left. aiohttp connects to exactly the
  addresses the resolver returned (and caches only those), so the address that was checked is
  the address that is connected to: a DNS answer that changes between check and connect
  (rebinding) cannot slip through.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scanhook.errors import ScanhookError

if TYPE_CHECKING:
    from yarl import URL

__all__ = [
    "REFUSAL_REASONS",
    "DestinationBlocked",
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
_NUMERIC_HOST = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+))*\.?", re.I)
_LOOPBACK_NAMES = (ipaddress.IPv4Address("127.0.0.1"), ipaddress.IPv6Address("::1"))

#: Why the policy refuses a destination: the ``reason`` of :class:`DestinationBlocked`, a short
#: code fit for a metric label.
REFUSAL_REASONS = (
    "loopback",
    "private",
    "link_local",
    "metadata",
    "shared",
    "site_local",
    "non_global",
    "unspecified",
    "multicast",
    "broadcast",
    "this_network",
    "reserved",
    "ipv4_mapped",
    "ambiguous_spelling",
    "bad_url",
)


class DestinationBlocked(ScanhookError):
    """The destination address is refused by the network policy."""

    def __init__(
        self,
        message: str | None = None,
        *,
        address: str | None = None,
        allowable: bool = False,
        reason: str = "bad_url",
    ) -> None:
        #: The refused address (or host), when there is one.
        self.address = address
        #: True when allowing private networks (or the address's network) would let it through.
        self.allowable = allowable
        #: One of :data:`REFUSAL_REASONS`.
        self.reason = reason
        super().__init__(message)


def _always_refused(addr: IPAddress) -> tuple[str, str] | None:
    """(reason, the class) of an address that no setting allows, or None."""
    if addr.is_unspecified:
        return "unspecified", "the unspecified address"
    if addr.is_multicast:
        return "multicast", "a multicast address"
    if isinstance(addr, ipaddress.IPv4Address):
        if addr == _BROADCAST:
            return "broadcast", "the broadcast address"
        if addr in _THIS_NETWORK:
            return "this_network", "a 'this network' address (0.0.0.0/8)"
        if addr in _RESERVED4:
            return "reserved", "a reserved address (240.0.0.0/4)"
        return None
    if addr.ipv4_mapped is not None:
        return "ipv4_mapped", "an IPv4-mapped IPv6 address (::ffff:0:0/96)"
    # 64:ff9b::/96 (NAT64) lies inside the reserved ::/8; its embedded IPv4 address is checked.
    if addr.is_reserved and not addr.is_loopback and addr not in _NAT64:
        return "reserved", "a reserved address"
    return None


def _refused_unless_allowed(addr: IPAddress) -> tuple[str, str] | None:
    """(reason, the class) of an address that only an operator's allowance lets through."""
    if addr.is_loopback:
        return "loopback", "a loopback address"
    if isinstance(addr, ipaddress.IPv4Address):
        if addr == _METADATA:
            return "metadata", "the cloud metadata address (link-local)"
        if addr.is_link_local:
            return "link_local", "a link-local address"
        if addr in _CGNAT:
            return "shared", "a shared (CGNAT, 100.64.0.0/10) address"
        if any(addr in net for net in _PRIVATE4):
            return "private", "a private address"
    else:
        if addr.is_link_local:
            return "link_local", "a link-local address"
        if addr in _ULA:
            return "private", "a private (unique local, fc00::/7) address"
        if addr in _SITE_LOCAL:
            return "site_local", "a site-local address"
    if not addr.is_global:
        return "non_global", "a non-global (special-purpose) address"
    return None


def _numeric_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address a numeric host spells as inet_aton and URL parsers read it: one to four
    parts, each decimal, octal (leading 0) or hex (0x), the last filling the remaining bytes; an
    optional trailing dot. None when it spells none (e.g. a part too large)."""
    parts = host.removesuffix(".").split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values: list[int] = []
    for part in parts:
        text = part.lower()
        try:
            if text.startswith("0x"):
                values.append(int(text[2:] or "0", 16))
            elif len(text) > 1 and text.startswith("0"):
                values.append(int(text, 8))
            else:
                values.append(int(text, 10))
        except ValueError:
            return None
    *leading, last = values
    if any(v > 255 for v in leading) or last >= 256 ** (5 - len(values)):
        return None
    number = last
    for index, value in enumerate(leading):
        number += value << (8 * (3 - index))
    return ipaddress.IPv4Address(number)


def _is_localhost(host: str) -> bool:
    name = host.lower().removesuffix(".")
    return name == "localhost" or name.endswith(".localhost")


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
                    reason, what, allowable = inner_refusal
                    raise DestinationBlocked(
                        f"{addr} embeds the IPv4 address {inner}, which is {what}",
                        address=str(addr),
                        allowable=allowable,
                        reason=reason,
                    )
        if refusal is not None:
            reason, what, allowable = refusal
            raise DestinationBlocked(
                f"{addr} is {what}", address=str(addr), allowable=allowable, reason=reason
            )

    def _refusal(self, addr: IPAddress) -> tuple[str, str, bool] | None:
        """(reason, the address class, whether an allowance could let it through), or None
        if allowed."""
        refused = _always_refused(addr)
        if refused is not None:
            return *refused, False
        if self.allow_private:
            return None
        refused = _refused_unless_allowed(addr)
        if refused is None:
            return None
        for net in self.allowed_networks:
            if addr.version == net.version and addr in net:
                return None
        return *refused, True

    def check_url(self, url: str | URL) -> URL:
        """Check a destination URL before any connection; return it parsed.

        Refuses schemes other than http/https, a missing host, ambiguous numeric host spellings,
        and IP-literal hosts that :meth:`check_ip` refuses.
        """
        from yarl import URL

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
            if _NUMERIC_HOST.fullmatch(host):
                raise self._ambiguous(host) from None
            if "%" in host:
                raise DestinationBlocked(
                    f"url: the host {host[:100]!r} is percent-encoded; write it plainly",
                    address=host,
                ) from None
            if _is_localhost(host):
                self._check_localhost(host)
            return parsed  # a name: GuardedResolver checks what it resolves to
        self.check_ip(addr)
        return parsed

    def _ambiguous(self, host: str) -> DestinationBlocked:
        """The refusal of a numeric host that is not four decimal numbers, naming the class of
        the address it spells when the policy refuses that address too."""
        advice = "write IPv4 addresses as four decimal numbers (e.g. 192.0.2.10)"
        spelled = _numeric_ipv4(host)
        refusal = None if spelled is None else self._refusal(spelled)
        if spelled is None or refusal is None:
            return DestinationBlocked(
                f"url: {host!r} is an ambiguous IP address spelling; {advice}",
                address=host,
                reason="ambiguous_spelling",
            )
        reason, what, allowable = refusal
        return DestinationBlocked(
            f"url: {host!r} is an ambiguous IP address spelling of {spelled}, which is "
            f"{what}; {advice}",
            address=host,
            allowable=allowable,
            reason=reason,
        )

    def _check_localhost(self, host: str) -> None:
        """``localhost`` and its subdomains name loopback (RFC 6761): refused unless the policy
        allows 127.0.0.1 or ::1."""
        for addr in _LOOPBACK_NAMES:
            if self._refusal(addr) is None:
                return
        raise DestinationBlocked(
            f"{host} names a loopback address", address=host, allowable=True, reason="loopback"
        )


def _parse_ip(text: str) -> IPAddress:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        raise DestinationBlocked(f"{text!r} is not an IP address", address=text) from None
