"""The cash boxes' table, on the server's one shared ``metadata``.

Created by the migration branch ``1000_cash_collections`` (``1001_cash_recounts``).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from central.db.schema import metadata
from central.db.types import UTCDateTime

STATUSES = ("open", "counted")

# One row per cash box a kiosk's device had pulled (a ``cash_collected`` journal
# entry): the kiosk's count as expected, then the back office's count and the
# transaction that settled the box. Amounts are minor units; counts are JSON
# objects of denomination (minor units, as a string) -> pieces, as the kiosk sends.
cash_collections = Table(
    "cash_collections",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("terminal_id", String(64), nullable=False),
    Column("device", String(32), nullable=False),
    Column("period", BigInteger, nullable=False),
    Column("counts", Text, nullable=False),
    Column("expected_total", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("collected_at", UTCDateTime, nullable=False),  # the entry's (server-corrected) time
    Column("seq", BigInteger, nullable=False),  # the journal entry that recorded it
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("status", String(8), nullable=False, server_default="open", index=True),
    Column("counted_counts", Text, nullable=True),  # NULL when only a total was entered
    Column("counted_total", BigInteger, nullable=True),
    Column("counted_by", String(96), nullable=True),
    Column("counted_at", UTCDateTime, nullable=True),
    # NULL for a counted box that moved no money (empty, and counted empty).
    Column("transaction_id", ForeignKey("transactions.id"), nullable=True),
    UniqueConstraint(
        "terminal_id", "device", "period", name="uq_cash_collections_terminal_device_period"
    ),
    UniqueConstraint("terminal_id", "seq", name="uq_cash_collections_terminal_seq"),
    CheckConstraint("status IN ('open', 'counted')", name="status"),
    CheckConstraint("expected_total >= 0", name="expected_non_negative"),
    CheckConstraint("counted_total IS NULL OR counted_total >= 0", name="counted_non_negative"),
)

# The office's corrections of a count, appended and never changed: each holds the
# count it replaced, the new one, why, who and when, and the transaction that moved
# the difference between ``clearing:bank`` and ``variance:cash`` (NULL when the
# total stayed and only the denominations changed). The latest is the count in force.
cash_recounts = Table(
    "cash_recounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("collection_id", ForeignKey("cash_collections.id"), nullable=False, index=True),
    Column("number", Integer, nullable=False),  # 1 for the first correction
    Column("previous_counts", Text, nullable=True),
    Column("previous_total", BigInteger, nullable=False),
    Column("counts", Text, nullable=True),  # NULL when only a total was entered
    Column("total", BigInteger, nullable=False),
    Column("reason", String(200), nullable=False),
    Column("recounted_by", String(96), nullable=False),
    Column("recounted_at", UTCDateTime, nullable=False),
    Column("transaction_id", ForeignKey("transactions.id"), nullable=True),
    UniqueConstraint("collection_id", "number", name="uq_cash_recounts_collection_number"),
    CheckConstraint("number >= 1", name="number_positive"),
    CheckConstraint("total >= 0 AND previous_total >= 0", name="totals_non_negative"),
)
