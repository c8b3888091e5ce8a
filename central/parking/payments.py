"""How parking takes money: from the unit's parking wallet, or a visitor's QR payment or cash.

Both work in the caller's transaction and commit nothing; a wallet that cannot
pay rolls back only its own savepoint, so the caller can still answer the gate.
"""

from __future__ import annotations

from sqlalchemy import Connection

from central.errors import Refused
from central.ledger import accounts as acc
from central.ledger import operations as ops
from central.ledger.operations import Context
from central.ledger.posting import Leg, post
from domain.wallets import Purpose, cash_box_code, clearing_code, revenue_code

SERVICE = "parking"
WALLET = Purpose.PARKING.value


def charge_wallet(conn: Connection, ctx: Context, unit: str, amount: int, memo: str) -> str | None:
    """Charge the parking wallet; None when it cannot pay (the caller decides what then)."""
    if amount <= 0:
        return None
    savepoint = conn.begin_nested()
    try:
        charged = ops.charge(
            conn,
            ctx,
            unit=unit,
            purpose=WALLET,
            amount=amount,
            currency=ctx.estate.currency,
            service=SERVICE,
            memo=memo,
        )
    except Refused:
        savepoint.rollback()
        raise
    savepoint.commit()
    return str(charged["transaction_id"])


def guard_cash_code(terminal_id: str | None) -> str:
    """The cash a gate's guard takes: a cash box per gate, counted like a kiosk's."""
    return cash_box_code(f"guard.{terminal_id or 'gate'}")


def visitor_payment(
    conn: Connection, ctx: Context, amount: int, method: str, provider: str, memo: str
) -> str | None:
    """A payment not from a wallet: by QR (the provider owes the estate) or in cash at
    the guard (the gate's guard cash box holds it); parking earned it either way."""
    if amount <= 0:
        return None
    if method == "qr":
        source = acc.system_account(
            conn, clearing_code(provider), kind="clearing", currency=ctx.estate.currency
        )
    else:
        source = acc.system_account(
            conn, guard_cash_code(ctx.terminal_id), kind="cash_box", currency=ctx.estate.currency
        )
    revenue = acc.system_account(
        conn, revenue_code(SERVICE), kind="revenue", currency=ctx.estate.currency
    )
    posted = post(
        conn,
        kind="charge",
        idempotency_key=ctx.idempotency_key,
        legs=[Leg(source, -amount), Leg(revenue, amount)],
        created_at=ctx.now,
        actor=ctx.actor,
        method="provider" if method == "qr" else "cash",
        terminal_id=ctx.terminal_id,
        memo=memo,
    )
    return posted.transaction_id
