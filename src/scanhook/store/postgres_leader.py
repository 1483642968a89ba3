"""Leading a background job across every process on one PostgreSQL database.

One dedicated connection per store holds a session-level advisory lock per job it leads
(``pg_try_advisory_lock``: never waits). The lock lives exactly as long as that connection: when
the leading process dies, or its connection is cut, PostgreSQL releases the lock and the next
:meth:`Leadership.try_lead` of another process takes it. Each call by the leader checks that its
connection still answers, so a leader whose connection was lost learns it at its next check and
stops leading (the jobs are safe to run twice for a moment: pruning is batched and idempotent,
schedule notices are exactly-once by key; leading only saves the duplicate work).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib

import psycopg
import structlog
from psycopg.rows import TupleRow

__all__ = ["Leadership", "lock_key"]

log = structlog.get_logger("scanhook.store.postgres")


def lock_key(name: str) -> int:
    """The advisory lock id of job ``name``: 64 bits of its SHA-256, as PostgreSQL's bigint."""
    digest = hashlib.sha256(f"scanhook-job:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class Leadership:
    """The advisory locks this store holds, on one connection opened on first use."""

    def __init__(self, conninfo: str, label: str) -> None:
        self._conninfo = conninfo
        self._label = label
        self._connection: psycopg.AsyncConnection[TupleRow] | None = None
        self._held: set[str] = set()
        self._lock = asyncio.Lock()

    @property
    def backend_pid(self) -> int | None:
        """The server process of the lock connection (None while there is none)."""
        connection = self._connection
        return None if connection is None or connection.closed else connection.info.backend_pid

    async def try_lead(self, name: str) -> bool:
        """True when this store leads ``name`` now (it took the lock, or still holds it on a
        connection that answers); False when another session holds it or the database cannot
        be reached (then every lock of this store is given up with its connection)."""
        async with self._lock:
            try:
                connection = await self._connect()
                if name in self._held:
                    await connection.execute("SELECT 1")
                    return True
                cursor = await connection.execute(
                    "SELECT pg_try_advisory_lock(%s)", (lock_key(name),)
                )
                row = await cursor.fetchone()
                if row is not None and row[0] is True:
                    self._held.add(name)
                    log.info("leading a background job", job=name, database=self._label)
                    return True
                return False
            except (psycopg.Error, OSError) as exc:
                if self._held:
                    log.warning(
                        "lost the lead of background jobs",
                        jobs=sorted(self._held),
                        database=self._label,
                        error=str(exc).strip(),
                    )
                await self._drop()
                return False

    async def _connect(self) -> psycopg.AsyncConnection[TupleRow]:
        if self._connection is not None and not self._connection.closed:
            return self._connection
        self._held.clear()
        self._connection = await psycopg.AsyncConnection.connect(
            self._conninfo,
            autocommit=True,
            application_name="scanhook-leader",
            connect_timeout=10,
        )
        return self._connection

    async def _drop(self) -> None:
        self._held.clear()
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(psycopg.Error, OSError):
                await connection.close()

    async def close(self) -> None:
        """Close the connection: every lock it held is released."""
        async with self._lock:
            await self._drop()
