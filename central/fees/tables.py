"""Fee, bill and fund tables, on the server's shared ``metadata``.

Rates and vote thresholds are kept as decimal strings so no database turns them
into floats; amounts are integers in minor units, as in the ledger.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from central.db.schema import metadata
from central.db.types import UTCDateTime

DEC = String(40)

# The estate's fee policy: one row, written by a manager; absent means the defaults.
fee_settings = Table(
    "fee_settings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("due_days", Integer, nullable=False),
    Column("remind_days_before", Integer, nullable=False),
    Column("remind_days_after", Integer, nullable=False),
    Column("late_fee_rate", DEC, nullable=True),  # per month; NULL: no late fees
    Column("late_fee_cap", DEC, nullable=True),  # a share of the bill
    Column("late_fee_grace_days", Integer, nullable=False),
    Column("vote_area", String(16), nullable=False),
    Column("vote_headcount", String(16), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)

fee_schedules = Table(
    "fee_schedules",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("unit_kind", String(16), nullable=False),
    Column("per_m2_month", DEC, nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(96), nullable=False),
    UniqueConstraint("unit_kind", "effective_from", name="kind_from"),
)

fee_runs = Table(
    "fee_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(24), nullable=False),
    Column("period", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(96), nullable=False),
    Column("bills", Integer, nullable=False),
    Column("total", BigInteger, nullable=False),
)

# A bill is a receivable: what the unit owes. Money moves when it is paid.
bills = Table(
    "bills",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("unit_id", ForeignKey("units.id"), nullable=False, index=True),
    Column("kind", String(24), nullable=False),  # property_fee | fund_contribution
    Column("period", String(24), nullable=False),  # 2026-Q1, 2026, purchase, ...
    Column("period_start", Date, nullable=True),
    Column("period_end", Date, nullable=True),
    Column("run_id", ForeignKey("fee_runs.id"), nullable=True),
    Column("amount", BigInteger, nullable=False),
    Column("late_fee", BigInteger, nullable=False, server_default="0"),
    Column("paid", BigInteger, nullable=False, server_default="0"),  # of the amount
    Column("late_fee_paid", BigInteger, nullable=False, server_default="0"),
    Column("due_on", Date, nullable=False, index=True),
    Column("status", String(8), nullable=False, server_default="open"),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("paid_at", UTCDateTime, nullable=True),
    Column("memo", String(200), nullable=False, server_default=""),
    UniqueConstraint("unit_id", "kind", "period", name="unit_kind_period"),
    CheckConstraint("amount > 0", name="positive"),
    CheckConstraint("status IN ('open', 'paid')", name="status"),
    CheckConstraint("kind IN ('property_fee', 'fund_contribution')", name="kind"),
)

bill_instalments = Table(
    "bill_instalments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("bill_id", ForeignKey("bills.id"), nullable=False, index=True),
    Column("seq", Integer, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("paid_at", UTCDateTime, nullable=True),
    Column("transaction_id", ForeignKey("transactions.id"), nullable=True),
    UniqueConstraint("bill_id", "seq", name="bill_seq"),
    CheckConstraint("amount > 0", name="positive"),
)

bill_payments = Table(
    "bill_payments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("bill_id", ForeignKey("bills.id"), nullable=False, index=True),
    Column("transaction_id", ForeignKey("transactions.id"), nullable=False, unique=True),
    Column("principal", BigInteger, nullable=False),
    Column("late_fee", BigInteger, nullable=False),
    Column("instalment_seq", Integer, nullable=True),
    Column("method", String(16), nullable=False),  # wallet | cash | provider | staff_desk
    Column("at", UTCDateTime, nullable=False),
)

# Reminders before and after a bill's due date: the unique key makes each go once.
# The messages themselves go through the notification outbox (``notifications``).
fee_reminders = Table(
    "fee_reminders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("bill_id", ForeignKey("bills.id"), nullable=False),
    Column("kind", String(8), nullable=False),  # before | after
    Column("created_at", UTCDateTime, nullable=False),
    Column("messages", Integer, nullable=False),  # how many went into the outbox
    UniqueConstraint("bill_id", "kind", name="bill_kind"),
    CheckConstraint("kind IN ('before', 'after')", name="kind"),
)

fund_projects = Table(
    "fund_projects",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("building_id", ForeignKey("buildings.id"), nullable=False, index=True),
    Column("title", String(200), nullable=False),
    Column("supplier", String(200), nullable=False),
    Column("quote", BigInteger, nullable=False),
    Column("status", String(10), nullable=False, server_default="proposed"),
    Column("yes_area_m2", DEC, nullable=True),
    Column("total_area_m2", DEC, nullable=True),
    Column("yes_owners", Integer, nullable=True),
    Column("total_owners", Integer, nullable=True),
    Column("rule_area", String(16), nullable=True),
    Column("rule_headcount", String(16), nullable=True),
    Column("verdict", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(96), nullable=False),
    Column("decided_at", UTCDateTime, nullable=True),
    CheckConstraint("quote > 0", name="positive"),
    CheckConstraint("status IN ('proposed', 'approved', 'rejected')", name="status"),
)

fund_invoices = Table(
    "fund_invoices",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", ForeignKey("fund_projects.id"), nullable=False, index=True),
    Column("number", String(64), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("status", String(8), nullable=False, server_default="unpaid"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("paid_at", UTCDateTime, nullable=True),
    Column("transaction_id", ForeignKey("transactions.id"), nullable=True),
    UniqueConstraint("project_id", "number", name="project_number"),
    CheckConstraint("amount > 0", name="positive"),
    CheckConstraint("status IN ('unpaid', 'paid')", name="status"),
)

# The building fund's hash chain: one entry per movement, never changed.
fund_entries = Table(
    "fund_entries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("building_id", ForeignKey("buildings.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("at", String(40), nullable=False),  # ISO 8601 UTC, exactly as hashed
    Column("kind", String(16), nullable=False),  # contribution | expenditure
    Column("unit", String(32), nullable=True),
    Column("project_id", ForeignKey("fund_projects.id"), nullable=True),
    Column("reference", String(96), nullable=False),
    Column("amount", BigInteger, nullable=False),  # + into the fund, - out of it
    Column("transaction_id", ForeignKey("transactions.id"), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("building_id", "seq", name="building_seq"),
)
