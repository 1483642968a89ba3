"""PostgreSQL: driver errors come out as DatabaseError naming the database (never its
password) with the driver's error as cause; the migrations build exactly what create_all does."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from pgkit import create_database, drop_database
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from storekit import new_event

from scanhook.errors import DatabaseError
from scanhook.store import open_store
from scanhook.store.migrate import upgrade_postgresql
from scanhook.store.tables import metadata

pytestmark = pytest.mark.postgres


@pytest.fixture
def empty_db() -> Iterator[str]:
    url = create_database("scanhook_e")
    try:
        yield url
    finally:
        drop_database(url)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_an_unreachable_server_raises_database_error_without_the_password() -> None:
    port = _closed_port()
    store = open_store(f"postgresql://scanhook:s3cret@127.0.0.1:{port}/nowhere")
    try:
        with pytest.raises(DatabaseError, match=f"127.0.0.1:{port}/nowhere: ping failed") as info:
            await store.ping()
        assert "s3cret" not in str(info.value)
        assert info.value.__cause__ is not None
    finally:
        await store.close()


async def test_missing_tables_raise_database_error(empty_db: str) -> None:
    store = open_store(empty_db)  # never upgraded
    try:
        with pytest.raises(DatabaseError, match='relation "endpoints" does not exist'):
            await store.publish([new_event()])
        await store.upgrade()  # the pool recovers from the failed transaction
        assert (await store.publish([new_event()]))[0].deliveries == 0
    finally:
        await store.close()


async def test_a_closed_store_refuses_work(empty_db: str) -> None:
    store = open_store(empty_db)
    await store.close()
    await store.close()
    with pytest.raises(DatabaseError, match="closed"):
        await store.ping()


def _schema(url: str) -> dict[str, Any]:
    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            insp = inspect(connection)
            return {
                table: {
                    "columns": [
                        (c["name"], str(c["type"]), c["nullable"], c.get("default"))
                        for c in insp.get_columns(table)
                    ],
                    "pk": insp.get_pk_constraint(table),
                    "fks": sorted(str(fk) for fk in insp.get_foreign_keys(table)),
                    "indexes": sorted(str(ix) for ix in insp.get_indexes(table)),
                    "uniques": sorted(str(u) for u in insp.get_unique_constraints(table)),
                }
                for table in sorted(insp.get_table_names())
                if table != "alembic_version"
            }
    finally:
        engine.dispose()


def test_migrations_build_what_create_all_builds() -> None:
    migrated, created = create_database("scanhook_m"), create_database("scanhook_c")
    try:
        upgrade_postgresql(migrated)
        engine = create_engine(
            make_url(created).set(drivername="postgresql+psycopg"), poolclass=NullPool
        )
        try:
            metadata.create_all(engine)
        finally:
            engine.dispose()
        expected = _schema(created)
        assert {t.name for t in metadata.sorted_tables} == set(expected)
        assert _schema(migrated) == expected
    finally:
        drop_database(migrated)
        drop_database(created)
