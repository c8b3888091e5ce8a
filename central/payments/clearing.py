"""The ledger's side of a provider's clearing account: what moved through it, and why.

Each transaction that posted to ``clearing:<provider>`` becomes a movement in the
settlement file's terms: a payment (a top-up: the provider owes the estate more)
or a refund (the provider paid a resident back), with the gross the provider's
file would show and the reference both sides know it by: the order id a kiosk's
journal entry names, or the refund id the server sent the provider.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from central.db.schema import postings, transactions
from central.journal.tables import journal_entries
from central.ledger import accounts as acc
from central.payments.tables import provider_refunds
from domain.wallets import clearing_code

# The settlement's own postings: they empty the clearing account, they are not in the file.
SETTLEMENT_KINDS = ("provider_fee", "provider_payout")
CHUNK = 500


@dataclass(frozen=True, slots=True)
class Movement:
    transaction_id: str
    kind: str  # the ledger's: top_up, refund, reversal, ...
    type: str  # the settlement's: payment | refund
    reference: str | None  # order id or refund id; None when the ledger names neither
    gross: int  # as the provider's file shows it: a payment positive, a refund negative
    day: date  # the estate's local day of the transaction

    def as_dict(self) -> dict[str, object]:
        return {
            "transaction_id": self.transaction_id,
            "kind": self.kind,
            "type": self.type,
            "reference": self.reference,
            "gross": self.gross,
            "day": self.day.isoformat(),
        }


def _orders(conn: Connection, ids: Sequence[str]) -> dict[str, str]:
    """transaction id -> the order id its kiosk journal entry's receipt names."""
    found: dict[str, str] = {}
    for i in range(0, len(ids), CHUNK):
        for row in conn.execute(
            select(journal_entries.c.transaction_id, journal_entries.c.body).where(
                journal_entries.c.transaction_id.in_(ids[i : i + CHUNK])
            )
        ):
            order = (json.loads(row.body).get("receipt") or {}).get("order_id")
            if order:
                found[str(row.transaction_id)] = str(order)
    return found


def _refund_ids(conn: Connection, ids: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for i in range(0, len(ids), CHUNK):
        for row in conn.execute(
            select(provider_refunds.c.transaction_id, provider_refunds.c.refund_id).where(
                provider_refunds.c.transaction_id.in_(ids[i : i + CHUNK])
            )
        ):
            found[str(row.transaction_id)] = str(row.refund_id)
    return found


def movements(
    conn: Connection, *, provider: str, start: datetime, end: datetime, zone: ZoneInfo
) -> list[Movement]:
    """Every movement through the provider's clearing account in [start, end)."""
    account = acc.by_code(conn, clearing_code(provider))
    if account is None:
        return []
    rows = conn.execute(
        select(transactions.c.id, transactions.c.kind, transactions.c.created_at, postings.c.amount)
        .join(postings, postings.c.transaction_id == transactions.c.id)
        .where(
            postings.c.account_id == account.id,
            transactions.c.created_at >= start,
            transactions.c.created_at < end,
            transactions.c.kind.not_in(SETTLEMENT_KINDS),
        )
        .order_by(transactions.c.created_at)
    ).all()
    ids = [str(r.id) for r in rows]
    orders, refunds = _orders(conn, ids), _refund_ids(conn, ids)
    out = []
    for r in rows:
        gross = -int(r.amount)  # a top-up takes from the clearing account: the provider owes it
        kind = "payment" if gross > 0 else "refund"
        reference = orders.get(r.id) if kind == "payment" else refunds.get(r.id)
        out.append(
            Movement(
                str(r.id), str(r.kind), kind, reference, gross, r.created_at.astimezone(zone).date()
            )
        )
    return out
