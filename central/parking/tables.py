"""Parking tables, on the server's shared ``metadata``. Amounts are minor units."""

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

# Every tariff version ever stored: a gate's decision names the one it used.
parking_tariffs = Table(
    "parking_tariffs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", String(32), nullable=False, unique=True),
    Column("kind", String(8), nullable=False),  # resident | visitor
    Column("spec", Text, nullable=False),  # JSON of domain.parking.tariff_to_spec
    Column("effective_from", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("kind IN ('resident', 'visitor')", name="kind"),
    Index("ix_parking_tariffs_kind_from", "kind", "effective_from"),
)

# The manager's rules for awkward cases and the renewal timing: key -> JSON value.
parking_settings = Table(
    "parking_settings",
    metadata,
    Column("key", String(48), primary_key=True),
    Column("value", Text, nullable=False),
    Column("changed_at", UTCDateTime, nullable=False),
)

parking_passes = Table(
    "parking_passes",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("unit_id", ForeignKey("units.id"), nullable=False, index=True),
    Column("plate", String(64), nullable=True),  # NULL: any plate of the unit
    Column("period", String(10), nullable=False),  # monthly | quarterly | annual
    Column("price", BigInteger, nullable=False),  # per period, minor units
    Column("valid_from", String(10), nullable=False),  # local dates, ISO
    Column("valid_until", String(10), nullable=False),  # inclusive
    Column("auto_renew", Boolean, nullable=False, server_default="1"),
    Column("status", String(10), nullable=False, server_default="active"),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("period IN ('monthly', 'quarterly', 'annual')", name="period"),
    CheckConstraint("status IN ('active', 'lapsed', 'cancelled')", name="status"),
    CheckConstraint("price >= 0", name="price"),
)

parking_sessions = Table(
    "parking_sessions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("plate", String(64), nullable=False, index=True),
    Column("unit_id", ForeignKey("units.id"), nullable=True),
    Column("pass_id", ForeignKey("parking_passes.id"), nullable=True, index=True),
    Column("kind", String(8), nullable=False),  # pass | resident | visitor
    Column("entry_lane", String(32), nullable=True),
    Column("exit_lane", String(32), nullable=True),
    Column("entered_at", UTCDateTime, nullable=True),  # NULL: exit without entry
    Column("exited_at", UTCDateTime, nullable=True),
    Column("status", String(10), nullable=False, server_default="inside"),
    Column("tariff_version", String(32), nullable=True),
    Column("amount", BigInteger, nullable=True),
    Column("server_amount", BigInteger, nullable=True),  # the server's own price, if it differs
    Column("paid_by", String(12), nullable=True),  # wallet | qr | guard | ticket | pass
    # Paid in advance (a visitor at a kiosk or on the phone): the grace period runs from
    # ``paid_at``; ``prepaid`` is what was paid then, ``amount`` the whole stay's price.
    Column("paid_at", UTCDateTime, nullable=True),
    Column("prepaid", BigInteger, nullable=False, server_default="0"),
    Column("transaction_id", ForeignKey("transactions.id"), nullable=True),
    Column("exit_match", String(8), nullable=True),  # exact | fuzzy
    Column("terminal_id", String(64), nullable=True),
    CheckConstraint("kind IN ('pass', 'resident', 'visitor')", name="kind"),
    CheckConstraint("status IN ('inside', 'closed', 'cancelled')", name="status"),
    Index("ix_parking_sessions_status", "status", "plate"),
)

# Cases a rule sent to a manager: an exit with no entry, a car already inside, ...
parking_reviews = Table(
    "parking_reviews",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("situation", String(24), nullable=False),
    Column("plate", String(64), nullable=False),
    Column("session_id", ForeignKey("parking_sessions.id"), nullable=True),
    Column("lane", String(32), nullable=True),
    Column("note", String(200), nullable=False, server_default=""),
    Column("status", String(8), nullable=False, server_default="open"),
    Column("created_at", UTCDateTime, nullable=False),
)
