"""The terminal registry's tables, on the server's one shared ``metadata``.

Created by the migration branch ``0100_terminals``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from central.db.schema import metadata
from central.db.types import UTCDateTime

TERMINAL_TYPES = ("kiosk", "gate", "turnstile", "meter-gateway")

# One-time enrolment codes. Only the code's SHA-256 is kept: the text is shown once.
enrolment_codes = Table(
    "terminal_enrolment_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("terminal_type", String(16), nullable=False),
    Column("location", String(200), nullable=False),
    Column("created_by", String(96), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
    Column("terminal_id", String(64), nullable=True),
    CheckConstraint(
        "terminal_type IN ('kiosk', 'gate', 'turnstile', 'meter-gateway')", name="type"
    ),
)

# status: active; decommissioning (its journal may still land, nothing new may start);
# decommissioned (its journal is in, its keys are dead); revoked (keys dead at once).
terminals = Table(
    "terminals",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("terminal_type", String(16), nullable=False),
    Column("location", String(200), nullable=False),
    Column("status", String(16), nullable=False, server_default="active"),
    Column("enrolled_at", UTCDateTime, nullable=False),
    Column("enrolled_by", String(96), nullable=False),
    Column("decommissioned_at", UTCDateTime, nullable=True),
    # The last journal entry the server still accepts after a decommission.
    Column("journal_last_seq", BigInteger, nullable=True),
    Column("journal_synced_seq", BigInteger, nullable=True),
    Column("keys_dead_at", UTCDateTime, nullable=True),
    Column("config_version_acked", Integer, nullable=True),
    Column("last_heartbeat_at", UTCDateTime, nullable=True),
    CheckConstraint(
        "status IN ('active', 'decommissioning', 'decommissioned', 'revoked')", name="status"
    ),
)

# Every public key a terminal ever had: entries signed before a rotation still verify.
terminal_keys = Table(
    "terminal_keys",
    metadata,
    Column("key_id", String(64), primary_key=True),
    Column("terminal_id", ForeignKey("terminals.id"), nullable=False, index=True),
    Column("public_key", String(64), nullable=False),  # raw 32 bytes, base64
    Column("created_at", UTCDateTime, nullable=False),
    # Set when the next key replaced it: requests signed before then still pass.
    Column("retired_at", UTCDateTime, nullable=True),
)

# Nonces seen within the clock window; a replay inside the window is refused by this
# table, one outside it by its stale timestamp.
terminal_nonces = Table(
    "terminal_nonces",
    metadata,
    Column("terminal_id", String(64), primary_key=True),
    Column("nonce", String(64), primary_key=True),
    Column("seen_at", UTCDateTime, nullable=False, index=True),
)

terminal_configs = Table(
    "terminal_configs",
    metadata,
    Column("terminal_id", ForeignKey("terminals.id"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("config", Text, nullable=False),  # JSON
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(96), nullable=False),
)

# The last few heartbeats per terminal (enough to see a backlog growing).
terminal_heartbeats = Table(
    "terminal_heartbeats",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("terminal_id", ForeignKey("terminals.id"), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("clock_offset_s", Float, nullable=False),  # the terminal's clock minus ours
    Column("software_version", String(32), nullable=False),
    Column("config_version", Integer, nullable=True),
    Column("journal_backlog", Integer, nullable=False),
    Column("journal_head", BigInteger, nullable=True),
    Column("devices", Text, nullable=False),  # JSON: name -> {"ok", "state", "detail"}
)
Index(
    "ix_terminal_heartbeats_terminal", terminal_heartbeats.c.terminal_id, terminal_heartbeats.c.id
)

# Staff cards: an estate card (the same card application, read by the same challenge
# and response) issued to a staff member, never a resident's credential nor tied to a
# unit. A technician's card opens a kiosk's technician screen. Only the card's number
# and the staff id are kept; the kiosks get its keyed hash and id, no name.
staff_cards = Table(
    "staff_cards",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("card_number", String(16), nullable=False, unique=True),
    Column("staff_id", ForeignKey("staff.id"), nullable=False, index=True),
    Column("role", String(16), nullable=False),
    Column("status", String(8), nullable=False, server_default="active"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(96), nullable=False),
    Column("status_changed_at", UTCDateTime, nullable=True),
    CheckConstraint("role IN ('technician')", name="role"),
    CheckConstraint("status IN ('active', 'lost', 'revoked')", name="status"),
)
