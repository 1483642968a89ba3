"""Running the Alembic migrations in code, under a lock so concurrent starts are safe.

SQLite: an exclusive ``flock`` on ``<database>.lock`` beside the file, then one ``BEGIN
IMMEDIATE`` transaction. PostgreSQL: ``pg_advisory_xact_lock`` inside the migrating transaction
(PostgreSQL's DDL is transactional, so a second starter waits and then finds the schema current).

A SQLite file already at the newest revision is left alone without loading Alembic (which, with
the migration scripts, costs a command-line start a tenth of a second): the newest revision is
the highest number among the scripts' names (``v0007_….py`` is ``0007``), checked against
Alembic's own history by a test.
"""

from __future__ import annotations

import fcntl
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import NullPool

from scanhook.store.secretbox import KeyRing
from scanhook.store.sqlite_engine import create_owner_only

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "KEYS_ATTRIBUTE",
    "POSTGRES_LOCK_KEY",
    "alembic_config",
    "current_revision",
    "head_revision",
    "newest_script_revision",
    "postgres_engine",
    "upgrade_connection",
    "upgrade_postgresql",
    "upgrade_sqlite",
]

#: The advisory lock id that serialises migrations on PostgreSQL ("scanhook" in ASCII, 63 bits).
POSTGRES_LOCK_KEY = 0x7363616E686F6F6B
SCRIPT_LOCATION = "scanhook.store:migrations"
_VERSIONS = Path(__file__).parent / "migrations" / "versions"
_SCRIPT_NAME = re.compile(r"v(\d{4})_\w+\.py")


def alembic_config() -> Config:
    """Alembic's configuration, without an ini file."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    return config


def head_revision() -> str:
    """The newest revision of the history."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise RuntimeError("scanhook's migration history is empty")
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


#: The key of ``config.attributes`` that holds the :class:`~scanhook.store.secretbox.KeyRing`
#: migrations seal endpoint secrets with (None: no key given; a migration that needs one says so).
KEYS_ATTRIBUTE = "secret_keys"


def upgrade_connection(connection: Connection, keys: KeyRing | None = None) -> None:
    """Upgrade to head on ``connection``, inside its (caller-owned) transaction; ``keys`` seal
    the endpoint secrets that a migration moves into sealed form."""
    from alembic import command

    config = alembic_config()
    config.attributes["connection"] = connection
    config.attributes[KEYS_ATTRIBUTE] = keys
    command.upgrade(config, "head")


def upgrade_sqlite(engine: Engine, db_path: str, keys: KeyRing | None = None) -> None:
    """Upgrade the SQLite file ``db_path`` (``engine`` is a writer engine on it) under a file
    lock beside it; nothing to do (and no lock) when it is at the newest revision already."""
    if _sqlite_revision(engine) == newest_script_revision():
        return
    lock_path = Path(f"{db_path}.lock")
    create_owner_only(lock_path)
    with lock_path.open("a") as lock_file:
        fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX)
        try:
            with engine.connect() as connection, connection.begin():
                upgrade_connection(connection, keys)
        finally:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)


def newest_script_revision() -> str:
    """The newest revision by the migration scripts' names, without loading Alembic."""
    numbers = [
        match.group(1) for p in _VERSIONS.iterdir() if (match := _SCRIPT_NAME.fullmatch(p.name))
    ]
    return max(numbers)


def _sqlite_revision(engine: Engine) -> str | None:
    """The revision a SQLite file is at; None when it has none yet (new, or never migrated)."""
    with engine.connect() as connection:
        if (
            connection.execute(
                text("SELECT 1 FROM sqlite_master WHERE name = 'alembic_version'")
            ).first()
            is None
        ):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


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
