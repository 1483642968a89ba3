"""The PostgreSQL backend: many API and worker processes, on many machines, share one database.

The operations and their transaction bodies are the dialect-neutral ones SQLite runs
(:class:`~scanhook.store.delegating.TransactionalStore`); what keeps concurrent workers apart is
in their statements: claims lock endpoint and delivery rows with ``FOR UPDATE SKIP LOCKED``,
records lock endpoints in id order, idempotency keys are claimed with ``INSERT … ON CONFLICT``.
Every write that makes deliveries due commits with one ``NOTIFY scanhook_due``, which
:meth:`PostgresStore.wait_for_work` hears (see :mod:`scanhook.store.postgres_listen`). Which
workers are alive is told by an advisory lock each (see :mod:`scanhook.store.postgres_workers`).
"""

from __future__ import annotations

import asyncio
import functools
import random
import time
from collections.abc import Sequence
from typing import TypeVar

import structlog
from sqlalchemy import text
from sqlalchemy.engine import Connection

from scanhook.errors import ConfigurationError
from scanhook.store import claiming, liveness, operating, secretbox
from scanhook.store import queries as q
from scanhook.store.delegating import Body, TransactionalStore
from scanhook.store.migrate import upgrade_postgresql
from scanhook.store.postgres_engine import (
    DEFAULT_POOL_SIZE,
    NOTIFY_CHANNEL,
    PgRunner,
    libpq_conninfo,
    make_postgres_engine,
    postgres_label,
    postgres_url,
)
from scanhook.store.postgres_leader import Leadership
from scanhook.store.postgres_listen import Listener
from scanhook.store.postgres_workers import DEAD_AFTER, SETTLE, WORKER_LOCK_CLASS, WorkerLock
from scanhook.store.records import (
    AttemptOutcome,
    ClaimedDelivery,
    NewEvent,
    PublishResult,
    StorePolicy,
)
from scanhook.store.secretbox import KeyRing

__all__ = ["PostgresStore"]

log = structlog.get_logger("scanhook.store.postgres")

T = TypeVar("T")

#: Claim rounds when endpoints were skipped because other workers held them for a moment.
CLAIM_ROUNDS = 3


