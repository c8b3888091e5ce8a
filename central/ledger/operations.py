"""The ledger's business operations: top-up, charge, transfer, refund, reversal, holds.

Each checks its request, builds balanced legs and posts them through
:func:`central.ledger.posting.post`. None commits: the caller owns the transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, insert, select, update

from central.db.schema import accounts, holds, postings, transactions
from central.db.types import utcnow
from central.errors import InvalidRequest, NotFound, Refused
from central.ledger import accounts as acc
from central.ledger.plans import (
    Context,
    DbResolver,
    Plan,
    checked_amount,
    plan_charge,
    plan_refund,
    plan_top_up,
    plan_transfer,
    service_name,
)
from central.ledger.posting import Leg, Posted, new_transaction_id, post
from domain.wallets import revenue_code

__all__ = ["Context", "charge", "refund", "reverse", "top_up", "transfer"]


def _result(kind: str, posted: Posted, **extra: Any) -> dict[str, Any]:
    return {
        "transaction_id": posted.transaction_id,
        "kind": kind,
        "created_at": posted.created_at.isoformat(),
        "balances": posted.balances,
        **extra,
    }


def execute(conn: Connection, ctx: Context, plan: Plan) -> dict[str, Any]:
    posted = post(
        conn,
        kind=plan.kind,
        idempotency_key=ctx.idempotency_key,
        legs=plan.legs,
        created_at=ctx.now,
        actor=ctx.actor,
        method=plan.method,
        terminal_id=ctx.terminal_id,
        memo=plan.memo,
    )
    return _result(plan.kind, posted, **plan.extra)


def _resolver(conn: Connection, ctx: Context) -> DbResolver:
    return DbResolver(conn, ctx.estate.currency)


def top_up(conn: Connection, ctx: Context, **request: Any) -> dict[str, Any]:
    return execute(conn, ctx, plan_top_up(_resolver(conn, ctx), ctx, **request))


def charge(conn: Connection, ctx: Context, **request: Any) -> dict[str, Any]:
    return execute(conn, ctx, plan_charge(_resolver(conn, ctx), ctx, **request))


def transfer(conn: Connection, ctx: Context, **request: Any) -> dict[str, Any]:
    return execute(conn, ctx, plan_transfer(_resolver(conn, ctx), ctx, **request))


def refund(conn: Connection, ctx: Context, **request: Any) -> dict[str, Any]:
    return execute(conn, ctx, plan_refund(_resolver(conn, ctx), ctx, **request))


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
    amount = checked_amount(ctx, amount, currency)
    wallet = acc.wallet(conn, unit, purpose)
    service_name(service)
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
    amount = checked_amount(ctx, amount, currency)
    wallet, held, service = _close_hold(conn, hold_id, "captured")
    if amount > held:
        raise Refused(
            f"cannot capture {amount}: the hold reserved only {held}", code="capture_exceeds_hold"
        )
    revenue = _resolver(conn, ctx).system(revenue_code(service), "revenue")
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
