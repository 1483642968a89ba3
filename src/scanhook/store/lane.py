"""A lane: one thread that owns one database connection and runs blocking work on it.

The store awaits a lane from the event loop; the driver's blocking calls happen on the lane's
thread, so a lane is also a queue. Transactions that are waiting in the queue when the thread
takes the next one run together in **one** transaction (group commit), each in its own
savepoint: one ``COMMIT`` (one fsync) and one hand-off back to the event loop for all of them,
and every caller still gets its result only once that commit returned. A unit of work that raises
one of scanhook's own errors (NotFound, ConflictError) is rolled back to its savepoint alone and
its caller gets the error; when the shared transaction fails otherwise (a driver error), every
unit of it is run again alone, so only the culprit fails. Driver errors come out as
:class:`~scanhook.errors.DatabaseError` (``raise … from``).

A transaction asked for ``inline`` runs right away on the caller's thread (the event loop's)
when the lane is idle, and is queued as above when it is not. That is for the delivery worker's
cycle on SQLite: with the event loop busy sending, a transaction on the lane's thread waits for
the GIL after every driver call, and the two threads' hand-offs cost more CPU than the work they
overlap (bench/README.md, third session). The price: the event loop waits for that transaction
and its fsync (a few milliseconds). It never waits for another process's write lock: an inline
transaction that finds the database locked is handed to the lane's thread instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy import Engine
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from scanhook.errors import DatabaseError, ScanhookError, StorageFull
from scanhook.store.sqlite_engine import BUSY_TIMEOUT_MS

__all__ = ["MAX_GROUP", "Lane", "database_error", "describe_driver_error"]

T = TypeVar("T")

#: At most this many queued transactions share one commit.
MAX_GROUP = 64


def describe_driver_error(exc: BaseException) -> str:
    """The driver's own message (without SQLAlchemy's SQL echo and links)."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return str(exc.orig) or type(exc.orig).__name__
    return str(exc) or type(exc).__name__


#: PostgreSQL's SQLSTATE for a full disk (class 53, insufficient resources: disk_full).
_PG_DISK_FULL = "53100"


def _storage_full(exc: BaseException) -> bool:
    """Whether the driver failed because the disk under the database is full: SQLite's
    SQLITE_FULL, PostgreSQL's disk_full, or ENOSPC from the operating system."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    if isinstance(cause, OSError):
        return cause.errno == errno.ENOSPC
    if getattr(cause, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
        return True
    return getattr(cause, "sqlstate", None) == _PG_DISK_FULL


def database_error(label: str, op: str, exc: BaseException) -> DatabaseError:
    """The error to raise for the driver error ``exc`` of ``op`` on the database ``label``:
    :class:`StorageFull` when the disk is full (an operator must free space; nothing is wrong
    with the request or the database), else :class:`DatabaseError`."""
    message = f"{label}: {op} failed: {describe_driver_error(exc).strip()}"
    return StorageFull(message) if _storage_full(exc) else DatabaseError(message)


@dataclass(slots=True)
class _Job:
    op: str
    #: ``work(connection)`` in a transaction, or ``work()`` on the lane's thread.
    work: Callable[..., Any]
    in_transaction: bool
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    ok: bool = False
    value: Any = None


_STOP = object()


def _settle(jobs: list[_Job]) -> None:
    """On the event loop: hand each job's result (or error) to its caller."""
    for job in jobs:
        if job.future.cancelled():
            continue
        if job.ok:
            job.future.set_result(job.value)
        else:
            job.future.set_exception(job.value)


