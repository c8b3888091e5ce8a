"""cash: kiosk cash boxes collected, and the back office's count of each

Revision ID: 1000_cash_collections
Revises: 0001
Create Date: 2026-11-27 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import central.db.types

revision: str = "1000_cash_collections"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cash_collections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("terminal_id", sa.String(length=64), nullable=False),
        sa.Column("device", sa.String(length=32), nullable=False),
        sa.Column("period", sa.BigInteger(), nullable=False),
        sa.Column("counts", sa.Text(), nullable=False),
        sa.Column("expected_total", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("collected_at", central.db.types.UTCDateTime(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", central.db.types.UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=8), server_default="open", nullable=False),
        sa.Column("counted_counts", sa.Text(), nullable=True),
        sa.Column("counted_total", sa.BigInteger(), nullable=True),
        sa.Column("counted_by", sa.String(length=96), nullable=True),
        sa.Column("counted_at", central.db.types.UTCDateTime(), nullable=True),
        sa.Column("transaction_id", sa.String(length=32), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'counted')", name=op.f("ck_cash_collections_status")
        ),
        sa.CheckConstraint(
            "expected_total >= 0", name=op.f("ck_cash_collections_expected_non_negative")
        ),
        sa.CheckConstraint(
            "counted_total IS NULL OR counted_total >= 0",
            name=op.f("ck_cash_collections_counted_non_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["transactions.id"],
            name=op.f("fk_cash_collections_transaction_id_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cash_collections")),
        sa.UniqueConstraint(
            "terminal_id", "device", "period", name="uq_cash_collections_terminal_device_period"
        ),
        sa.UniqueConstraint("terminal_id", "seq", name="uq_cash_collections_terminal_seq"),
    )
    op.create_index(op.f("ix_cash_collections_status"), "cash_collections", ["status"])


def downgrade() -> None:
    op.drop_index(op.f("ix_cash_collections_status"), table_name="cash_collections")
    op.drop_table("cash_collections")
