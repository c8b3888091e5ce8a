"""payments: settlement files as posted, and their lines (append-only)

Revision ID: 0801_settlements
Revises: 0800_payments
Create Date: 2026-11-26 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import central.db.types

revision: str = "0801_settlements"
down_revision: str | None = "0800_payments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("provider_settlements", "provider_settlement_lines")


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
        "provider_settlements",
        sa.Column("settlement_id", sa.String(length=96), nullable=False),
        sa.Column("provider", sa.String(length=48), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("gross", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("net", sa.BigInteger(), nullable=False),
        sa.Column("fee_transaction_id", sa.String(length=32), nullable=True),
        sa.Column("payout_transaction_id", sa.String(length=32), nullable=True),
        sa.Column("report", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=96), nullable=False),
        sa.Column("created_at", central.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["fee_transaction_id"],
            ["transactions.id"],
            name=op.f("fk_provider_settlements_fee_transaction_id_transactions"),
        ),
        sa.ForeignKeyConstraint(
            ["payout_transaction_id"],
            ["transactions.id"],
            name=op.f("fk_provider_settlements_payout_transaction_id_transactions"),
        ),
        sa.PrimaryKeyConstraint("settlement_id", name=op.f("pk_provider_settlements")),
    )
    op.create_index(op.f("ix_provider_settlements_day"), "provider_settlements", ["day"])
    op.create_table(
        "provider_settlement_lines",
        sa.Column("settlement_id", sa.String(length=96), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=8), nullable=False),
        sa.Column("reference", sa.String(length=128), nullable=False),
        sa.Column("gross", sa.BigInteger(), nullable=False),
        sa.Column("transaction_id", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.ForeignKeyConstraint(
            ["settlement_id"],
            ["provider_settlements.settlement_id"],
            name=op.f("fk_provider_settlement_lines_settlement_id_provider_settlements"),
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["transactions.id"],
            name=op.f("fk_provider_settlement_lines_transaction_id_transactions"),
        ),
        sa.PrimaryKeyConstraint("settlement_id", "line", name=op.f("pk_provider_settlement_lines")),
    )
    op.create_index(
        op.f("ix_provider_settlement_lines_transaction_id"),
        "provider_settlement_lines",
        ["transaction_id"],
    )
    for table in TABLES:
        _append_only(table)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
        if op.get_context().dialect.name != "sqlite":
            op.execute(f"DROP FUNCTION {table}_append_only()")
