"""Answers shared by the staff and the residents' routes: a unit's wallets, a statement."""

from __future__ import annotations

from sqlalchemy import Connection, select

from central.api import models as m
from central.db.schema import accounts, units
from central.ledger.statements import Statement


def unit_wallets(conn: Connection, unit_code: str) -> list[m.WalletOut]:
    """Every wallet of a unit, in a fixed order (none: the unit does not exist)."""
    rows = conn.execute(
        select(
            accounts.c.code,
            accounts.c.purpose,
            accounts.c.currency,
            accounts.c.balance,
            accounts.c.held,
            accounts.c.floor,
        )
        .join(units, units.c.id == accounts.c.unit_id)
        .where(units.c.code == unit_code)
        .order_by(accounts.c.id)
    ).all()
    return [
        m.WalletOut(
            wallet=r.code,
            purpose=r.purpose,
            currency=r.currency,
            balance=r.balance,
            held=r.held,
            available=r.balance - r.held - (r.floor or 0),
            floor=r.floor or 0,
        )
        for r in rows
    ]


def statement_out(st: Statement) -> m.StatementOut:
    return m.StatementOut(
        wallet=st.wallet,
        currency=st.currency,
        timezone=st.timezone,
        period_from=st.period_from,
        period_to=st.period_to,
        opening=st.opening,
        closing=st.closing,
        lines=[
            m.StatementLineOut(
                transaction_id=line.transaction_id,
                at=line.at.isoformat(),
                kind=line.kind,
                memo=line.memo,
                amount=line.amount,
                balance=line.balance,
            )
            for line in st.lines
        ],
    )
