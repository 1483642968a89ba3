"""Remote ticket references and attention notes of deliveries.

Revision ID: 0004
Revises: 0003
Create Date: 2026-01-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "remote_refs",
        sa.Column("endpoint_id", sa.String(length=64), nullable=False),
        sa.Column("correlation_key", sa.String(length=255), nullable=False),
        sa.Column("remote_id", sa.String(length=255), nullable=False),
        sa.Column("delivery_id", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("endpoint_id", "correlation_key", name=op.f("pk_remote_refs")),
    )
    op.create_table(
        "delivery_notes",
        sa.Column("delivery_id", sa.String(length=64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("attention", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("delivery_id", "number", name=op.f("pk_delivery_notes")),
    )


def downgrade() -> None:
    op.drop_table("delivery_notes")
    op.drop_table("remote_refs")
