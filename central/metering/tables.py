"""Metering and supply control tables, on the server's shared ``metadata``.

Register values and sub-minor remainders are kept as decimal strings so no
database turns them into floats.
"""

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
    UniqueConstraint,
)

from central.db.schema import metadata
from central.db.types import UTCDateTime

DEC = String(40)

meters = Table(
    "meters",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("serial", String(64), nullable=False, unique=True),
    Column("unit_id", ForeignKey("units.id"), nullable=True, index=True),  # NULL: common area
    Column("utility", String(16), nullable=False),
    Column("register_unit", String(8), nullable=False),  # kWh | m3
    Column("digits", Integer, nullable=False),
    Column("multiplier", DEC, nullable=False, server_default="1"),
    Column("power", String(8), nullable=False),  # mains | battery
    Column("transport", String(8), nullable=False),  # http | mqtt
    Column("has_rate_registers", Boolean, nullable=False, server_default="0"),
    Column("supply_kind", String(8), nullable=False),  # relay | valve | none
    Column("tariff_code", String(32), nullable=False),
    Column("wake_interval_s", Integer, nullable=False, server_default="0"),
    Column("max_per_hour", DEC, nullable=False),  # more than this an hour is implausible
    Column("status", String(8), nullable=False, server_default="active"),
    Column("installed_at", UTCDateTime, nullable=False),
    Column("start_value", DEC, nullable=False),
    Column("removed_at", UTCDateTime, nullable=True),
    Column("final_value", DEC, nullable=True),
    Column("replaces_id", ForeignKey("meters.id"), nullable=True),
    # The state of charging: the last reading charged, the carried remainder, the tier period.
    Column("last_value", DEC, nullable=False),
    Column("last_registers", Text, nullable=True),
    Column("last_at", UTCDateTime, nullable=False),
    Column("carry", DEC, nullable=False, server_default="0"),
    Column("period_start", String(10), nullable=True),
    Column("period_usage", DEC, nullable=False, server_default="0"),
    Column("standing_through", String(10), nullable=True),
    # Supply: what the server wants, what the meter last said.
    Column("desired_state", String(8), nullable=False, server_default="on"),
    Column("reported_state", String(8), nullable=True),
    Column("last_seen_at", UTCDateTime, nullable=True),
    CheckConstraint("power IN ('mains', 'battery')", name="power"),
    CheckConstraint("transport IN ('http', 'mqtt')", name="transport"),
    CheckConstraint("supply_kind IN ('relay', 'valve', 'none')", name="supply_kind"),
    CheckConstraint("status IN ('active', 'removed')", name="status"),
)
Index("ix_meters_desired", meters.c.desired_state)

tariffs = Table(
    "tariffs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(32), nullable=False),
    Column("utility", String(16), nullable=False),
    Column("effective_from", UTCDateTime, nullable=False),
    Column("definition", Text, nullable=False),  # domain.tariffs.Tariff as JSON
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("code", "effective_from", name="code_effective"),
)

readings = Table(
    "readings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("meter_id", ForeignKey("meters.id"), nullable=False),
    Column("taken_at", UTCDateTime, nullable=False),
    Column("value", DEC, nullable=False),
    Column("registers", Text, nullable=True),
    # charged | placed (inside an interval already charged) | held | rejected | accepted
    Column("status", String(10), nullable=False),
    Column("usage", DEC, nullable=True),
    Column("amount", BigInteger, nullable=False, server_default="0"),
    Column("transaction_id", String(32), nullable=True),
    Column("reason", String(200), nullable=False, server_default=""),
    Column("received_at", UTCDateTime, nullable=False),
    UniqueConstraint("meter_id", "taken_at", name="meter_time"),
)
Index("ix_readings_status", readings.c.status)

supply_policies = Table(
    "supply_policies",
    metadata,
    Column("utility", String(16), primary_key=True),
    Column("mode", String(8), nullable=False, server_default="cut"),  # cut | limit
    Column("limit_w", Integer, nullable=False, server_default="1000"),
    Column("friendly_start", String(5), nullable=True),  # "18:00" local; NULL: no nights
    Column("friendly_end", String(5), nullable=True),  # "08:00"
    Column("friendly_weekends", Boolean, nullable=False, server_default="0"),
    Column("restore_threshold", BigInteger, nullable=False, server_default="0"),
    Column("recovery_percent", Integer, nullable=False, server_default="25"),
    Column("low_thresholds", String(200), nullable=False, server_default="5000,1000"),
    Column("command_ttl_s", Integer, nullable=False, server_default="172800"),
)

holidays = Table(
    "holidays",
    metadata,
    Column("day", String(10), primary_key=True),  # local date, YYYY-MM-DD
    Column("name", String(100), nullable=False),
)

supply_commands = Table(
    "supply_commands",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("meter_id", ForeignKey("meters.id"), nullable=False, index=True),
    Column("action", String(8), nullable=False),  # cut | limit | restore | arm
    Column("limit_w", Integer, nullable=True),
    Column("reason", String(200), nullable=False),
    # deferred (friendly credit) | queued | sent | acked | expired | cancelled
    Column("status", String(10), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("not_before", UTCDateTime, nullable=True),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_sent_at", UTCDateTime, nullable=True),
    Column("acked_at", UTCDateTime, nullable=True),
)
Index("ix_supply_commands_status", supply_commands.c.status)

# Every cut, limit, restore, deferral, expiry and mismatch, with its reason.
supply_events = Table(
    "supply_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("meter_id", ForeignKey("meters.id"), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False),
    Column("event", String(16), nullable=False),
    Column("command_id", String(32), nullable=True),
    Column("reason", String(200), nullable=False),
    Column("alert", Boolean, nullable=False, server_default="0"),
)

# Whether a wallet is below each of its warning thresholds: one warning per crossing.
wallet_alerts = Table(
    "wallet_alerts",
    metadata,
    Column("account_id", ForeignKey("accounts.id"), primary_key=True),
    Column("threshold", BigInteger, primary_key=True),
    Column("below", Boolean, nullable=False),
    Column("changed_at", UTCDateTime, nullable=False),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("dedupe_key", String(160), nullable=False, unique=True),
    Column("unit_id", ForeignKey("units.id"), nullable=False, index=True),
    Column("resident_id", ForeignKey("residents.id"), nullable=True),
    Column("channel", String(8), nullable=False),  # sms | email | app
    Column("kind", String(24), nullable=False),
    Column("language", String(16), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(8), nullable=False),  # pending | sent | failed
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("error", String(200), nullable=False, server_default=""),
)
Index("ix_notifications_due", notifications.c.status, notifications.c.next_attempt_at)

# Where the supply worker has read the ledger up to (postings.id), so every top-up
# is looked at once for debt recovery and restore.
metering_cursors = Table(
    "metering_cursors",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("position", BigInteger, nullable=False),
)
