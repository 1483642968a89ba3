"""The resolver the HTTP client connects through: it answers only the addresses the
:class:`~scanhook.delivery.ssrf.NetworkPolicy` allows (a module of its own, so that the policy
can be used, at save time, without loading aiohttp)."""

from __future__ import annotations

import socket

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from scanhook.delivery.ssrf import DestinationBlocked, NetworkPolicy

__all__ = ["GuardedResolver"]


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
