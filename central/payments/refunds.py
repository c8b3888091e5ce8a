"""Refunding a provider top-up the way the money came: back through the provider.

Everything the ledger would refuse is refused before the provider is asked (more
than was paid, counting earlier refunds; more than the wallet has left), so the
provider never pays out money the ledger would then not take from the wallet.
The provider is asked inside the refund's database transaction, with the wallet's
row locked, so nothing can spend the wallet between the check and the posting;
the provider's timeout bounds how long that lock is held. A lost answer rolls the
transaction back: nothing is posted, and the retry (the same refund id) gets the
provider's first answer again and posts once.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import Connection, func, insert, select

from central.db.schema import accounts, postings, transactions
from central.errors import Conflict, InvalidRequest, NotFound, Refused
from central.journal.tables import journal_entries
from central.ledger import accounts as acc
from central.ledger.plans import Context, checked_amount
from central.ledger.posting import Leg, post
from central.payments.provider import ProviderApi
from central.payments.tables import provider_refunds
from domain.wallets import PaymentMethod, clearing_code


def refund_id_for(idempotency_key: str) -> str:
    """The provider's refund id when the caller names none: one per request key."""
    return "rf-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]


def ledger_key(refund_id: str) -> str:
    return f"provider-refund:{refund_id}"


def order_of(conn: Connection, transaction_id: str) -> str | None:
    """The provider order a kiosk's QR top-up paid, from its journal entry's receipt."""
    row = conn.execute(
        select(journal_entries.c.body).where(journal_entries.c.transaction_id == transaction_id)
    ).first()
    if row is None:
        return None
    receipt = json.loads(row.body).get("receipt") or {}
    order = receipt.get("order_id")
    return str(order) if order else None


def _top_up(conn: Connection, transaction_id: str, provider: str) -> tuple[int, int, int]:
    """(wallet id, clearing account id, amount paid in) of a provider top-up, else refused."""
    original = conn.execute(
        select(transactions.c.kind, transactions.c.method).where(
            transactions.c.id == transaction_id
        )
    ).first()
    if original is None:
        raise NotFound(f"there is no transaction {transaction_id!r}", code="unknown_transaction")
    if original.kind != "top_up":
        raise Refused(
            f"transaction {transaction_id} is a {original.kind}, not a top-up: only a "
            "provider top-up is refunded through the provider",
            code="not_a_top_up",
        )
    if original.method != PaymentMethod.PROVIDER.value:
        raise Refused(
            f"transaction {transaction_id} was a {original.method} top-up, not a provider "
            "payment: refund it in cash at the staff desk (POST /v1/ledger/refunds with "
            "method staff_desk)",
            code="refund_at_desk",
        )
    reversed_by = conn.execute(
        select(transactions.c.id).where(transactions.c.reverses_id == transaction_id)
    ).first()
    if reversed_by is not None:
        raise Refused(
            f"transaction {transaction_id} was reversed by {reversed_by.id}: there is "
            "nothing left to refund",
            code="already_reversed",
        )
    legs = conn.execute(
        select(accounts.c.id, accounts.c.kind, accounts.c.code, postings.c.amount)
        .join(accounts, accounts.c.id == postings.c.account_id)
        .where(postings.c.transaction_id == transaction_id)
    ).all()
    wallet = next(r for r in legs if r.kind == "wallet")
    clearing = next(r for r in legs if r.kind == "clearing")
    if clearing.code != clearing_code(provider):
        raise Refused(
            f"transaction {transaction_id} was paid through {clearing.code}, and this server "
            f"refunds through {clearing_code(provider)} only: refund it with that provider",
            code="other_provider",
        )
    return int(wallet.id), int(clearing.id), int(wallet.amount)


def _answer(row: Any, transaction_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "transaction_id": transaction_id,
        "kind": "refund",
        "refund_id": row["refund_id"],
        "order_id": row["order_id"],
        "amount": row["amount"],
        "refunds": row["top_up_id"],
        "created_at": row["created_at"].isoformat(),
        **extra,
    }


