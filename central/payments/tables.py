"""The payment provider's tables, on the server's shared ``metadata``.

Created by the migration branch ``0800_payments``. Append-only
(triggers refuse ``UPDATE`` and ``DELETE``): a refund made or a settlement
posted is a fact, corrected by a new row, never by an edit.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, String, Table

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
