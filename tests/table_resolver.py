"""A table resolver for the tests: the resolver layer of the SSRF guard without DNS, so a name can
"resolve" to any address while no connection is ever made (tests/conftest.py refuses
non-loopback connects anyway). Importable from every test folder (tests/ is on sys.path)."""

from __future__ import annotations

import socket

from aiohttp.abc import AbstractResolver, ResolveResult

__all__ = ["StaticResolver"]


class StaticResolver(AbstractResolver):
    """Answers names from a table (which a test may change between questions); counts the
    questions. No DNS."""

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
