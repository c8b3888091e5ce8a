"""fees: schedules, bills, instalments, reminders, maintenance fund (projects, invoices, chain)

Revision ID: 0600_fees
Revises: 0001
Create Date: 2026-11-25 18:44:29.766300
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import central.db.types

revision: str = "0600_fees"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fee_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("created_at", central.db.types.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=96), nullable=False),
        sa.Column("bills", sa.Integer(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_runs")),
    )
    op.create_table(
        "fee_schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_kind", sa.String(length=16), nullable=False),
        sa.Column("per_m2_month", sa.String(length=40), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("created_at", central.db.types.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=96), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_schedules")),
        sa.UniqueConstraint("unit_kind", "effective_from", name="kind_from"),
    )
    op.create_table(
        "fee_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("due_days", sa.Integer(), nullable=False),
        sa.Column("remind_days_before", sa.Integer(), nullable=False),
        sa.Column("remind_days_after", sa.Integer(), nullable=False),
        sa.Column("late_fee_rate", sa.String(length=40), nullable=True),
        sa.Column("late_fee_cap", sa.String(length=40), nullable=True),
        sa.Column("late_fee_grace_days", sa.Integer(), nullable=False),
        sa.Column("vote_area", sa.String(length=16), nullable=False),
        sa.Column("vote_headcount", sa.String(length=16), nullable=False),
        sa.Column("updated_at", central.db.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_fee_settings_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_settings")),
    )
    op.create_table(
        "fund_projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("supplier", sa.String(length=200), nullable=False),
        sa.Column("quote", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="proposed", nullable=False),
        sa.Column("yes_area_m2", sa.String(length=40), nullable=True),
        sa.Column("total_area_m2", sa.String(length=40), nullable=True),
        sa.Column("yes_owners", sa.Integer(), nullable=True),
        sa.Column("total_owners", sa.Integer(), nullable=True),
        sa.Column("rule_area", sa.String(length=16), nullable=True),
        sa.Column("rule_headcount", sa.String(length=16), nullable=True),
        sa.Column("verdict", sa.Text(), nullable=True),
        sa.Column("created_at", central.db.types.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=96), nullable=False),
        sa.Column("decided_at", central.db.types.UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('proposed', 'approved', 'rejected')", name=op.f("ck_fund_projects_status")
        ),
        sa.CheckConstraint("quote > 0", name=op.f("ck_fund_projects_positive")),
        sa.ForeignKeyConstraint(
            ["building_id"], ["buildings.id"], name=op.f("fk_fund_projects_building_id_buildings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_projects")),
    )
    with op.batch_alter_table("fund_projects", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fund_projects_building_id"), ["building_id"], unique=False
        )

    op.create_table(
        "bills",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("period", sa.String(length=24), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("period_end", sa.Date(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("late_fee", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("paid", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("late_fee_paid", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=8), server_default="open", nullable=False),
        sa.Column("issued_at", central.db.types.UTCDateTime(), nullable=False),
        sa.Column("paid_at", central.db.types.UTCDateTime(), nullable=True),
        sa.Column("memo", sa.String(length=200), server_default="", nullable=False),
        sa.CheckConstraint(
            "kind IN ('property_fee', 'fund_contribution')", name=op.f("ck_bills_kind")
        ),
        sa.CheckConstraint("status IN ('open', 'paid')", name=op.f("ck_bills_status")),
        sa.CheckConstraint("amount > 0", name=op.f("ck_bills_positive")),
        sa.ForeignKeyConstraint(["run_id"], ["fee_runs.id"], name=op.f("fk_bills_run_id_fee_runs")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_bills_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bills")),
        sa.UniqueConstraint("unit_id", "kind", "period", name="unit_kind_period"),
    )
    with op.batch_alter_table("bills", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bills_due_on"), ["due_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_bills_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "fund_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=True),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("reference", sa.String(length=96), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("transaction_id", sa.String(length=32), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["building_id"], ["buildings.id"], name=op.f("fk_fund_entries_building_id_buildings")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["fund_projects.id"],
            name=op.f("fk_fund_entries_project_id_fund_projects"),
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["transactions.id"],
            name=op.f("fk_fund_entries_transaction_id_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_entries")),
        sa.UniqueConstraint("building_id", "seq", name="building_seq"),
    )
    op.create_table(
        "fund_invoices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=8), server_default="unpaid", nullable=False),
        sa.Column("created_at", central.db.types.UTCDateTime(), nullable=False),
        sa.Column("paid_at", central.db.types.UTCDateTime(), nullable=True),
        sa.Column("transaction_id", sa.String(length=32), nullable=True),
        sa.CheckConstraint("status IN ('unpaid', 'paid')", name=op.f("ck_fund_invoices_status")),
        sa.CheckConstraint("amount > 0", name=op.f("ck_fund_invoices_positive")),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["fund_projects.id"],
            name=op.f("fk_fund_invoices_project_id_fund_projects"),
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["transactions.id"],
            name=op.f("fk_fund_invoices_transaction_id_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_invoices")),
        sa.UniqueConstraint("project_id", "number", name="project_number"),
    )
    with op.batch_alter_table("fund_invoices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fund_invoices_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "bill_instalments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bill_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("paid_at", central.db.types.UTCDateTime(), nullable=True),
        sa.Column("transaction_id", sa.String(length=32), nullable=True),
        sa.CheckConstraint("amount > 0", name=op.f("ck_bill_instalments_positive")),
        sa.ForeignKeyConstraint(
            ["bill_id"], ["bills.id"], name=op.f("fk_bill_instalments_bill_id_bills")
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["transactions.id"],
            name=op.f("fk_bill_instalments_transaction_id_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bill_instalments")),
        sa.UniqueConstraint("bill_id", "seq", name="bill_seq"),
    )
    with op.batch_alter_table("bill_instalments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bill_instalments_bill_id"), ["bill_id"], unique=False)

    op.create_table(
        "bill_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bill_id", sa.Integer(), nullable=False),
        sa.Column("transaction_id", sa.String(length=32), nullable=False),
        sa.Column("principal", sa.BigInteger(), nullable=False),
        sa.Column("late_fee", sa.BigInteger(), nullable=False),
        sa.Column("instalment_seq", sa.Integer(), nullable=True),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("at", central.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bill_id"], ["bills.id"], name=op.f("fk_bill_payments_bill_id_bills")
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["transactions.id"],
            name=op.f("fk_bill_payments_transaction_id_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bill_payments")),
        sa.UniqueConstraint("transaction_id", name=op.f("uq_bill_payments_transaction_id")),
    )
    with op.batch_alter_table("bill_payments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bill_payments_bill_id"), ["bill_id"], unique=False)

    op.create_table(
        "fee_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bill_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("created_at", central.db.types.UTCDateTime(), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('before', 'after')", name=op.f("ck_fee_reminders_kind")),
        sa.ForeignKeyConstraint(
            ["bill_id"], ["bills.id"], name=op.f("fk_fee_reminders_bill_id_bills")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_reminders")),
        sa.UniqueConstraint("bill_id", "kind", name="bill_kind"),
    )


def downgrade() -> None:
    op.drop_table("fee_reminders")
    with op.batch_alter_table("bill_payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bill_payments_bill_id"))

    op.drop_table("bill_payments")
    with op.batch_alter_table("bill_instalments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bill_instalments_bill_id"))

    op.drop_table("bill_instalments")
    with op.batch_alter_table("fund_invoices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fund_invoices_project_id"))

    op.drop_table("fund_invoices")
    op.drop_table("fund_entries")
    with op.batch_alter_table("bills", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bills_unit_id"))
        batch_op.drop_index(batch_op.f("ix_bills_due_on"))

    op.drop_table("bills")
    with op.batch_alter_table("fund_projects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fund_projects_building_id"))

    op.drop_table("fund_projects")
    op.drop_table("fee_settings")
    op.drop_table("fee_schedules")
    op.drop_table("fee_runs")
