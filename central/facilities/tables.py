"""Facility tables, on the server's shared ``metadata``. Prices are decimal strings."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from central.db.schema import metadata
from central.db.types import UTCDateTime

DEC = String(40)

facilities = Table(
    "facilities",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(32), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    Column("kind", String(16), nullable=False),  # gym | pool | laundry | club_room
    Column("pricing", String(16), nullable=False),  # per_use | per_minute | pass_only
    Column("price", DEC, nullable=False, server_default="0"),  # per use, major units
    Column("rate_per_minute", DEC, nullable=True),
    Column("max_minutes", Integer, nullable=True),
    Column("minimum_minutes", Integer, nullable=False, server_default="1"),
    Column("grace_s", Integer, nullable=False, server_default="0"),
    Column("hours", Text, nullable=False),  # JSON: {"mon-fri": ["06:00-22:00"]}
    Column("allow_low_assurance", Boolean, nullable=False, server_default="1"),
    Column("low_assurance_daily_cap", BigInteger, nullable=False, server_default="0"),
    # Anti-passback: a pass that entered may not enter again until an exit or this long.
    Column("passback_timeout_s", Integer, nullable=False, server_default="7200"),
    Column("in_service", Boolean, nullable=False, server_default="1"),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("pricing IN ('per_use', 'per_minute', 'pass_only')", name="pricing"),
)

pass_products = Table(
    "facility_pass_products",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("facility_id", ForeignKey("facilities.id"), nullable=False, index=True),
    Column("code", String(32), nullable=False, unique=True),
    Column("kind", String(8), nullable=False),  # monthly | visits
    Column("price", DEC, nullable=False),
    Column("months", Integer, nullable=False, server_default="1"),
    Column("visits", Integer, nullable=False, server_default="0"),
    Column("valid_days", Integer, nullable=False, server_default="365"),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("kind IN ('monthly', 'visits')", name="kind"),
)

passes = Table(
    "facility_passes",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("product_id", ForeignKey("facility_pass_products.id"), nullable=False),
    Column("facility_id", ForeignKey("facilities.id"), nullable=False),
    Column("unit_id", ForeignKey("units.id"), nullable=False),
    Column("valid_from", String(10), nullable=False),  # local dates, ISO
    Column("valid_until", String(10), nullable=False),
    Column("visits_left", Integer, nullable=True),  # NULL: unlimited
    Column("transaction_id", ForeignKey("transactions.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_facility_passes_unit_facility", "unit_id", "facility_id"),
)

entries = Table(
    "facility_entries",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("facility_id", ForeignKey("facilities.id"), nullable=False),
    Column("unit_id", ForeignKey("units.id"), nullable=False),
    Column("method", String(8), nullable=False),  # pass | charge
    Column("pass_id", ForeignKey("facility_passes.id"), nullable=True),
    Column("transaction_id", ForeignKey("transactions.id"), nullable=True),
    Column("amount", BigInteger, nullable=False, server_default="0"),
    Column("credential", String(64), nullable=True),  # a keyed hash, never a card number
    Column("low_assurance", Boolean, nullable=False, server_default="0"),
    Column("terminal_id", String(64), nullable=True),
    Column("entered_at", UTCDateTime, nullable=False),
    Column("exited_at", UTCDateTime, nullable=True),
    Index("ix_facility_entries_pass", "pass_id", "entered_at"),
    Index("ix_facility_entries_credential", "credential", "entered_at"),
)

sessions = Table(
    "facility_sessions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("facility_id", ForeignKey("facilities.id"), nullable=False),
    Column("unit_id", ForeignKey("units.id"), nullable=False),
    Column("hold_id", ForeignKey("holds.id"), nullable=False, unique=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("stopped_at", UTCDateTime, nullable=True),
    Column("minutes", Integer, nullable=True),
    Column("amount", BigInteger, nullable=True),
    Column("status", String(8), nullable=False, server_default="running"),
    Column("terminal_id", String(64), nullable=True),
    CheckConstraint("status IN ('running', 'stopped')", name="status"),
)
