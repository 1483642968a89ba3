"""Live workers, and the circuit's state kept apart from the failure streak.

``workers``: one row per running worker (its id is what ``deliveries.leased_by`` holds), with a
heartbeat, so that the deliveries of a worker that died are taken back at once instead of when
their leases run out. On PostgreSQL a worker also holds a session advisory lock numbered
``lock_key``, which the server drops the moment the worker's connection dies.

``endpoints.circuit_opened_at``, ``circuit_failed_probes`` and ``circuit_reason``: when the
circuit opened (attempts started before it never lengthen it), how many probes have failed since
(each failed probe moves the pause one step along the retry schedule), and why it opened.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("host", sa.Text(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.Double(), nullable=False),
        sa.Column("heartbeat_at", sa.Double(), nullable=False),
        sa.Column("lock_key", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workers")),
    )
    with op.batch_alter_table("endpoints") as batch:
        batch.add_column(sa.Column("circuit_opened_at", sa.Double(), nullable=True))
        batch.add_column(
            sa.Column("circuit_failed_probes", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("circuit_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("endpoints") as batch:
        batch.drop_column("circuit_reason")
        batch.drop_column("circuit_failed_probes")
        batch.drop_column("circuit_opened_at")
    op.drop_table("workers")
