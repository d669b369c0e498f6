"""Ingest job heartbeats (a job of a dead process is failed) and document aliases

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "ingest_jobs", sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("documents", sa.Column("aliases", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:  # SQLite rebuilds it
        batch_op.drop_column("aliases")
    with op.batch_alter_table("ingest_jobs", schema=None) as batch_op:
        batch_op.drop_column("heartbeat_at")
