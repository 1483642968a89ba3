"""Driver errors become DatabaseError, and a full disk becomes StorageFull, whichever driver
says so: SQLite's SQLITE_FULL (provoked for real with ``max_page_count``), PostgreSQL's
disk_full, or ENOSPC from the operating system."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection

from scanhook.errors import DatabaseError, StorageFull
from scanhook.store.lane import Lane, database_error
from scanhook.store.sqlite_engine import make_sqlite_engine


async def test_a_full_sqlite_database_raises_storage_full_naming_the_operation(
    tmp_path: Path,
) -> None:
    engine = make_sqlite_engine(str(tmp_path / "full.db"), writer=True)
    lane = Lane(engine, "test-lane", "SQLite database full.db")

    def fill(connection: Connection) -> None:
        connection.execute(text("CREATE TABLE IF NOT EXISTS t (b BLOB)"))
        pages = connection.execute(text("PRAGMA page_count")).scalar()
        connection.execute(text(f"PRAGMA max_page_count = {int(pages or 0) + 2}"))
        connection.execute(text("INSERT INTO t VALUES (zeroblob(1000000))"))

    try:
        with pytest.raises(StorageFull) as caught:
            await lane.transaction("publish", fill)
    finally:
        await lane.close()
        engine.dispose()
    message = "SQLite database full.db: publish failed: database or disk is full"
    assert caught.value.message == message
    assert isinstance(caught.value.__cause__, Exception)


def test_postgres_disk_full_and_enospc_are_storage_full_other_errors_are_not() -> None:
    assert isinstance(database_error("db", "publish", psycopg.errors.DiskFull("no")), StorageFull)
    enospc = OSError(errno.ENOSPC, "No space left on device")
    assert isinstance(database_error("db", "publish", enospc), StorageFull)
    for other in (
        psycopg.OperationalError("connection refused"),
        sqlite3.OperationalError("database is locked"),
        OSError(errno.EIO, "Input/output error"),
    ):
        error = database_error("db", "publish", other)
        assert type(error) is DatabaseError
        assert error.message.startswith("db: publish failed: ")
