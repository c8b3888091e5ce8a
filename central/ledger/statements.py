"""A wallet's statement over a period, in the estate's time zone, with a running balance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from central.db.schema import postings, transactions
from central.errors import InvalidRequest
from central.ledger import accounts as acc

MAX_DAYS = 3660


@dataclass(frozen=True, slots=True)
class Line:
    transaction_id: str
    at: datetime  # local time in the estate's zone
    kind: str
    memo: str
    amount: int
    balance: int


@dataclass(frozen=True, slots=True)
class Statement:
    wallet: str
    currency: str
    period_from: date
    period_to: date  # inclusive
    timezone: str
    opening: int
    closing: int
    lines: list[Line]


def _start_of(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def statement(
    conn: Connection,
    *,
    unit: str,
    purpose: str,
    period_from: date,
    period_to: date,
    zone: ZoneInfo,
) -> Statement:
    if period_to < period_from:
        raise InvalidRequest("the period ends before it starts", code="invalid_period")
    if (period_to - period_from).days > MAX_DAYS:
        raise InvalidRequest("a statement covers at most ten years", code="invalid_period")
    wallet = acc.wallet(conn, unit, purpose)
    start = _start_of(period_from, zone)
    end = _start_of(period_to + timedelta(days=1), zone)
    opening = conn.execute(
        select(func.coalesce(func.sum(postings.c.amount), 0))
        .join(transactions, transactions.c.id == postings.c.transaction_id)
        .where(postings.c.account_id == wallet.id, transactions.c.created_at < start)
    ).scalar_one()
    rows = conn.execute(
        select(
            transactions.c.id,
            transactions.c.created_at,
            transactions.c.kind,
            transactions.c.memo,
            postings.c.amount,
        )
        .join(transactions, transactions.c.id == postings.c.transaction_id)
        .where(
            postings.c.account_id == wallet.id,
            transactions.c.created_at >= start,
            transactions.c.created_at < end,
        )
        .order_by(transactions.c.created_at, postings.c.id)
    ).all()
    balance = int(opening)
    lines = []
    for row in rows:
        balance += row.amount
        lines.append(
            Line(row.id, row.created_at.astimezone(zone), row.kind, row.memo, row.amount, balance)
        )
    return Statement(
        wallet=wallet.code,
        currency=wallet.currency,
        period_from=period_from,
        period_to=period_to,
        timezone=zone.key,
        opening=int(opening),
        closing=balance,
        lines=lines,
    )
