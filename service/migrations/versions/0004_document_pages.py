"""Exact page texts, page languages and OCR confidence of ingested documents

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("documents", sa.Column("language", sa.String(length=8), nullable=True))
    op.add_column(
        "documents", sa.Column("ocr_pages", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column("documents", sa.Column("ocr_confidence", sa.Float(), nullable=True))
    op.create_table(
        "document_pages",
        sa.Column("document_id", sa.String(length=16), nullable=False),
        sa.Column("page", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("ocr_confidence", sa.Float(), nullable=True),
        sa.Column("normalised_length", sa.Integer(), nullable=False),
        sa.Column("source_map", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("document_id", "page"),
    )


def downgrade() -> None:
    op.drop_table("document_pages")
    with op.batch_alter_table("documents", schema=None) as batch_op:  # SQLite rebuilds it
        batch_op.drop_column("ocr_confidence")
        batch_op.drop_column("ocr_pages")
        batch_op.drop_column("language")
