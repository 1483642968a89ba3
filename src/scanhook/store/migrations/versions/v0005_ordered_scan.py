"""An ordered endpoint's oldest unfinished delivery without a status index; a version of each
endpoint's configuration.

The index (endpoint_id, status, publish_seq) is replaced by (endpoint_id, publish_seq), which no
status change rewrites, and each endpoint gets ``finished_before_seq``, where the scan for its
oldest unfinished delivery starts (0 for existing endpoints: their first scan reads from the
start once, then the mark moves up). ``config_version`` counts the changes of an endpoint's
configuration, so that the engine's claims decode an endpoint's row only when it changed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("endpoints") as batch:
        batch.add_column(
            sa.Column("finished_before_seq", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("config_version", sa.BigInteger(), nullable=False, server_default="0")
        )
    op.drop_index(op.f("ix_deliveries_endpoint_id_status_publish_seq"), table_name="deliveries")
    op.create_index(
        op.f("ix_deliveries_endpoint_id_publish_seq"),
        "deliveries",
        ["endpoint_id", "publish_seq"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_deliveries_endpoint_id_publish_seq"), table_name="deliveries")
    op.create_index(
        op.f("ix_deliveries_endpoint_id_status_publish_seq"),
        "deliveries",
        ["endpoint_id", "status", "publish_seq"],
        unique=False,
    )
    with op.batch_alter_table("endpoints") as batch:
        batch.drop_column("config_version")
        batch.drop_column("finished_before_seq")
