"""A lane: one thread that owns one database connection and runs blocking work on it.

The store awaits a lane from the event loop; the driver's blocking calls happen on the lane's
thread, one unit of work (one transaction) at a time, so a lane is also a queue. Driver errors
come out as :class:`~scanhook.errors.DatabaseError` (``raise … from``); scanhook's own errors
(NotFound, ConflictError) pass through after the transaction is rolled back.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from scanhook.errors import DatabaseError, ScanhookError

__all__ = ["Lane", "describe_driver_error"]

T = TypeVar("T")


def describe_driver_error(exc: BaseException) -> str:
    """The driver's own message (without SQLAlchemy's SQL echo and links)."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return str(exc.orig) or type(exc.orig).__name__
    return str(exc) or type(exc).__name__


class Lane:
    """One thread and one connection of ``engine``; ``label`` names the database in errors."""

    def __init__(self, engine: Engine, name: str, label: str) -> None:
        self._engine = engine
        self._label = label
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._connection: Connection | None = None
        self._closed = False

    async def transaction(self, op: str, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one transaction on the lane's connection; commit when it returns."""
        return await self._submit(op, lambda: self._in_transaction(work))

    async def call(self, op: str, work: Callable[[], T]) -> T:
        """Run ``work`` (which opens its own connections) on the lane's thread."""
        return await self._submit(op, work)

    async def close(self) -> None:
        """Close the connection and stop the thread."""
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._drop_connection)
        finally:
            self._executor.shutdown(wait=True)

    async def _submit(self, op: str, work: Callable[[], T]) -> T:
        if self._closed:
            raise DatabaseError(f"{self._label}: {op} failed: the store is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._guarded, op, work)

    def _guarded(self, op: str, work: Callable[[], T]) -> T:
        try:
            return work()
        except ScanhookError:
            raise
        except (SQLAlchemyError, sqlite3.Error, OSError) as exc:
            # A fresh connection next time: cheap for SQLite, and never reuses a broken one.
            self._drop_connection()
            raise DatabaseError(
                f"{self._label}: {op} failed: {describe_driver_error(exc)}"
            ) from exc

    def _in_transaction(self, work: Callable[[Connection], T]) -> T:
        if self._connection is None:
            self._connection = self._engine.connect()
        connection = self._connection
        with connection.begin():
            return work(connection)

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(SQLAlchemyError, sqlite3.Error):
                connection.close()
