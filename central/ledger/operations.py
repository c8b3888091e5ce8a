"""The ledger's business operations: top-up, charge, transfer, refund, reversal, holds.

Each checks its request, builds balanced legs and posts them through
:func:`central.ledger.posting.post`. None commits: the caller owns the transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, insert, select, update

from central.db.schema import accounts, holds, postings, transactions
from central.db.types import utcnow
from central.errors import InvalidRequest, NotFound, Refused
from central.estate.settings import Estate
from central.ledger import accounts as acc
from central.ledger.posting import Leg, Posted, new_transaction_id, post
from domain.money import MoneyError, check_amount
from domain.wallets import (
    STAFF_DESK_CODE,
    PaymentMethod,
    Purpose,
    cash_box_code,
    clearing_code,
    revenue_code,
)

SOURCE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,47}$")


@dataclass(frozen=True, slots=True)
class Context:
    """Who is asking, when, and under which key."""

    estate: Estate
    idempotency_key: str
    actor: str  # "staff:alice", "terminal:kiosk-01", "system:billing"
    terminal_id: str | None = None
    now: datetime = field(default_factory=utcnow)


def _amount(ctx: Context, amount: int, currency: str) -> int:
    if currency != ctx.estate.currency:
        raise InvalidRequest(
            f"this estate keeps its books in {ctx.estate.currency}, not {currency}",
            code="currency_mismatch",
        )
    try:
        check_amount(amount)
    except MoneyError as err:
        code = "amount_too_large" if amount > 0 else "invalid_amount"
        raise InvalidRequest(str(err), code=code) from err
    return amount


def _source_account(ctx: Context, conn: Connection, method: str, source: str) -> acc.Account:
    """The system account money comes from (a top-up) or goes back to (a refund)."""
    try:
        method = PaymentMethod(method)
    except ValueError:
        raise InvalidRequest(
            f"payment method must be one of {', '.join(m.value for m in PaymentMethod)}",
            code="invalid_method",
        ) from None
    currency = ctx.estate.currency
    if method is PaymentMethod.STAFF_DESK:
        return acc.system_account(conn, STAFF_DESK_CODE, kind="cash_desk", currency=currency)
    if not SOURCE.match(source):
        raise InvalidRequest(
            "the source names a kiosk or a payment provider: lower-case letters, digits, '.-_'",
            code="invalid_source",
        )
    if method is PaymentMethod.CASH:
        if ctx.terminal_id is not None and source != ctx.terminal_id:
            raise Refused("a terminal can only take cash into its own cash box", code="forbidden")
        return acc.system_account(conn, cash_box_code(source), kind="cash_box", currency=currency)
    return acc.system_account(conn, clearing_code(source), kind="clearing", currency=currency)


def _result(kind: str, posted: Posted, **extra: Any) -> dict[str, Any]:
    return {
        "transaction_id": posted.transaction_id,
        "kind": kind,
        "created_at": posted.created_at.isoformat(),
        "balances": posted.balances,
        **extra,
    }


def top_up(
    conn: Connection,
    ctx: Context,
    *,
    unit: str,
    purpose: str,
    amount: int,
    currency: str,
    method: str,
    source: str = "",
    memo: str = "",
) -> dict[str, Any]:
    amount = _amount(ctx, amount, currency)
    wallet = acc.wallet(conn, unit, purpose)
    origin = _source_account(ctx, conn, method, source)
    posted = post(
        conn,
        kind="top_up",
        idempotency_key=ctx.idempotency_key,
        legs=[Leg(origin, -amount), Leg(wallet, amount)],
        created_at=ctx.now,
        actor=ctx.actor,
        method=method,
        terminal_id=ctx.terminal_id,
        memo=memo,
    )
    return _result("top_up", posted, wallet=wallet.code, amount=amount)


def charge(
    conn: Connection,
    ctx: Context,
    *,
    unit: str,
    purpose: str,
    amount: int,
    currency: str,
    service: str | None = None,
    memo: str = "",
) -> dict[str, Any]:
    amount = _amount(ctx, amount, currency)
    wallet = acc.wallet(conn, unit, purpose)
    service = service or wallet.purpose or "services"
    if not SOURCE.match(service):
        raise InvalidRequest("service names are lower-case words", code="invalid_service")
    revenue = acc.system_account(
        conn, revenue_code(service), kind="revenue", currency=ctx.estate.currency
    )
    posted = post(
        conn,
        kind="charge",
        idempotency_key=ctx.idempotency_key,
        legs=[Leg(wallet, -amount), Leg(revenue, amount)],
        created_at=ctx.now,
        actor=ctx.actor,
        terminal_id=ctx.terminal_id,
        memo=memo,
    )
    return _result("charge", posted, wallet=wallet.code, amount=amount)


def _refuse_fund_outflow(wallet: acc.Account) -> None:
    if wallet.purpose == Purpose.MAINTENANCE_FUND.value:
        raise Refused(
            "money paid into the maintenance fund never moves out at a resident's request",
            code="fund_transfer_forbidden",
        )


def transfer(
    conn: Connection,
    ctx: Context,
    *,
    unit: str,
    from_purpose: str,
    to_purpose: str,
    amount: int,
    currency: str,
    memo: str = "",
) -> dict[str, Any]:
    amount = _amount(ctx, amount, currency)
    source = acc.wallet(conn, unit, from_purpose)
    target = acc.wallet(conn, unit, to_purpose)
    if source.id == target.id:
        raise InvalidRequest("a transfer needs two different wallets", code="same_wallet")
    _refuse_fund_outflow(source)
    posted = post(
        conn,
        kind="transfer",
        idempotency_key=ctx.idempotency_key,
        legs=[Leg(source, -amount), Leg(target, amount)],
        created_at=ctx.now,
        actor=ctx.actor,
        terminal_id=ctx.terminal_id,
        memo=memo,
    )
    return _result("transfer", posted, amount=amount)


def refund(
    conn: Connection,
    ctx: Context,
    *,
    unit: str,
    purpose: str,
    amount: int,
    currency: str,
    method: str,
    destination: str = "",
    memo: str = "",
) -> dict[str, Any]:
    """Pay money back out of a wallet, the way it came in (the desk or the provider)."""
    amount = _amount(ctx, amount, currency)
    if method == PaymentMethod.CASH.value:
        raise InvalidRequest(
            "a kiosk gives no cash back: refund at the staff desk or to the provider",
            code="invalid_method",
        )
    wallet = acc.wallet(conn, unit, purpose)
    _refuse_fund_outflow(wallet)
    target = _source_account(ctx, conn, method, destination)
    posted = post(
        conn,
        kind="refund",
        idempotency_key=ctx.idempotency_key,
        legs=[Leg(wallet, -amount), Leg(target, amount)],
        created_at=ctx.now,
        actor=ctx.actor,
        method=method,
        terminal_id=ctx.terminal_id,
        memo=memo,
    )
    return _result("refund", posted, wallet=wallet.code, amount=amount)


def reverse(conn: Connection, ctx: Context, *, transaction_id: str, reason: str) -> dict[str, Any]:
    """Undo a transaction by posting its mirror image; the original stays as it was."""
    if not reason.strip():
        raise InvalidRequest("a reversal needs a reason", code="reason_missing")
    original = conn.execute(
        select(transactions.c.kind, transactions.c.reverses_id).where(
            transactions.c.id == transaction_id
        )
    ).first()
    if original is None:
        raise NotFound(f"there is no transaction {transaction_id!r}", code="unknown_transaction")
    if original.reverses_id is not None:
        raise Refused(
            "a reversal cannot itself be reversed: post a new transaction instead",
            code="reversal_of_reversal",
        )
    already = conn.execute(
        select(transactions.c.id).where(transactions.c.reverses_id == transaction_id)
    ).first()
    if already is not None:
        raise Refused(
            f"transaction {transaction_id} was already reversed by {already.id}",
            code="already_reversed",
        )
    rows = conn.execute(
        select(postings.c.account_id, postings.c.amount).where(
            postings.c.transaction_id == transaction_id
        )
    ).all()
    legs = [Leg(acc.by_id(conn, row.account_id), -row.amount) for row in rows]
    posted = post(
        conn,
        kind="reversal",
        idempotency_key=ctx.idempotency_key,
        legs=legs,
        created_at=ctx.now,
        actor=ctx.actor,
        terminal_id=ctx.terminal_id,
        memo=reason,
        reverses_id=transaction_id,
    )
    return _result("reversal", posted, reverses=transaction_id)


def place_hold(
    conn: Connection,
    ctx: Context,
    *,
    unit: str,
    purpose: str,
    amount: int,
    currency: str,
    service: str,
) -> dict[str, Any]:
    """Reserve money before the final amount is known (a laundry run, a parked car)."""
    amount = _amount(ctx, amount, currency)
    wallet = acc.wallet(conn, unit, purpose)
    if not SOURCE.match(service):
        raise InvalidRequest("service names are lower-case words", code="invalid_service")
    reserved = conn.execute(
        update(accounts)
        .where(
            and_(
                accounts.c.id == wallet.id,
                accounts.c.floor.is_(None)
                | (accounts.c.balance - accounts.c.held - amount >= accounts.c.floor),
            )
        )
        .values(held=accounts.c.held + amount)
        .returning(accounts.c.balance, accounts.c.held)
    ).first()
    if reserved is None:
        raise Refused(
            f"{wallet.code} has not enough available money to reserve {amount}",
            code="insufficient_funds",
        )
    hold_id = new_transaction_id()
    conn.execute(
        insert(holds).values(
            id=hold_id,
            account_id=wallet.id,
            amount=amount,
            service=service,
            status="open",
            created_at=ctx.now,
        )
    )
    return {
        "hold_id": hold_id,
        "kind": "hold",
        "wallet": wallet.code,
        "amount": amount,
        "balance": reserved.balance,
        "held": reserved.held,
    }


def _close_hold(conn: Connection, hold_id: str, status: str) -> tuple[acc.Account, int, str]:
    row = conn.execute(
        select(holds.c.account_id, holds.c.amount, holds.c.status, holds.c.service).where(
            holds.c.id == hold_id
        )
    ).first()
    if row is None:
        raise NotFound(f"there is no hold {hold_id!r}", code="unknown_hold")
    if row.status != "open":
        raise Refused(f"hold {hold_id} is already {row.status}", code="hold_closed")
    conn.execute(
        update(holds).where(holds.c.id == hold_id).values(status=status, closed_at=utcnow())
    )
    conn.execute(
        update(accounts)
        .where(accounts.c.id == row.account_id)
        .values(held=accounts.c.held - row.amount)
    )
    return acc.by_id(conn, row.account_id), int(row.amount), str(row.service)


def capture_hold(
    conn: Connection, ctx: Context, *, hold_id: str, amount: int, currency: str
) -> dict[str, Any]:
    """Charge the final amount (at most what was held) and free the rest."""
    amount = _amount(ctx, amount, currency)
    wallet, held, service = _close_hold(conn, hold_id, "captured")
    if amount > held:
        raise Refused(
            f"cannot capture {amount}: the hold reserved only {held}", code="capture_exceeds_hold"
        )
    revenue = acc.system_account(
        conn, revenue_code(service), kind="revenue", currency=ctx.estate.currency
    )
    posted = post(
        conn,
        kind="capture",
        idempotency_key=ctx.idempotency_key,
        legs=[Leg(wallet, -amount), Leg(revenue, amount)],
        created_at=ctx.now,
        actor=ctx.actor,
        terminal_id=ctx.terminal_id,
        hold_id=hold_id,
    )
    conn.execute(
        update(holds)
        .where(holds.c.id == hold_id)
        .values(capture_transaction_id=posted.transaction_id)
    )
    return _result("capture", posted, hold_id=hold_id, amount=amount, released=held - amount)


def release_hold(conn: Connection, ctx: Context, *, hold_id: str) -> dict[str, Any]:
    wallet, held, _service = _close_hold(conn, hold_id, "released")
    return {"hold_id": hold_id, "kind": "release", "wallet": wallet.code, "released": held}
