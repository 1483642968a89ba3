"""The migration history builds the schema of scanhook.store.tables, safely and repeatably."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import make_url

from scanhook.store.migrate import (
    alembic_config,
    current_revision,
    head_revision,
    newest_script_revision,
    postgres_engine,
    upgrade_postgresql,
    upgrade_sqlite,
)
from scanhook.store.sqlite_engine import make_sqlite_engine
from scanhook.store.tables import metadata

POSTGRES_URL = os.environ.get("SCANHOOK_TEST_POSTGRES_URL")


def schema_diff(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def test_head_is_0007_and_history_is_linear() -> None:
    assert head_revision() == "0007"


# -- SQLite ------------------------------------------------------------------------------------
def test_sqlite_upgrade_gives_exactly_the_metadata_schema(tmp_path: Path) -> None:
    path = str(tmp_path / "a.db")
    engine = make_sqlite_engine(path, writer=True)
    upgrade_sqlite(engine, path)
    assert schema_diff(engine) == []
    with engine.connect() as connection:
        assert current_revision(connection) == head_revision()
        tables = set(inspect(connection).get_table_names())
        journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
    assert {t.name for t in metadata.sorted_tables} <= tables
    assert journal == "wal"
    # The file lock lives beside the database.
    assert (tmp_path / "a.db.lock").exists()


def test_a_schema_that_differs_is_noticed(tmp_path: Path) -> None:
    """The comparison above can fail: a database missing an index shows a difference."""
    path = str(tmp_path / "a.db")
    engine = make_sqlite_engine(path, writer=True)
    upgrade_sqlite(engine, path)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP INDEX ix_deliveries_endpoint_id_status_next_attempt_at")
    diff = schema_diff(engine)
    assert len(diff) == 1
    assert "ix_deliveries_endpoint_id_status_next_attempt_at" in str(diff[0])


def test_sqlite_upgrade_is_idempotent_and_keeps_data(tmp_path: Path) -> None:
    path = str(tmp_path / "a.db")
    engine = make_sqlite_engine(path, writer=True)
    upgrade_sqlite(engine, path)
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE sequences SET value = 41")
    upgrade_sqlite(engine, path)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT value FROM sequences").scalar() == 41
        assert current_revision(connection) == head_revision()
    assert schema_diff(engine) == []


def test_0005_keeps_endpoints_and_deliveries_and_starts_the_ordered_scan_at_0(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "a.db")
    engine = make_sqlite_engine(path, writer=True)
    config = alembic_config()
    with engine.connect() as connection, connection.begin():
        config.attributes["connection"] = connection
        command.upgrade(config, "0004")
        connection.exec_driver_sql(
            "INSERT INTO endpoints (id, url, description, event_types, secrets, enabled, headers,"
            " legacy_headers, max_in_flight, ordered, format, format_options, created_at,"
            " updated_at, consecutive_failures) VALUES ('ep_1', 'https://r.example/h', '',"
            " '[\"*\"]', '[]', 1, '{}', 0, 10, 1, 'raw', '{}', 0, 0, 0)"
        )
        connection.exec_driver_sql(
            "INSERT INTO events (id, type, body, created_at) VALUES ('evt_1', 't', x'7b7d', 0)"
        )
        connection.exec_driver_sql(
            "INSERT INTO deliveries (id, event_id, endpoint_id, event_type, status, attempts,"
            " created_at, updated_at, publish_seq) VALUES"
            " ('dlv_1', 'evt_1', 'ep_1', 't', 'succeeded', 1, 0, 0, 1),"
            " ('dlv_2', 'evt_1', 'ep_1', 't', 'pending', 0, 0, 0, 2)"
        )
    upgrade_sqlite(engine, path)
    assert schema_diff(engine) == []
    with engine.connect() as connection:
        marks = connection.exec_driver_sql("SELECT id, finished_before_seq FROM endpoints").all()
        kept = connection.exec_driver_sql("SELECT id, status FROM deliveries ORDER BY id").all()
    assert [tuple(r) for r in marks] == [("ep_1", 0)]
    assert [tuple(r) for r in kept] == [("dlv_1", "succeeded"), ("dlv_2", "pending")]


def test_concurrent_sqlite_upgrades_in_threads_both_succeed(tmp_path: Path) -> None:
    path = str(tmp_path / "a.db")
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def run() -> None:
        try:
            barrier.wait()
            upgrade_sqlite(make_sqlite_engine(path, writer=True), path)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert schema_diff(make_sqlite_engine(path, writer=False)) == []


def test_concurrent_sqlite_upgrades_in_processes_both_succeed(tmp_path: Path) -> None:
    path = str(tmp_path / "a.db")
    code = (
        "import sys\n"
        "from scanhook.store.migrate import upgrade_sqlite\n"
        "from scanhook.store.sqlite_engine import make_sqlite_engine\n"
        "upgrade_sqlite(make_sqlite_engine(sys.argv[1], writer=True), sys.argv[1])\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, path], stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    results = [(p.communicate(timeout=60)[1], p.returncode) for p in procs]
    assert results == [(b"", 0), (b"", 0)]
    engine = make_sqlite_engine(path, writer=False)
    assert schema_diff(engine) == []
    with engine.connect() as connection:
        # The seeded sequence row exists once: the second upgrade did not run 0001 again.
        assert connection.exec_driver_sql("SELECT count(*) FROM sequences").scalar() == 1


# -- PostgreSQL --------------------------------------------------------------------------------
@pytest.fixture
def postgres_db() -> Iterator[str]:
    """A fresh database on the test server, dropped afterwards."""
    if not POSTGRES_URL:
        pytest.skip("SCANHOOK_TEST_POSTGRES_URL is not set: PostgreSQL migration tests skipped")
    name = f"scanhook_test_{uuid.uuid4().hex[:12]}"
    admin = postgres_engine(POSTGRES_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
def test_postgres_upgrade_gives_the_metadata_schema_and_is_idempotent(postgres_db: str) -> None:
    upgrade_postgresql(postgres_db)
    upgrade_postgresql(postgres_db)
    engine = postgres_engine(postgres_db)
    try:
        assert schema_diff(engine) == []
        with engine.connect() as connection:
            assert current_revision(connection) == head_revision()
            assert connection.execute(text("SELECT count(*) FROM sequences")).scalar() == 1
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_concurrent_postgres_upgrades_both_succeed(postgres_db: str) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def run() -> None:
        try:
            barrier.wait()
            upgrade_postgresql(postgres_db)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    engine = postgres_engine(postgres_db)
    try:
        assert schema_diff(engine) == []
    finally:
        engine.dispose()


def test_the_newest_revision_by_script_names_is_alembics_head() -> None:
    # A current SQLite file is left alone without loading Alembic, by the scripts' names.
    assert newest_script_revision() == head_revision()
