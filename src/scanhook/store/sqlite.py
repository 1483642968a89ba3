"""The embedded backend: a SQLite file in WAL mode, every commit fsync'd.

Two lanes (one thread and one connection each): the writer, whose transactions are ``BEGIN
IMMEDIATE`` and run one at a time, and a reader for queries, which WAL lets run beside the
writer. The operations and their transaction bodies are shared with PostgreSQL
(:class:`~scanhook.store.delegating.TransactionalStore`); reads run on the reader lane, writes
on the writer lane.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.engine import Connection

from scanhook.store import claiming, operating, recording
from scanhook.store.delegating import Body, TransactionalStore
from scanhook.store.lane import Lane
from scanhook.store.migrate import upgrade_sqlite
from scanhook.store.records import AttemptOutcome, ClaimedDelivery, StorePolicy
from scanhook.store.sqlite_engine import make_sqlite_engine, sqlite_path

__all__ = ["INLINE_OUTCOMES", "SqliteStore"]

T = TypeVar("T")

#: A worker's cycle recording at least this many outcomes runs inline (see record_and_claim).
INLINE_OUTCOMES = 8


class SqliteStore(TransactionalStore):
    """A scanhook database in one SQLite file, ``sqlite:///path`` (``sqlite:////abs/path``)."""

    def __init__(self, url: str, policy: StorePolicy | None = None) -> None:
        self.policy = policy or StorePolicy()
        self.path = sqlite_path(url)
        label = f"SQLite database {self.path}"
        self._writer_engine = make_sqlite_engine(self.path, writer=True)
        self._reader_engine = make_sqlite_engine(self.path, writer=False)
        self._writer = Lane(self._writer_engine, "scanhook-sqlite-writer", label)
        self._reader = Lane(self._reader_engine, "scanhook-sqlite-reader", label)
        self._claim_memory = claiming.ClaimMemory()

    async def _read(self, op: str, fn: Body[T]) -> T:
        return await self._reader.transaction(op, fn)

    async def _write(
        self, op: str, fn: Body[T], *, notify: bool = False, durable: bool = True
    ) -> T:
        """On the writer lane. Every commit is fsync'd and SQLite has no wake-up channel (the
        workers poll), so ``notify`` and ``durable`` change nothing here."""
        return await self._writer.transaction(op, fn)

    # -- lifecycle ------------------------------------------------------------------------------
    async def upgrade(self) -> None:
        def run() -> None:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            upgrade_sqlite(self._writer_engine, self.path)

        await self._writer.call("upgrade", run)

    async def close(self) -> None:
        try:
            await self._writer.close()
            await self._reader.close()
        finally:
            self._writer_engine.dispose()
            self._reader_engine.dispose()

    async def ping(self) -> None:
        await self._read(
            "ping", lambda c: c.execute(text("SELECT count(*) FROM sqlite_master")).scalar()
        )

    # -- endpoints ------------------------------------------------------------------------------
    async def delete_endpoint(self, endpoint_id: str) -> None:
        now = time.time()
        await self._write(
            "delete_endpoint", lambda c: operating.delete_endpoint(c, endpoint_id, now)
        )

    # -- the engine -----------------------------------------------------------------------------
    async def claim(
        self, worker_id: str, now: float, lease: float, limit: int
    ) -> list[ClaimedDelivery]:
        memory = self._claim_memory
        return await self._write(
            "claim", lambda c: claiming.claim(c, worker_id, now, lease, limit, memory)
        )

    async def record_and_claim(
        self,
        outcomes: Sequence[AttemptOutcome],
        worker_id: str,
        now: float,
        lease: float,
        limit: int,
    ) -> list[ClaimedDelivery]:
        """One write transaction (one fsync) for the worker's cycle. A cycle recording at least
        :data:`INLINE_OUTCOMES` outcomes runs inline on the event loop when the writer lane is
        idle (see :class:`Lane`): its many driver calls would each wait for the GIL on the
        lane's thread. A smaller one (a trickle of publishes) goes on the lane's thread, where
        it shares its commit with the publishes waiting there instead of adding an fsync of its
        own on the event loop."""
        if not outcomes or limit <= 0:
            return await super().record_and_claim(outcomes, worker_id, now, lease, limit)
        memory, policy = self._claim_memory, self.policy

        def cycle(connection: Connection) -> list[ClaimedDelivery]:
            recording.record(connection, outcomes, policy)
            return claiming.claim(connection, worker_id, now, lease, limit, memory)

        inline = len(outcomes) >= INLINE_OUTCOMES
        return await self._writer.transaction("record_and_claim", cycle, inline=inline)
