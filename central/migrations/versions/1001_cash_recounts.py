"""cash: the office's corrections of a count, kept beside the count they replace

Revision ID: 1001_cash_recounts
Revises: 1000_cash_collections
Create Date: 2026-12-07 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import central.db.types

revision: str = "1001_cash_recounts"
down_revision: str | None = "1000_cash_collections"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cash_recounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("previous_counts", sa.Text(), nullable=True),
        sa.Column("previous_total", sa.BigInteger(), nullable=False),
        sa.Column("counts", sa.Text(), nullable=True),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("recounted_by", sa.String(length=96), nullable=False),
        sa.Column("recounted_at", central.db.types.UTCDateTime(), nullable=False),
        sa.Column("transaction_id", sa.String(length=32), nullable=True),
        sa.CheckConstraint("number >= 1", name=op.f("ck_cash_recounts_number_positive")),
        sa.CheckConstraint(
            "total >= 0 AND previous_total >= 0",
            name=op.f("ck_cash_recounts_totals_non_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["cash_collections.id"],
            name=op.f("fk_cash_recounts_collection_id_cash_collections"),
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["transactions.id"],
            name=op.f("fk_cash_recounts_transaction_id_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cash_recounts")),
        sa.UniqueConstraint("collection_id", "number", name="uq_cash_recounts_collection_number"),
    )
    op.create_index(op.f("ix_cash_recounts_collection_id"), "cash_recounts", ["collection_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_cash_recounts_collection_id"), table_name="cash_recounts")
    op.drop_table("cash_recounts")
