"""The payment provider's tables, on the server's shared ``metadata``.

Created by the migration branch ``0800_payments`` (refunds) and ``0801_settlements``.
All are append-only (triggers refuse ``UPDATE`` and ``DELETE``): a refund made or
a settlement posted is a fact, corrected by a new row, never by an edit.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, String, Table, Text

from central.db.schema import metadata
from central.db.types import UTCDateTime

# One row per refund the provider made for a top-up, in the refund's transaction:
# what makes a second refund of the same top-up see the first, and what a
# settlement line's refund id is matched to.
provider_refunds = Table(
    "provider_refunds",
    metadata,
    Column("refund_id", String(64), primary_key=True),  # ours, sent to the provider
    Column("provider", String(48), nullable=False),
    Column("top_up_id", ForeignKey("transactions.id"), nullable=False, index=True),
    Column("order_id", String(128), nullable=False, index=True),
    Column("amount", BigInteger, nullable=False),
    Column("transaction_id", ForeignKey("transactions.id"), nullable=False, unique=True),
    Column("actor", String(96), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# A settlement file the back office posted: its fees and payout, once per file.
provider_settlements = Table(
    "provider_settlements",
    metadata,
    Column("settlement_id", String(96), primary_key=True),  # the provider's file id
    Column("provider", String(48), nullable=False),
    Column("day", String(10), nullable=False, index=True),  # the file's local day
    Column("digest", String(64), nullable=False),  # SHA-256 of the file as posted
    Column("gross", BigInteger, nullable=False),
    Column("fee", BigInteger, nullable=False),
    Column("net", BigInteger, nullable=False),
    Column("fee_transaction_id", ForeignKey("transactions.id"), nullable=True),
    Column("payout_transaction_id", ForeignKey("transactions.id"), nullable=True),
    Column("report", Text, nullable=False),  # JSON: the reconciliation as it was posted
    Column("actor", String(96), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# Each line of a posted settlement and the ledger transaction it was matched to,
# so a later day's reconciliation knows what an earlier file already settled.
provider_settlement_lines = Table(
    "provider_settlement_lines",
    metadata,
    Column("settlement_id", ForeignKey("provider_settlements.settlement_id"), primary_key=True),
    Column("line", Integer, primary_key=True),
    Column("type", String(8), nullable=False),  # payment | refund
    Column("reference", String(128), nullable=False),  # the order id or the refund id
    Column("gross", BigInteger, nullable=False),
    Column("transaction_id", ForeignKey("transactions.id"), nullable=True, index=True),
    Column("status", String(24), nullable=False),  # matched | amount_mismatch | ...
)
