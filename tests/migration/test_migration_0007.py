"""Migration 0007 on a database made at 0006 with endpoints in it: their signing secrets and
credentials end up sealed (the raw database holds none of them), the store reads them back
unchanged, a database with secrets cannot be upgraded without a key (and stays at 0006), and the
downgrade gives the plaintext back."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from scanhook.errors import ConfigurationError
from scanhook.store import open_store
from scanhook.store.migrate import (
    KEYS_ATTRIBUTE,
    alembic_config,
    current_revision,
    postgres_engine,
    upgrade_connection,
)
from scanhook.store.secretbox import KeyRing, generate_key
from scanhook.store.sqlite_engine import make_sqlite_engine

POSTGRES_URL = os.environ.get("SCANHOOK_TEST_POSTGRES_URL")
SIGNING = "whsec_" + "bWlncmF0aW9uLXNpZ25pbmctc2VjcmV0"
OLD_SIGNING = "whsec_" + "b2xkLW1pZ3JhdGlvbi1zZWNyZXQtMQ=="
PASSWORD = "migration-password-Kx8"
AUTH = {"type": "basic", "username": "hook", "password": PASSWORD}
INSERT = (
    "INSERT INTO endpoints (id, url, description, event_types, secrets, enabled, headers,"
    " legacy_headers, max_in_flight, ordered, format, format_options, auth, created_at,"
    " updated_at, consecutive_failures) VALUES (:id, 'https://r.example/h', '', '[\"*\"]',"
    " :secrets, true, '{\"X-Team\": \"sec\"}', false, 10, false, 'raw', '{}', :auth, 0, 0, 0)"
)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    """A database URL and an engine on it."""
    if request.param == "sqlite":
        path = str(tmp_path / "old.db")
        yield f"sqlite:///{path}", make_sqlite_engine(path, writer=True)
        return
    if not POSTGRES_URL:
        pytest.skip("SCANHOOK_TEST_POSTGRES_URL is not set: PostgreSQL migration tests skipped")
    name = f"scanhook_m7_{uuid.uuid4().hex[:12]}"
    admin = postgres_engine(POSTGRES_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    engine = postgres_engine(url)
    try:
        yield url, engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def at_0006_with_endpoints(engine: Engine) -> None:
    config = alembic_config()
    with engine.connect() as connection, connection.begin():
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")
        secrets = [
            {"value": SIGNING, "expires_at": None},
            {"value": OLD_SIGNING, "expires_at": 9e9},
        ]
        connection.execute(
            text(INSERT), {"id": "ep_1", "secrets": json.dumps(secrets), "auth": json.dumps(AUTH)}
        )
        connection.execute(text(INSERT), {"id": "ep_2", "secrets": "[]", "auth": None})


def endpoint_rows(engine: Engine) -> str:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM endpoints ORDER BY id")).all()
    return repr([tuple(row) for row in rows])


def upgrade(engine: Engine, keys: KeyRing | None) -> None:
    with engine.connect() as connection, connection.begin():
        upgrade_connection(connection, keys)


async def test_0007_seals_existing_secrets(database: tuple[str, Engine]) -> None:
    url, engine = database
    at_0006_with_endpoints(engine)
    assert PASSWORD in endpoint_rows(engine)  # the test can fail: 0006 holds them in clear
    key = generate_key()

    with pytest.raises(ConfigurationError, match="needs the key: set SCANHOOK_SECRET_KEY"):
        upgrade(engine, None)
    with engine.connect() as connection:
        assert current_revision(connection) == "0006"  # nothing of 0007 stayed

    upgrade(engine, KeyRing.parse(key))
    rows = endpoint_rows(engine)
    for secret in (SIGNING, OLD_SIGNING, PASSWORD, SIGNING.removeprefix("whsec_")):
        assert secret not in rows
    assert "X-Team" in rows
    assert "basic" in rows

    store = open_store(url, secret_key=key)
    try:
        sealed = await store.get_endpoint("ep_1")
        assert [(s.value, s.expires_at) for s in sealed.secrets] == [
            (SIGNING, None),
            (OLD_SIGNING, 9e9),
        ]
        assert sealed.auth == AUTH
        assert sealed.headers == {"X-Team": "sec"}
        assert sealed.secret_headers == ()
        plain = await store.get_endpoint("ep_2")
        assert (plain.secrets, plain.auth) == ((), None)
    finally:
        await store.close()

    config = alembic_config()
    with engine.connect() as connection, connection.begin():
        config.attributes["connection"] = connection
        config.attributes[KEYS_ATTRIBUTE] = KeyRing.parse(key)
        command.downgrade(config, "0006")
    rows = endpoint_rows(engine)
    assert SIGNING in rows
    assert OLD_SIGNING in rows
    assert PASSWORD in rows


def test_an_empty_database_migrates_without_a_key(database: tuple[str, Engine]) -> None:
    _, engine = database
    upgrade(engine, None)
    with engine.connect() as connection:
        assert current_revision(connection) == "0007"
