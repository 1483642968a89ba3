"""PostgreSQL plumbing: URLs, the SQLAlchemy engine (psycopg 3, a connection pool) and the runner
that executes the store's blocking transaction bodies on a small pool of threads.

SQLAlchemy's synchronous engine with psycopg 3 was measured against its async engine with
asyncpg and with psycopg's async mode (docs/decisions.md): within the noise of each other, so
the simpler one is kept: the transaction bodies shared with SQLite run unchanged in threads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import psycopg
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from scanhook.errors import ConfigurationError, DatabaseError, ScanhookError
from scanhook.redaction import mask_url
from scanhook.store.lane import database_error

__all__ = [
    "DEFAULT_POOL_SIZE",
    "NOTIFY_CHANNEL",
    "PgRunner",
    "libpq_conninfo",
    "make_postgres_engine",
    "postgres_label",
    "postgres_url",
]

T = TypeVar("T")

#: Connections (and threads) per store: claims, records and API reads run side by side.
DEFAULT_POOL_SIZE = 5
#: The channel of the wake-up that publishes, retries, replays, releases and enabling send.
NOTIFY_CHANNEL = "scanhook_due"
_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg", "postgresql+asyncpg")


def postgres_url(url: str) -> URL:
    """``url`` (``postgresql://``, ``postgres://``, ``postgresql+psycopg://`` or
    ``postgresql+asyncpg://``) as a ``postgresql+psycopg`` URL, the driver scanhook uses."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise ConfigurationError(f"database URL {mask_url(url)!r}: not a database URL") from exc
    if parsed.drivername not in _SCHEMES:
        raise ConfigurationError(
            f"database URL {mask_url(url)!r}: expected postgresql://user@host:port/database"
        )
    if not parsed.database:
        raise ConfigurationError(f"database URL {mask_url(url)!r}: names no database")
    return parsed.set(drivername="postgresql+psycopg")


def libpq_conninfo(url: URL) -> str:
    """The URL as libpq understands it (for psycopg's own connections, e.g. LISTEN)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def postgres_label(url: URL) -> str:
    """How errors name the database: host, port and name, never the password."""
    return f"PostgreSQL database {url.host or 'localhost'}:{url.port or 5432}/{url.database}"


def make_postgres_engine(url: URL, pool_size: int = DEFAULT_POOL_SIZE) -> Engine:
    """A pooled engine; connections are recycled hourly and a dropped one is replaced on the
    next checkout after the error that revealed it."""
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_recycle=3600,
        pool_timeout=30,
        connect_args={"application_name": "scanhook", "connect_timeout": 10},
    )


class PgRunner:
    """Runs transaction bodies (sync functions of a Connection) on ``threads`` threads, each
    transaction on a pooled connection; driver errors become DatabaseError."""

    def __init__(self, engine: Engine, label: str, threads: int) -> None:
        self._engine = engine
        self._label = label
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="scanhook-pg")
        self._closed = False

    async def transaction(
        self,
        op: str,
        work: Callable[[Connection], T],
        *,
        notify: bool = False,
        durable: bool = True,
    ) -> T:
        """Run ``work`` in one transaction and commit. ``notify`` sends one ``NOTIFY`` with the
        commit; ``durable=False`` lets the commit return before its WAL is flushed (for claims:
        a claim lost in a crash only leaves its deliveries to be claimed again)."""

        def run() -> T:
            with self._engine.connect() as connection, connection.begin():
                if not durable:
                    connection.execute(text("SET LOCAL synchronous_commit = off"))
                result = work(connection)
                if notify:
                    connection.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))
                return result

        return await self.call(op, run)

    async def call(self, op: str, work: Callable[[], T]) -> T:
        """Run ``work`` on a runner thread, wrapping driver errors."""
        if self._closed:
            raise DatabaseError(f"{self._label}: {op} failed: the store is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._guarded, op, work)

    def _guarded(self, op: str, work: Callable[[], T]) -> T:
        try:
            return work()
        except ScanhookError:
            raise
        except (SQLAlchemyError, psycopg.Error, OSError) as exc:
            raise database_error(self._label, op, exc) from exc

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._executor.shutdown, True)
        self._engine.dispose()