def _earlier(conn: Connection, refund_id: str, top_up_id: str, amount: int) -> dict[str, Any]:
    """The answer to a refund id seen before: the first result, or a conflict."""
    row = conn.execute(
        select(provider_refunds).where(provider_refunds.c.refund_id == refund_id)
    ).one()
    if (row.top_up_id, row.amount) != (top_up_id, amount):
        raise Conflict(
            f"refund id {refund_id} was used for {row.amount} of transaction {row.top_up_id}; "
            "use a new refund id for a new refund",
            code="refund_id_reused",
        )
    return _answer(row._mapping, row.transaction_id, already_refunded=True)


def _order(conn: Connection, transaction_id: str, given: str | None) -> str:
    journalled = order_of(conn, transaction_id)
    if journalled and given and given != journalled:
        raise InvalidRequest(
            f"transaction {transaction_id} paid order {journalled}, not {given}",
            code="order_mismatch",
        )
    order = journalled or given
    if not order:
        raise InvalidRequest(
            f"transaction {transaction_id} names no provider order: give order_id "
            "(the provider's order this top-up was paid by)",
            code="order_unknown",
        )
    return order


def refund_top_up(
    conn: Connection,
    ctx: Context,
    provider: ProviderApi,
    *,
    transaction_id: str,
    amount: int,
    currency: str,
    refund_id: str,
    order_id: str | None = None,
) -> dict[str, Any]:
    """Refund ``amount`` of a provider top-up through the provider; once per refund id."""
    wallet_id, clearing_id, paid = _top_up(conn, transaction_id, provider.name)
    amount = checked_amount(ctx, amount, currency)
    seen = select(provider_refunds.c.refund_id).where(provider_refunds.c.refund_id == refund_id)
    if conn.execute(seen).first() is not None:
        return _earlier(conn, refund_id, transaction_id, amount)
    order = _order(conn, transaction_id, order_id)
    # The wallet's row is locked first (PostgreSQL; SQLite's write lock is the
    # database's): two refunds of one top-up then see each other's amounts.
    wallet_row = conn.execute(
        select(accounts.c.balance, accounts.c.held, accounts.c.floor)
        .where(accounts.c.id == wallet_id)
        .with_for_update()
    ).one()
    refunded = int(  # PostgreSQL sums a BIGINT into a NUMERIC
        conn.execute(
            select(func.coalesce(func.sum(provider_refunds.c.amount), 0)).where(
                provider_refunds.c.top_up_id == transaction_id
            )
        ).scalar_one()
    )
    if refunded + amount > paid:
        raise Refused(
            f"transaction {transaction_id} paid in {paid} and {refunded} of it is refunded "
            f"already: at most {paid - refunded} more can be refunded, not {amount}",
            code="refund_exceeds_payment",
        )
    available = wallet_row.balance - wallet_row.held
    if wallet_row.floor is not None and available - amount < wallet_row.floor:
        raise Refused(
            f"the wallet has {available} available: refunding {amount} would take it below "
            f"its floor of {wallet_row.floor} (the household has spent the money)",
            code="insufficient_funds",
        )
    provider.refund(refund_id=refund_id, order_id=order, amount=amount)
    wallet, clearing = acc.by_id(conn, wallet_id), acc.by_id(conn, clearing_id)
    posted = post(
        conn,
        kind="refund",
        idempotency_key=ledger_key(refund_id),
        legs=[Leg(wallet, -amount), Leg(clearing, amount)],
        created_at=ctx.now,
        actor=ctx.actor,
        method=PaymentMethod.PROVIDER.value,
        memo=f"provider refund {refund_id} of {transaction_id} (order {order})",
    )
    row = {
        "refund_id": refund_id,
        "provider": provider.name,
        "top_up_id": transaction_id,
        "order_id": order,
        "amount": amount,
        "transaction_id": posted.transaction_id,
        "actor": ctx.actor,
        "created_at": posted.created_at,
    }
    conn.execute(insert(provider_refunds).values(**row))
    return _answer(
        row,
        posted.transaction_id,
        balances=posted.balances,
        refunded_total=refunded + amount,
        refundable=paid - refunded - amount,
    )
