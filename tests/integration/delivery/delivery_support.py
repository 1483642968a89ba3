"""Helpers of the delivery integration tests: loopback receivers and a table resolver."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web

from table_resolver import StaticResolver

__all__ = ["Received", "StaticResolver", "free_port", "serve"]


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
