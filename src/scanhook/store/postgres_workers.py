"""Who is alive among the workers on one PostgreSQL database: a session advisory lock each.

Every worker holds ``pg_try_advisory_lock(WORKER_LOCK_CLASS, key)`` on a connection of its own,
``key`` being a random 31-bit number kept in its ``workers`` row. PostgreSQL drops the lock the
moment that connection ends, so a worker whose process died (``kill -9`` too) is seen gone at
once, and a worker that is alive but slow (a long pause, a busy event loop) keeps its lock and
is never taken over. Another worker sees it gone when no session holds its lock (``pg_locks``)
and its heartbeat, on the server's clock, is older than :data:`DEAD_AFTER`: the heartbeat lets a
live worker whose lock connection alone was cut get its lock back before anyone acts.

Against false deaths when the database itself went away (all locks are dropped with their
sessions, and come back one by one as workers reconnect): a worker that got its lock back after
losing its connection waits :data:`SETTLE` seconds before taking over others, and no worker
takes over others while the server has been up for less than that. What remains: a worker
cut off from the database for longer than that while its attempts are still in flight (its
connections were dropped by the server, e.g. ``pg_terminate_backend``, or a network partition
the server noticed) can be taken for dead while one of them is still being sent; the receiver
then sees that ``webhook-id`` twice, at least once as ever. A worker whose machine vanished
without closing its connections keeps its lock until the server notices (TCP keepalive), at
worst until its leases run out.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import time

import psycopg
import structlog
from psycopg.rows import TupleRow

__all__ = ["DEAD_AFTER", "SETTLE", "WORKER_LOCK_CLASS", "WorkerLock"]

log = structlog.get_logger("scanhook.store.postgres")

#: The first number of every worker lock (two-int advisory locks): scanhook's own class, apart
#: from the one-bigint locks of background jobs and from other applications' locks.
WORKER_LOCK_CLASS = int.from_bytes(hashlib.sha256(b"scanhook-worker").digest()[:4], "big") >> 1
#: A worker whose lock no session holds is gone once its heartbeat is this old (seconds).
DEAD_AFTER = 3.0
#: Seconds after regaining its lock, and after the server started, before taking over others.
SETTLE = 10.0
#: Keys tried at the first lock when another worker happens to hold the one drawn.
_KEY_DRAWS = 5


def _new_key() -> int:
    return secrets.randbelow(2**31 - 1) + 1


class WorkerLock:
    """One worker's advisory lock, on a connection opened by :meth:`hold`."""

    def __init__(self, conninfo: str, label: str, worker_id: str) -> None:
        self._conninfo = conninfo
        self._label = label
        self._worker_id = worker_id
        self.key = _new_key()
        self._connection: psycopg.AsyncConnection[TupleRow] | None = None
        #: time.monotonic() when the lock was taken; None while it is not held.
        self._held_since: float | None = None
        self._ever_held = False
        self._regained = False
        #: Whether its row was written once (a missing row later means it was taken for dead).
        self.announced = False

    @property
    def may_take_over(self) -> bool:
        """Whether this worker may take over others now: it holds its lock, continuously since
        it first took it, or for :data:`SETTLE` seconds since it got it back."""
        since = self._held_since
        if since is None:
            return False
        return not self._regained or time.monotonic() - since >= SETTLE

    async def hold(self) -> bool:
        """Whether the lock is held now: checks that its connection answers; after a loss,
        reconnects and takes the lock again. Never raises for a database problem."""
        connection = self._connection
        if connection is not None and not connection.closed:
            try:
                await connection.execute("SELECT 1")
                return True
            except (psycopg.Error, OSError) as exc:
                log.warning(
                    "lost the worker's lock connection; taking the lock again",
                    worker=self._worker_id,
                    database=self._label,
                    error=str(exc).strip(),
                )
                await self._drop()
        try:
            return await self._take()
        except (psycopg.Error, OSError):
            await self._drop()
            return False

    async def _take(self) -> bool:
        connection = await psycopg.AsyncConnection.connect(
            self._conninfo,
            autocommit=True,
            application_name="scanhook-worker",
            connect_timeout=10,
        )
        self._connection = connection
        for _ in range(1 if self._ever_held else _KEY_DRAWS):
            cursor = await connection.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", (WORKER_LOCK_CLASS, self.key)
            )
            row = await cursor.fetchone()
            if row is not None and row[0] is True:
                self._held_since = time.monotonic()
                self._regained = self._ever_held
                self._ever_held = True
                return True
            if self._ever_held:
                break  # a session of ours the server has not ended yet: try again later
            self.key = _new_key()  # another worker drew the same key
        await self._drop()
        return False

    async def _drop(self) -> None:
        self._held_since = None
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(psycopg.Error, OSError):
                await connection.close()

    async def close(self) -> None:
        """Close the connection: the lock is released with it."""
        await self._drop()
