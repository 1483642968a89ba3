"""PostgreSQL helpers for the tests (imported by name: the test folders are not packages).

Databases are created on the server of ``SCANHOOK_TEST_POSTGRES_URL`` with unique names and
dropped afterwards (``WITH (FORCE)``), so parallel runs never collide.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from scanhook.store.migrate import upgrade_postgresql

ENV = "SCANHOOK_TEST_POSTGRES_URL"
SKIP_REASON = f"{ENV} is not set: the PostgreSQL half of this test is skipped (.ci/run sets it)"


def server_url() -> str:
    """The test server's URL, or skip the test."""
    url = os.environ.get(ENV)
    if not url:
        pytest.skip(SKIP_REASON)
    return url


def _psycopg(url: str) -> str:
    return make_url(url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def create_database(prefix: str = "scanhook_t") -> str:
    """A new empty database; its URL."""
    base = server_url()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(_psycopg(base), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return make_url(base).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    admin = create_engine(_psycopg(server_url()), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            name = make_url(url).database
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def module_database(module: str) -> Iterator[str]:
    """A migrated database for one test module, dropped afterwards."""
    url = create_database()
    try:
        upgrade_postgresql(url)
        yield url
    finally:
        drop_database(url)


def sql(url: str, statement: str, params: dict[str, Any] | None = None) -> list[Any]:
    """Run one statement in its own transaction; its rows (empty for a statement without)."""
    engine = create_engine(_psycopg(url), poolclass=NullPool)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(statement), params or {})
            return list(result.all()) if result.returns_rows else []
    finally:
        engine.dispose()


def emptied(url: str) -> None:
    """Every table of the database emptied (the migrations' bookkeeping and the seeded
    sequence rows kept, the sequences reset to 0)."""
    engine = create_engine(_psycopg(url), poolclass=NullPool)
    try:
        with engine.begin() as connection:
            tables = [
                t
                for t in inspect(connection).get_table_names()
                if t not in ("alembic_version", "sequences")
            ]
            if tables:
                connection.execute(text(f"TRUNCATE {', '.join(tables)}"))
            connection.execute(text("UPDATE sequences SET value = 0"))
    finally:
        engine.dispose()


def both_backends(use_url: Callable[[str | None], None]) -> tuple[Any, Any]:
    """The two fixtures that run every test of a folder twice, on a SQLite file and on a
    PostgreSQL database: ``postgres_module_url`` (a migrated database per test module) and the
    autouse ``database`` (``"sqlite"``, or the emptied PostgreSQL URL, handed to ``use_url``
    for the test and ``None`` after it). Assign both in the folder's conftest."""

    @pytest.fixture(scope="module")
    def postgres_module_url(request: pytest.FixtureRequest) -> Iterator[str]:
        """A migrated PostgreSQL database of this test module."""
        yield from module_database(request.module.__name__)

    @pytest.fixture(params=["sqlite", "postgresql"], autouse=True)
    def database(request: pytest.FixtureRequest) -> Iterator[str]:
        """The backend of this run of the test: ``sqlite``, or the PostgreSQL URL."""
        if request.param == "sqlite":
            yield "sqlite"
            return
        url = str(request.getfixturevalue("postgres_module_url"))
        emptied(url)
        use_url(url)
        try:
            yield url
        finally:
            use_url(None)

    return postgres_module_url, database
