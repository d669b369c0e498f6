"""The fact index (facts of each document version, deleted with it) and the fact counts of
ingest jobs

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "document_facts",
        sa.Column("fact_id", sa.String(length=24), nullable=False),
        sa.Column("document_id", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("page", sa.Integer(), nullable=False),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.Column("quote", sa.Text(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.document_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("fact_id"),
    )
    op.create_index("ix_document_facts_document_id", "document_facts", ["document_id"])
    op.create_index("ix_document_facts_kind", "document_facts", ["kind"])
    op.add_column("ingest_jobs", sa.Column("facts", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ingest_jobs", schema=None) as batch_op:  # SQLite rebuilds it
        batch_op.drop_column("facts")
    op.drop_index("ix_document_facts_kind", table_name="document_facts")
    op.drop_index("ix_document_facts_document_id", table_name="document_facts")
    op.drop_table("document_facts")
