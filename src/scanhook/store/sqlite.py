"""The embedded backend: a SQLite file in WAL mode, every commit fsync'd.

Two lanes (one thread and one connection each): the writer, whose transactions are ``BEGIN
IMMEDIATE`` and run one at a time, and a reader for queries, which WAL lets run beside the
writer. The operations and their transaction bodies are shared with PostgreSQL
(:class:`~scanhook.store.delegating.TransactionalStore`); reads run on the reader lane, writes
on the writer lane.

Who is alive: the store whose workers run holds an exclusive OS lock on the file
``<database>-workers.lock`` beside the database. Holding it proves that no other process runs
workers on this file, so when the store takes it, every ``sending`` row not leased by a worker
of its own is orphaned and taken back at once, and so are, later, the rows of any worker that
registered while holding it (its process has ended). A store that finds the lock held (a second
worker process on one file) warns, and judges the others by their heartbeat instead:
:data:`SHARED_FILE_STALE` seconds without one is gone. It tries the lock again at each
heartbeat, and takes over as soon as the holder has ended.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

import structlog
from sqlalchemy import text
from sqlalchemy.engine import Connection

from scanhook.errors import WorkersRunElsewhere
from scanhook.store import claiming, liveness, operating, recording, secretbox
from scanhook.store import queries as q
from scanhook.store.delegating import Body, TransactionalStore
from scanhook.store.file_lock import FileLock
from scanhook.store.lane import Lane
from scanhook.store.migrate import upgrade_sqlite
from scanhook.store.records import AttemptOutcome, ClaimedDelivery, StorePolicy
from scanhook.store.secretbox import KeyRing
from scanhook.store.sqlite_engine import make_sqlite_engine, sqlite_path

__all__ = ["INLINE_OUTCOMES", "SHARED_FILE_STALE", "SqliteStore"]

T = TypeVar("T")

log = structlog.get_logger("scanhook.store.sqlite")

#: Without the workers' file lock, a worker whose heartbeat is older than this (seconds) is gone.
SHARED_FILE_STALE = 20.0
#: ``lock_key`` of a worker registered while its store held the workers' file lock.
_FILE_LOCK_KEY = 0

#: A worker's cycle recording at least this many outcomes runs inline (see record_and_claim).
INLINE_OUTCOMES = 8


class SqliteStore(TransactionalStore):
    """A scanhook database in one SQLite file, ``sqlite:///path`` (``sqlite:////abs/path``)."""

    def __init__(
        self, url: str, policy: StorePolicy | None = None, *, secret_key: str | None = None
    ) -> None:
        """``secret_key``: the key ring that seals endpoint secrets (``SCANHOOK_SECRET_KEY``'s
        form); None: the key file beside the database, made on first use when there is none."""
        self.policy = policy or StorePolicy()
        self.path = sqlite_path(url)
        label = f"SQLite database {self.path}"
        self._secret_key = secret_key
        self._keys: KeyRing | None = None
        self._keys_lock = threading.Lock()
        self._writer_engine = make_sqlite_engine(self.path, writer=True)
        self._reader_engine = make_sqlite_engine(self.path, writer=False)
        for engine in (self._writer_engine, self._reader_engine):
            secretbox.bind(engine, self.keys)
        self._writer = Lane(self._writer_engine, "scanhook-sqlite-writer", label)
        self._reader = Lane(self._reader_engine, "scanhook-sqlite-reader", label)
        self._claim_memory = claiming.ClaimMemory()
        self._workers_lock = FileLock(f"{self.path}-workers.lock")
        #: The workers registered through this store (all alive: they are in this process).
        self._own: set[str] = set()
        #: Whether, since taking the file lock, every lease not held by them was taken back.
        self._swept_all = False
        self._warned_shared = False
        #: Workers whose row was written once (a missing row later: taken for dead).
        self._announced: set[str] = set()

    def keys(self) -> KeyRing:
        """The key ring (read, or the key file made, on first use)."""
        if self._keys is None:
            with self._keys_lock:
                if self._keys is None:
                    if self._secret_key is not None:
                        self._keys = KeyRing.parse(self._secret_key)
                    else:
                        self._keys = secretbox.load_key_file(secretbox.key_file_of(self.path))
        return self._keys

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
            upgrade_sqlite(self._writer_engine, self.path, self.keys())

        await self._writer.call("upgrade", run)

    async def close(self) -> None:
        try:
            await self._writer.close()
            await self._reader.close()
        finally:
            self._writer_engine.dispose()
            self._reader_engine.dispose()
            self._workers_lock.release()

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
        changes: list[recording.HealthChange] = []

        def cycle(connection: Connection) -> list[ClaimedDelivery]:
            changes[:] = recording.record(connection, outcomes, policy)
            return claiming.claim(connection, worker_id, now, lease, limit, memory)

        inline = len(outcomes) >= INLINE_OUTCOMES
        claimed = await self._writer.transaction("record_and_claim", cycle, inline=inline)
        recording.report(outcomes, changes)
        return claimed

    # -- who is alive ---------------------------------------------------------------------------
    async def register_worker(self, worker_id: str, now: float) -> int:
        return await self.keep_worker_alive(worker_id, now)

    async def keep_worker_alive(self, worker_id: str, now: float) -> int:
        self._own.add(worker_id)
        holder = self._hold_file_lock()
        own = frozenset(self._own)
        everything = holder and not self._swept_all
        lock_key = _FILE_LOCK_KEY if holder else None
        lost: list[bool] = []

        def body(connection: Connection) -> int:
            if not liveness.beat(connection, worker_id, now, lock_key):
                liveness.register(connection, worker_id, now, lock_key)
                lost.append(worker_id in self._announced)
            rows = connection.execute(q.WORKERS).all()
            dead = {
                row.id
                for row in rows
                if row.id not in own
                and (
                    # Registered under the file lock, which this store holds now: ended.
                    (holder and row.lock_key is not None)
                    or row.heartbeat_at < now - SHARED_FILE_STALE
                )
            }
            taken = liveness.reclaim(connection, dead, now)
            if everything:
                alive = own | {row.id for row in rows if row.id not in dead}
                taken += liveness.reclaim_all_but(connection, alive, now)
            return taken

        taken = await self._write("keep_worker_alive", body)
        self._announced.add(worker_id)
        if any(lost):
            log.warning(
                "this worker had been taken for dead (no heartbeat for"
                f" {SHARED_FILE_STALE:g} s; its deliveries in flight were taken back);"
                " registered again",
                worker=worker_id,
            )
        if everything:
            self._swept_all = True
        return taken

    async def unregister_worker(self, worker_id: str) -> None:
        self._own.discard(worker_id)
        self._announced.discard(worker_id)
        try:
            await self._write("unregister_worker", lambda c: liveness.unregister(c, worker_id))
        finally:
            if not self._own:
                self._workers_lock.release()
                self._swept_all = False

    async def reserve_workers(self) -> None:
        lock = self._workers_lock
        try:
            if lock.try_acquire():
                return
            holder = lock.holder()
            who = f"process {holder}" if holder else "process (pid unknown)"
            problem = f"is held by another scanhook {who}"
        except OSError as exc:
            problem = f"cannot be opened: {exc.strerror or exc}"
        raise WorkersRunElsewhere(
            f"another scanhook process runs delivery workers on the SQLite database {self.path}:"
            f" its workers' lock {lock.path} {problem}. Stop it first (one serve or worker per"
            " SQLite file), run `scanhook api` for a second API without workers, or use"
            " PostgreSQL to run several worker processes."
        )

    def _hold_file_lock(self) -> bool:
        """Whether this store holds the workers' file lock (taking it if it is free)."""
        lock = self._workers_lock
        if lock.held:
            return True
        try:
            if lock.try_acquire():
                if self._warned_shared:
                    log.info("took over the workers' lock of the database", lock=lock.path)
                return True
            problem = f"held by another process (pid {lock.holder() or 'unknown'})"
        except OSError as exc:
            problem = f"cannot be opened: {exc.strerror or exc}"
        if not self._warned_shared:
            self._warned_shared = True
            log.warning(
                "another process runs delivery workers on this SQLite database, or its workers'"
                " lock cannot be taken: a worker that dies is noticed only once its heartbeat"
                f" is {SHARED_FILE_STALE:g} s old (run one worker process per SQLite file, or"
                " use PostgreSQL for several)",
                lock=lock.path,
                problem=problem,
            )
        return False
