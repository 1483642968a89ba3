"""Helpers of the delivery integration tests: loopback receivers and a table resolver."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

__all__ = ["Received", "StaticResolver", "free_port", "serve"]


class StaticResolver(AbstractResolver):
    """Answers names from a table (which a test may change between questions). No DNS."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.calls: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.calls.append(host)
        if host not in self.table:
            raise OSError(f"no such host {host}")
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in self.table[host]
        ]

    async def close(self) -> None:
        pass


@dataclass
class Received:
    """What a receiver saw."""

    requests: list[web.Request] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    peers: list[tuple[str, int]] = field(default_factory=list)


@asynccontextmanager
async def serve(
    app: web.Application, host: str = "127.0.0.1", port: int = 0, **site_options: object
) -> AsyncIterator[int]:
    """Run ``app`` on ``host``; yield its port."""
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, **site_options)  # type: ignore[arg-type]
    await site.start()
    try:
        bound = runner.addresses[0]
        yield int(bound[1])
    finally:
        await runner.cleanup()


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on (bound once, then released)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
