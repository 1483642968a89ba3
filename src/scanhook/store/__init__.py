"""scanhook's storage: the :class:`Store` seam, its records, and :func:`open_store`.

``open_store("sqlite:///path/scanhook.db")`` gives the embedded backend; call
``await store.upgrade()`` before use to bring the schema to the newest migration.
"""

from __future__ import annotations

import os

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from scanhook.errors import ConfigurationError
from scanhook.redaction import mask_url
from scanhook.store.base import Store
from scanhook.store.records import (
    DELIVERY_STATUSES,
    ApiToken,
    AttemptOutcome,
    AttemptRecord,
    ClaimedDelivery,
    DeliveryRecord,
    DeliveryStatus,
    Endpoint,
    EndpointSecret,
    EventRecord,
    NewEvent,
    PublishResult,
    StorePolicy,
)
from scanhook.store.secretbox import KEY_SETTING

__all__ = [
    "DELIVERY_STATUSES",
    "ApiToken",
    "AttemptOutcome",
    "AttemptRecord",
    "ClaimedDelivery",
    "DeliveryRecord",
    "DeliveryStatus",
    "Endpoint",
    "EndpointSecret",
    "EventRecord",
    "NewEvent",
    "PublishResult",
    "Store",
    "StorePolicy",
    "open_store",
]


def open_store(
    url: str, policy: StorePolicy | None = None, *, secret_key: str | None = None
) -> Store:
    """The store for the database ``url``, chosen by its scheme (no I/O happens yet).

    ``secret_key`` seals endpoint secrets at rest: one key, or several separated by commas
    during a key rotation (the first seals, each opens); see ``scanhook secrets generate-key``.
    None takes ``SCANHOOK_SECRET_KEY`` from the environment; without it a SQLite database uses
    (and makes, on first use) the key file ``<database>.key`` beside it, readable by its owner
    only. PostgreSQL requires a key.

    ``sqlite:///relative/path`` or ``sqlite:////absolute/path``: the embedded SQLite backend.
    ``postgresql://user:password@host:port/database`` (also ``postgres://``,
    ``postgresql+psycopg://``, ``postgresql+asyncpg://``): the PostgreSQL backend, for several
    API and worker processes sharing one database (it connects through psycopg 3 whatever the
    URL names).
    """
    if secret_key is None:
        secret_key = os.environ.get(KEY_SETTING) or None
    try:
        backend = make_url(url).get_backend_name()
    except (ArgumentError, ValueError) as exc:
        raise ConfigurationError(
            f"database URL {mask_url(url)!r}: not a database URL"
            " (expected sqlite:///path or postgresql://user@host/database)"
        ) from exc
    if backend == "sqlite":
        from scanhook.store.sqlite import SqliteStore

        return SqliteStore(url, policy, secret_key=secret_key)
    if backend in ("postgresql", "postgres"):
        from scanhook.store.postgres import PostgresStore

        return PostgresStore(url, policy, secret_key=secret_key)
    raise ConfigurationError(
        f"database URL {mask_url(url)!r}: unsupported database {backend!r}"
        " (expected sqlite:///path or postgresql://user@host/database)"
    )
