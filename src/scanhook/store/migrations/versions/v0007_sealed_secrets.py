"""Endpoint secrets sealed at rest, and ``endpoints.secret_headers``.

Every endpoint's signing secrets (each ``value``) and its ``auth`` (the whole object but its
``type``, as ``{"type": …, "sealed": …}``) are sealed with AES-256-GCM under the first key of the
store's key ring (``SCANHOOK_SECRET_KEY``, or the key file beside a SQLite database), each bound
to its endpoint and field (see :mod:`scanhook.store.secretbox`). ``secret_headers`` lists the
headers whose values are credentials (sealed likewise); existing endpoints have none.

The key arrives in ``config.attributes["secret_keys"]`` (:func:`scanhook.store.migrate.
upgrade_connection`). A database with endpoint secrets cannot be upgraded without one; one
without can. The downgrade opens everything again (with the same key) and drops the column.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

from scanhook.errors import ConfigurationError
from scanhook.store.secretbox import KEY_SETTING, KeyRing

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

_SEALED = "enc:v1:"

_endpoints = sa.table(
    "endpoints",
    sa.column("id", sa.String),
    sa.column("secrets", sa.JSON),
    sa.column("auth", sa.JSON),
    sa.column("headers", sa.JSON),
    sa.column("secret_headers", sa.JSON),
)


def _keys() -> KeyRing:
    config = op.get_context().config
    keys = config.attributes.get("secret_keys") if config is not None else None
    if not isinstance(keys, KeyRing):
        raise ConfigurationError(
            f"migration 0007 encrypts the endpoints' secrets and needs the key: set {KEY_SETTING}"
            " (make one with `scanhook secrets generate-key`)"
        )
    return keys


def _rows() -> list[Any]:
    return list(op.get_bind().execute(sa.select(_endpoints)))


def upgrade() -> None:
    with op.batch_alter_table("endpoints") as batch:
        batch.add_column(
            sa.Column("secret_headers", sa.JSON(), nullable=False, server_default="[]")
        )
    bind = op.get_bind()
    for row in _rows():
        if not row.secrets and row.auth is None:
            continue  # nothing to seal: no key needed
        keys = _keys()
        where = f"endpoint {row.id} "
        secrets = [
            {
                **item,
                "value": item["value"]
                if str(item["value"]).startswith(_SEALED)
                else keys.seal(item["value"], where + "secrets"),
            }
            for item in row.secrets or ()
        ]
        auth = row.auth
        if auth is not None and "sealed" not in auth:
            auth = {"type": auth.get("type"), "sealed": keys.seal(json.dumps(auth), where + "auth")}
        bind.execute(
            _endpoints.update().where(_endpoints.c.id == row.id).values(secrets=secrets, auth=auth)
        )


def downgrade() -> None:
    bind = op.get_bind()
    for row in _rows():
        if not row.secrets and row.auth is None and not row.secret_headers:
            continue
        keys = _keys()
        where = f"endpoint {row.id} "
        secrets = [
            {**item, "value": keys.open(item["value"], where + "secrets")}
            for item in row.secrets or ()
        ]
        auth = row.auth
        if auth is not None and "sealed" in auth:
            auth = json.loads(keys.open(auth["sealed"], where + "auth"))
        secret = {name.lower() for name in row.secret_headers or ()}
        headers = {
            name: keys.open(value, f"{where}header {name}") if name.lower() in secret else value
            for name, value in (row.headers or {}).items()
        }
        bind.execute(
            _endpoints.update()
            .where(_endpoints.c.id == row.id)
            .values(secrets=secrets, auth=auth, headers=headers)
        )
    with op.batch_alter_table("endpoints") as batch:
        batch.drop_column("secret_headers")
