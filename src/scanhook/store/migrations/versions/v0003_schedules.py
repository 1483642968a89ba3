"""Scan schedules and their notice log.

Revision ID: 0003
Revises: 0002
Create Date: 2026-01-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("link", sa.Text(), nullable=False),
        sa.Column("recurrence", sa.Text(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("leads", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.Column("deleted_at", sa.Double(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("notices_through", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedules")),
    )
    op.create_table(
        "schedule_notices",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("schedule_id", sa.String(length=64), nullable=False),
        sa.Column("occurrence", sa.Double(), nullable=False),
        sa.Column("lead", sa.String(length=32), nullable=False),
        sa.Column("lead_seconds", sa.Integer(), nullable=False),
        sa.Column("send_at", sa.Double(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_schedule_notices")),
    )
    op.create_index(
        op.f("ix_schedule_notices_schedule_id_send_at"),
        "schedule_notices",
        ["schedule_id", "send_at"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_schedule_notices_schedule_id_send_at"), table_name="schedule_notices")
    op.drop_table("schedule_notices")
    op.drop_table("schedules")
