"""Running the Alembic migrations in code, under a lock so concurrent starts are safe.

SQLite: an exclusive ``flock`` on ``<database>.lock`` beside the file, then one ``BEGIN
IMMEDIATE`` transaction. PostgreSQL: ``pg_advisory_xact_lock`` inside the migrating transaction
(PostgreSQL's DDL is transactional, so a second starter waits and then finds the schema current).
"""

from __future__ import annotations

import fcntl
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import NullPool

from scanhook.store.secretbox import KeyRing
from scanhook.store.sqlite_engine import create_owner_only

__all__ = [
    "KEYS_ATTRIBUTE",
    "POSTGRES_LOCK_KEY",
    "alembic_config",
    "current_revision",
    "head_revision",
    "postgres_engine",
    "upgrade_connection",
    "upgrade_postgresql",
    "upgrade_sqlite",
]

#: The advisory lock id that serialises migrations on PostgreSQL ("scanhook" in ASCII, 63 bits).
POSTGRES_LOCK_KEY = 0x7363616E686F6F6B
SCRIPT_LOCATION = "scanhook.store:migrations"


def alembic_config() -> Config:
    """Alembic's configuration, without an ini file."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    return config


def head_revision() -> str:
    """The newest revision of the history."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise RuntimeError("scanhook's migration history is empty")
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at (None for an empty database)."""
    return MigrationContext.configure(connection).get_current_revision()


#: The key of ``config.attributes`` that holds the :class:`~scanhook.store.secretbox.KeyRing`
#: migrations seal endpoint secrets with (None: no key given; a migration that needs one says so).
KEYS_ATTRIBUTE = "secret_keys"


def upgrade_connection(connection: Connection, keys: KeyRing | None = None) -> None:
    """Upgrade to head on ``connection``, inside its (caller-owned) transaction; ``keys`` seal
    the endpoint secrets that a migration moves into sealed form."""
    config = alembic_config()
    config.attributes["connection"] = connection
    config.attributes[KEYS_ATTRIBUTE] = keys
    command.upgrade(config, "head")


def upgrade_sqlite(engine: Engine, db_path: str, keys: KeyRing | None = None) -> None:
    """Upgrade the SQLite file ``db_path`` (``engine`` is a writer engine on it) under a file
    lock beside it."""
    lock_path = Path(f"{db_path}.lock")
    create_owner_only(lock_path)
    with lock_path.open("a") as lock_file:
        fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX)
        try:
            with engine.connect() as connection, connection.begin():
                upgrade_connection(connection, keys)
        finally:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)


def postgres_engine(url: str) -> Engine:
    """An engine on a ``postgresql://`` URL through psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, poolclass=NullPool)


def upgrade_postgresql(url: str, keys: KeyRing | None = None) -> None:
    """Upgrade the PostgreSQL database at ``url`` under an advisory lock."""
    engine = postgres_engine(url)
    try:
        with engine.connect() as connection, connection.begin():
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": POSTGRES_LOCK_KEY}
            )
            upgrade_connection(connection, keys)
    finally:
        engine.dispose()