class Lane:
    """One thread and one connection of ``engine``; ``label`` names the database in errors."""

    def __init__(self, engine: Engine, name: str, label: str) -> None:
        self._engine = engine
        self._name = name
        self._label = label
        self._queue: queue.SimpleQueue[_Job | object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._connection: Connection | None = None
        self._closed = False
        # Held while the connection is in use: by the lane's thread for each group of jobs, or
        # by the event loop's thread for an inline transaction.
        self._busy = threading.Lock()

    async def transaction(
        self, op: str, work: Callable[[Connection], T], *, inline: bool = False
    ) -> T:
        """Run ``work`` in a transaction on the lane's connection; return once it is committed
        (possibly together with other transactions queued at the same time). ``inline``: run it
        on this thread, now, if nothing else is queued or running (see the module's doc)."""
        if inline and self._queue.empty() and self._busy.acquire(blocking=False):
            try:
                if self._closed:
                    raise DatabaseError(f"{self._label}: {op} failed: the store is closed")
                done, value = self._guarded(op, lambda: self._inline(work))
                if done:
                    return cast(T, value)
            finally:
                self._busy.release()
        return cast(T, await self._submit(op, work, in_transaction=True))

    async def call(self, op: str, work: Callable[[], T]) -> T:
        """Run ``work`` (which opens its own connections) on the lane's thread, alone."""
        return cast(T, await self._submit(op, work, in_transaction=False))

    async def close(self) -> None:
        """Finish what is queued, close the connection and stop the thread."""
        if self._closed:
            return
        self._closed = True
        thread = self._thread
        if thread is not None:
            self._queue.put(_STOP)
            await asyncio.get_running_loop().run_in_executor(None, thread.join)
        with self._busy:  # inline transactions may have opened it without the thread
            self._drop_connection()

    async def _submit(self, op: str, work: Callable[..., Any], *, in_transaction: bool) -> Any:
        if self._closed:
            raise DatabaseError(f"{self._label}: {op} failed: the store is closed")
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.put(_Job(op, work, in_transaction, loop, future))
        return await future

    # -- on the lane's thread ---------------------------------------------------------------------
    def _run(self) -> None:
        carry: _Job | object | None = None
        try:
            while True:
                item = carry if carry is not None else self._queue.get()
                carry = None
                if not isinstance(item, _Job):
                    return
                group = [item]
                if item.in_transaction:
                    while len(group) < MAX_GROUP:
                        try:
                            following = self._queue.get_nowait()
                        except queue.Empty:
                            break
                        if not isinstance(following, _Job) or not following.in_transaction:
                            carry = following
                            break
                        group.append(following)
                with self._busy:
                    self._execute(group)
                self._hand_back(group)
        finally:
            with self._busy:
                self._drop_connection()

    def _execute(self, group: list[_Job]) -> None:
        if len(group) == 1:
            self._alone(group[0])
        else:
            try:
                self._guarded(group[0].op, lambda: self._in_group(group))
            except BaseException:
                for (
                    job
                ) in group:  # the shared transaction failed: each alone, so only a culprit fails
                    self._alone(job)

    def _hand_back(self, group: list[_Job]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[_Job]] = {}
        for job in group:
            by_loop.setdefault(job.loop, []).append(job)
        for loop, jobs in by_loop.items():
            with contextlib.suppress(RuntimeError):  # that loop is closed: no one waits
                loop.call_soon_threadsafe(_settle, jobs)

    def _alone(self, job: _Job) -> None:
        work = job.work
        run: Callable[[], Any] = (
            (lambda: self._in_transaction(work)) if job.in_transaction else work
        )
        try:
            job.value, job.ok = self._guarded(job.op, run), True
        except BaseException as exc:  # handed to the caller
            job.value, job.ok = exc, False

    def _guarded(self, op: str, work: Callable[[], T]) -> T:
        try:
            return work()
        except ScanhookError:
            raise
        except (SQLAlchemyError, sqlite3.Error, OSError) as exc:
            # A fresh connection next time: cheap for SQLite, and never reuses a broken one.
            self._drop_connection()
            raise database_error(self._label, op, exc) from exc

    def _connect(self) -> Connection:
        if self._connection is None:
            self._connection = self._engine.connect()
        return self._connection

    def _in_transaction(self, work: Callable[[Connection], T]) -> T:
        connection = self._connect()
        with connection.begin():
            return work(connection)

    def _inline(self, work: Callable[[Connection], T]) -> tuple[bool, T | None]:
        """``work`` in a transaction, unless another connection (another process on the same
        file) holds the write lock: then ``(False, None)`` at once, for the lane's thread to wait
        for it, rather than SQLite's busy wait on the event loop."""
        connection = self._connect()
        driver = connection.connection.driver_connection
        assert isinstance(driver, sqlite3.Connection)
        driver.execute("PRAGMA busy_timeout = 0")
        try:
            try:
                transaction = connection.begin()
            except OperationalError as exc:
                if getattr(exc.orig, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY:
                    return False, None
                raise
            with transaction:
                return True, work(connection)
        finally:
            driver.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    def _in_group(self, group: list[_Job]) -> None:
        """Every job of ``group`` in one transaction, each in a savepoint; a job raising one of
        scanhook's errors is rolled back alone. Results are set only when the commit succeeded."""
        connection = self._connect()
        results: list[tuple[bool, Any]] = []
        with connection.begin():
            for job in group:
                try:
                    with connection.begin_nested():
                        results.append((True, job.work(connection)))
                except ScanhookError as exc:
                    results.append((False, exc))
        for job, (ok, value) in zip(group, results, strict=True):
            job.ok, job.value = ok, value

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(SQLAlchemyError, sqlite3.Error):
                connection.close()
