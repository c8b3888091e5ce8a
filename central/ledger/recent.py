"""A wallet's recent activity for a resident's glance: spend per day, the last top-up.

The kiosk's overview shows it for the wallet a resident chooses: what the last
week cost day by day (in the estate's time zone, so "today" is the resident's
today) and when money last came in. Only amounts, kinds and times: no memo, so
nothing about another person or another unit can travel with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from central.db.schema import postings, transactions

DAYS = 7
# What takes money out of a wallet for using something; a refund or a transfer out
# is not usage.
SPENDING_KINDS = ("charge",)


@dataclass(frozen=True, slots=True)
class DaySpend:
    day: date
    amount: int  # minor units spent that local day, never negative


@dataclass(frozen=True, slots=True)
class TopUp:
    at: datetime  # local time
    amount: int
    method: str


def daily_spend(
    conn: Connection, account_id: int, *, now: datetime, zone: ZoneInfo, days: int = DAYS
) -> list[DaySpend]:
    """Spend per local day for the ``days`` days up to and including today, oldest first."""
    today = now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    start = datetime.combine(first, time(0), tzinfo=zone)
    rows = conn.execute(
        select(transactions.c.created_at, postings.c.amount)
        .join(transactions, transactions.c.id == postings.c.transaction_id)
        .where(
            postings.c.account_id == account_id,
            transactions.c.kind.in_(SPENDING_KINDS),
            transactions.c.created_at >= start,
        )
    ).all()
    spent = {first + timedelta(days=i): 0 for i in range(days)}
    for row in rows:
        day = row.created_at.astimezone(zone).date()
        if day in spent and row.amount < 0:
            spent[day] += -int(row.amount)
    return [DaySpend(day, amount) for day, amount in sorted(spent.items())]


def last_top_up(conn: Connection, account_id: int, *, zone: ZoneInfo) -> TopUp | None:
    row = conn.execute(
        select(transactions.c.created_at, transactions.c.method, postings.c.amount)
        .join(transactions, transactions.c.id == postings.c.transaction_id)
        .where(
            postings.c.account_id == account_id,
            transactions.c.kind == "top_up",
            postings.c.amount > 0,
        )
        .order_by(transactions.c.created_at.desc(), postings.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return TopUp(row.created_at.astimezone(zone), int(row.amount), str(row.method or ""))