class PostgresStore(TransactionalStore):
    """A scanhook database on PostgreSQL, ``postgresql://user:password@host:port/database``."""

    def __init__(
        self,
        url: str,
        policy: StorePolicy | None = None,
        *,
        secret_key: str | None = None,
        pool_size: int = DEFAULT_POOL_SIZE,
    ) -> None:
        """``secret_key``: the key ring that seals endpoint secrets (``SCANHOOK_SECRET_KEY``'s
        form); required, as every process sharing the database needs the same one."""
        self.policy = policy or StorePolicy()
        self.url = postgres_url(url)
        self.label = postgres_label(self.url)
        if not secret_key:
            raise ConfigurationError(
                f"{secretbox.KEY_SETTING} is required with PostgreSQL: endpoint secrets are"
                " stored encrypted with it, and every process sharing the database needs the same"
                " key (make one with `scanhook secrets generate-key`)"
            )
        self._keys = KeyRing.parse(secret_key)
        self._engine = make_postgres_engine(self.url, pool_size)
        secretbox.bind(self._engine, self.keys)
        self._db = PgRunner(self._engine, self.label, pool_size)
        self._listener = Listener(libpq_conninfo(self.url), self.label)
        self._leadership = Leadership(libpq_conninfo(self.url), self.label)
        # Workers start their turns at different endpoints.
        self._claim_memory = claiming.ClaimMemory()
        self._worker_locks: dict[str, WorkerLock] = {}

    def keys(self) -> KeyRing:
        return self._keys

    async def _read(self, op: str, fn: Body[T]) -> T:
        return await self._db.transaction(op, fn)

    async def _write(
        self, op: str, fn: Body[T], *, notify: bool = False, durable: bool = True
    ) -> T:
        """``notify`` sends ``NOTIFY scanhook_due`` with the commit; ``durable=False`` commits
        with ``synchronous_commit = off``."""
        return await self._db.transaction(op, fn, notify=notify, durable=durable)

    # -- lifecycle ------------------------------------------------------------------------------
    async def upgrade(self) -> None:
        url = self.url.render_as_string(hide_password=False)
        await self._db.call("upgrade", lambda: upgrade_postgresql(url, self._keys))

    async def close(self) -> None:
        locks, self._worker_locks = list(self._worker_locks.values()), {}
        for lock in locks:
            await lock.close()
        await self._leadership.close()
        await self._listener.close()
        await self._db.close()

    async def ping(self) -> None:
        await self._read("ping", lambda c: c.execute(text("SELECT 1")).scalar())

    # -- endpoints ------------------------------------------------------------------------------
    async def delete_endpoint(self, endpoint_id: str) -> None:
        now = time.time()

        def work(c: Connection) -> None:
            # Endpoint row first, as claims and records lock it first: no deadlock with them.
            c.execute(q.ENDPOINT_TO_LOCK, {"id": endpoint_id})
            operating.delete_endpoint(c, endpoint_id, now)

        await self._write("delete_endpoint", work)

    # -- events ---------------------------------------------------------------------------------
    async def publish(self, events: Sequence[NewEvent]) -> list[PublishResult]:
        """Nothing to publish takes no connection from the pool and sends no ``NOTIFY``."""
        if not events:
            return []
        return await super().publish(events)

    # -- the engine -----------------------------------------------------------------------------
    async def claim(
        self, worker_id: str, now: float, lease: float, limit: int
    ) -> list[ClaimedDelivery]:
        """Up to :data:`CLAIM_ROUNDS` claim transactions: another round only when this one came
        short and skipped endpoints that other workers held at that moment."""
        claimed: list[ClaimedDelivery] = []
        for attempt in range(CLAIM_ROUNDS):
            memory = self._claim_memory
            want = limit - len(claimed)
            result = await self._write(
                "claim",
                functools.partial(
                    claiming.claim_round,
                    worker_id=worker_id,
                    now=now,
                    lease=lease,
                    limit=want,
                    memory=memory,
                ),
                durable=False,
            )
            claimed.extend(result.deliveries)
            if len(claimed) >= limit or result.contended == 0:
                break
            await asyncio.sleep(0.002 * (attempt + 1) * random.random())
        return claimed

    async def record(self, outcomes: Sequence[AttemptOutcome]) -> None:
        if outcomes:
            await super().record(outcomes)

    async def release(self, delivery_ids: Sequence[str], worker_id: str | None = None) -> None:
        if delivery_ids:
            await super().release(delivery_ids, worker_id)

    async def wait_for_work(self, seconds: float) -> None:
        await self._listener.wait(seconds)

    async def try_lead(self, name: str) -> bool:
        """An advisory lock per job on this store's leader connection (see
        :mod:`scanhook.store.postgres_leader`)."""
        return await self._leadership.try_lead(name)

    # -- who is alive ---------------------------------------------------------------------------
    async def register_worker(self, worker_id: str, now: float) -> int:
        return await self.keep_worker_alive(worker_id, now)

    async def keep_worker_alive(self, worker_id: str, now: float) -> int:
        """Hold the worker's lock (taking it again after a lost connection), refresh its
        heartbeat, and, when it may (see :mod:`scanhook.store.postgres_workers`), take back what
        workers whose lock no one holds left ``sending``, waking every worker if it took any."""
        lock = self._worker_locks.get(worker_id)
        if lock is None:
            lock = self._worker_locks[worker_id] = WorkerLock(
                libpq_conninfo(self.url), self.label, worker_id
            )
        may_take_over = await lock.hold() and lock.may_take_over
        key = lock.key

        def body(connection: Connection) -> tuple[int, bool]:
            clock, started = connection.execute(q.POSTGRES_CLOCK).one()
            server_now, server_started = float(clock), float(started)
            registered = liveness.beat(connection, worker_id, server_now, key)
            if not registered:
                liveness.register(connection, worker_id, server_now, key)
            if not may_take_over or server_now - server_started < SETTLE:
                return 0, registered
            dead = connection.execute(
                q.DEAD_POSTGRES_WORKERS,
                {
                    "me": worker_id,
                    "stale_before": server_now - DEAD_AFTER,
                    "class_id": WORKER_LOCK_CLASS,
                },
            ).scalars()
            taken = liveness.reclaim(connection, list(dead), now)
            if taken:
                connection.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))
            return taken, registered

        taken, registered = await self._write("keep_worker_alive", body, durable=False)
        if not registered and lock.announced:
            log.warning(
                "this worker had been taken for dead (its deliveries in flight were taken"
                " back); registered again",
                worker=worker_id,
                database=self.label,
            )
        lock.announced = True
        return taken

    async def unregister_worker(self, worker_id: str) -> None:
        lock = self._worker_locks.pop(worker_id, None)
        try:
            await self._write("unregister_worker", lambda c: liveness.unregister(c, worker_id))
        finally:
            if lock is not None:
                await lock.close()
