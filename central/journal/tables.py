"""The journal's tables, on the server's one shared ``metadata``.

Created by the migration branch ``0400_journal``.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from central.db.schema import metadata
from central.db.types import UTCDateTime

# Per terminal: the last entry accepted into the chain. Locked by every upload.
journal_heads = Table(
    "journal_heads",
    metadata,
    Column("terminal_id", String(64), primary_key=True),
    Column("last_seq", BigInteger, nullable=False),
    Column("last_hash", String(64), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Every entry accepted into a terminal's chain, with its verdict. A rejected entry
# (not enough money, an unknown kind) is still in the chain: it happened on the
# terminal, and a resend answers the same verdict.
journal_entries = Table(
    "journal_entries",
    metadata,
    Column("terminal_id", String(64), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("entry_id", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("body", Text, nullable=False),  # JSON, as the terminal sent it
    Column("terminal_ms", BigInteger, nullable=False),
    Column("server_ms", BigInteger, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("verdict", String(10), nullable=False),  # applied | rejected
    Column("code", String(48), nullable=True),
    Column("message", Text, nullable=True),
    Column("transaction_id", String(64), nullable=True),
)
Index("ix_journal_entries_server_ms", journal_entries.c.terminal_id, journal_entries.c.server_ms)

# What looked like tampering: a gap, a broken chain, an edited or unsigned entry.
journal_incidents = Table(
    "journal_incidents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("terminal_id", String(64), nullable=False, index=True),
    Column("seq", BigInteger, nullable=True),
    Column("code", String(48), nullable=False),
    Column("detail", Text, nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
)

# Per terminal: the key its snapshot's credential hashes are made with, so a
# snapshot read off one terminal cannot be matched against another's.
journal_snapshot_keys = Table(
    "journal_snapshot_keys",
    metadata,
    Column("terminal_id", String(64), primary_key=True),
    Column("hash_key", String(64), nullable=False),  # 32 random bytes, hex
    Column("created_at", UTCDateTime, nullable=False),
)
