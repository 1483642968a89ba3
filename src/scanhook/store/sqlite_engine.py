"""SQLAlchemy engines for a SQLite file, set up the way scanhook needs them.

Every connection runs in WAL mode with ``synchronous=FULL`` (a commit is fsync'd when it
returns), a busy timeout and foreign keys on. The driver's legacy transaction handling is
switched off: SQLAlchemy's ``begin()`` emits ``BEGIN IMMEDIATE`` on a writer engine (the write
lock is taken up front, so two writers never deadlock on a lock upgrade) and a plain ``BEGIN`` on
a reader engine (a consistent snapshot over several statements). A new database file is created
readable by its owner only (0600), and so are its ``-wal`` and ``-shm`` files, which SQLite
creates with the database file's mode.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import NullPool

from scanhook.errors import ConfigurationError
from scanhook.redaction import mask_url

__all__ = ["BUSY_TIMEOUT_MS", "create_owner_only", "make_sqlite_engine", "sqlite_path"]

BUSY_TIMEOUT_MS = 10_000
#: Page cache per connection (KiB): the hot index pages of a large deliveries table stay in memory.
CACHE_KIB = 64 * 1024


def sqlite_path(url: str) -> str:
    """The file of a ``sqlite:///path`` URL (``sqlite:////abs/path`` for an absolute path)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise ConfigurationError(f"database URL {mask_url(url)!r}: not a sqlite:/// URL")
    path = parsed.database
    if not path or path == ":memory:" or path.startswith("file:"):
        raise ConfigurationError(
            f"database URL {mask_url(url)!r}: scanhook needs a SQLite file (sqlite:///path/to/scanhook.db);"
            " in-memory databases are not supported"
        )
    return path


def create_owner_only(path: str | Path) -> None:
    """Create ``path`` empty, readable and writable by its owner only (0600), unless it
    exists (an existing file keeps its mode)."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def make_sqlite_engine(path: str, *, writer: bool) -> Engine:
    """An engine on the file ``path``; ``writer`` makes its transactions ``BEGIN IMMEDIATE``."""
    engine = create_engine(
        f"sqlite:///{path}",
        poolclass=NullPool,
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
    )
    begin_sql = "BEGIN IMMEDIATE" if writer else "BEGIN"

    @event.listens_for(engine, "do_connect")
    def _create_owner_only(*_args: Any) -> None:
        # SQLite creates the -wal and -shm files with the mode of the database file.
        create_owner_only(path)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql(begin_sql)

    return engine
