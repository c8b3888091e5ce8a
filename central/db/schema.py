"""The schema. Migrations in ``central/migrations`` create exactly these tables."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from central.db.types import UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# The estate's settings, set once: one row.
estate = Table(
    "estate",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("legal_name", String(200), nullable=False),
    Column("tax_number", String(64), nullable=False, server_default=""),
    Column("phone", String(64), nullable=False, server_default=""),
    Column("currency", String(3), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("locale", String(16), nullable=False),
    Column("emergency_credit", BigInteger, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)

sites = Table(
    "sites",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(32), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("address", String(400), nullable=False, server_default=""),
)

buildings = Table(
    "buildings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", ForeignKey("sites.id"), nullable=False),
    Column("code", String(32), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("floors", Integer, nullable=False),
)

units = Table(
    "units",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("building_id", ForeignKey("buildings.id"), nullable=False),
    # The public identifier, e.g. "A-1203": building code and unit number.
    Column("code", String(32), nullable=False, unique=True),
    Column("number", String(16), nullable=False),
    Column("floor", Integer, nullable=False),
    Column("area_m2", Numeric(10, 2), nullable=False),
    Column("kind", String(16), nullable=False, server_default="flat"),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("building_id", "number", name="building_number"),
)

residents = Table(
    "residents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("unit_id", ForeignKey("units.id"), nullable=False, index=True),
    # Personal data: stays on the server, never in logs or terminal snapshots.
    Column("name", String(200), nullable=False),
    Column("phone", String(32), nullable=True),
    Column("email", String(254), nullable=True),
    Column("language", String(16), nullable=False, server_default="en"),
    Column("role", String(16), nullable=False, server_default="owner"),
    Column("moved_in_at", UTCDateTime, nullable=False),
    Column("moved_out_at", UTCDateTime, nullable=True),
)

credentials = Table(
    "credentials",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("unit_id", ForeignKey("units.id"), nullable=False, index=True),
    Column("resident_id", ForeignKey("residents.id"), nullable=True),
    Column("kind", String(8), nullable=False),  # card | plate | qr
    Column("value", String(64), nullable=False),
    Column("status", String(8), nullable=False, server_default="active"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("status_changed_at", UTCDateTime, nullable=True),
    UniqueConstraint("kind", "value", name="kind_value"),
    CheckConstraint("kind IN ('card', 'plate', 'qr')", name="kind"),
    CheckConstraint("status IN ('active', 'lost', 'revoked')", name="status"),
)

# Every account of the ledger: unit wallets and system accounts. ``balance`` and
# ``held`` are caches of the postings and open holds; ``floor`` is the lowest
# balance the overdraft policy allows (minus the emergency credit, or zero).
accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(96), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),  # wallet | cash_box | clearing | revenue | ...
    Column("unit_id", ForeignKey("units.id"), nullable=True, index=True),
    Column("purpose", String(24), nullable=True),
    Column("currency", String(3), nullable=False),
    Column("floor", BigInteger, nullable=True),  # NULL: no floor (system accounts)
    Column("balance", BigInteger, nullable=False, server_default="0"),
    Column("held", BigInteger, nullable=False, server_default="0"),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("held >= 0", name="held_non_negative"),
)

transactions = Table(
    "transactions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(24), nullable=False),
    Column("idempotency_key", String(128), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False, index=True),
    Column("reverses_id", ForeignKey("transactions.id"), nullable=True, unique=True),
    Column("hold_id", String(32), nullable=True),
    Column("method", String(16), nullable=True),
    Column("actor", String(96), nullable=False),
    Column("terminal_id", String(64), nullable=True),
    Column("memo", String(400), nullable=False, server_default=""),
)

postings = Table(
    "postings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("transaction_id", ForeignKey("transactions.id"), nullable=False, index=True),
    Column("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("amount", BigInteger, nullable=False),
    CheckConstraint("amount <> 0", name="non_zero"),
)
Index("ix_postings_account", postings.c.account_id, postings.c.id)

holds = Table(
    "holds",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("account_id", ForeignKey("accounts.id"), nullable=False, index=True),
    Column("amount", BigInteger, nullable=False),
    Column("service", String(32), nullable=False),
    Column("status", String(10), nullable=False, server_default="open"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime, nullable=True),
    Column("capture_transaction_id", ForeignKey("transactions.id"), nullable=True),
    CheckConstraint("amount > 0", name="positive"),
    CheckConstraint("status IN ('open', 'captured', 'released')", name="status"),
)

# Every write's idempotency key, with the request's digest and the answer given,
# so the same key replays the answer and another body under it is refused.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("operation", String(32), nullable=False),
    Column("request_digest", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

staff = Table(
    "staff",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("created_at", UTCDateTime, nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("staff_id", ForeignKey("staff.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
)

# Every staff action: who, what, when, from where, before and after. Append-only:
# triggers in the migration refuse UPDATE and DELETE on both databases.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime, nullable=False, index=True),
    Column("actor", String(96), nullable=False, index=True),
    Column("role", String(16), nullable=False),
    Column("action", String(48), nullable=False, index=True),
    Column("subject", String(96), nullable=True, index=True),
    Column("remote", String(64), nullable=True),
    Column("idempotency_key", String(128), nullable=True),
    Column("before", Text, nullable=True),
    Column("after", Text, nullable=True),
)

# A resident signs in with a one-time code sent to their phone; only digests are kept.
resident_codes = Table(
    "resident_codes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("resident_id", ForeignKey("residents.id"), nullable=False, index=True),
    Column("code_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("used_at", UTCDateTime, nullable=True),
)

resident_tokens = Table(
    "resident_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("resident_id", ForeignKey("residents.id"), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
)
