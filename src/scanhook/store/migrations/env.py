"""Alembic's environment: migrates the connection that :mod:`scanhook.store.migrate` hands over.

There is no ``alembic.ini``: the configuration is built in code, and the connection (already
holding the upgrade lock) arrives in ``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from scanhook.store.tables import metadata


def _run() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError(
            "scanhook migrations run on a connection given in config.attributes['connection'];"
            " use scanhook.store.migrate"
        )
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite alters tables by copying them; batch mode does that for later revisions.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


_run()
