"""payments: the refunds made through the provider (append-only)

Revision ID: 0800_payments
Revises: 0001
Create Date: 2026-11-26 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import central.db.types

revision: str = "0800_payments"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("provider_refunds",)


def _append_only(table: str) -> None:
    if op.get_context().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )
        return
    op.execute(
        f"CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN RAISE EXCEPTION '{table} is append-only'; END $$"
    )
    op.execute(
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
    )


def upgrade() -> None:
    op.create_table(
        "provider_refunds",
        sa.Column("refund_id", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=48), nullable=False),
        sa.Column("top_up_id", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=128), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("transaction_id", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=96), nullable=False),
        sa.Column("created_at", central.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["top_up_id"],
            ["transactions.id"],
            name=op.f("fk_provider_refunds_top_up_id_transactions"),
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["transactions.id"],
            name=op.f("fk_provider_refunds_transaction_id_transactions"),
        ),
        sa.PrimaryKeyConstraint("refund_id", name=op.f("pk_provider_refunds")),
        sa.UniqueConstraint("transaction_id", name=op.f("uq_provider_refunds_transaction_id")),
    )
    op.create_index(op.f("ix_provider_refunds_top_up_id"), "provider_refunds", ["top_up_id"])
    op.create_index(op.f("ix_provider_refunds_order_id"), "provider_refunds", ["order_id"])
    for table in TABLES:
        _append_only(table)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
        if op.get_context().dialect.name != "sqlite":
            op.execute(f"DROP FUNCTION {table}_append_only()")
