"""Paying bills: whole or the next instalment, from a wallet, cash, a provider or the desk.

A payment is one balanced ledger transaction: the money's origin (the unit's
wallet, a kiosk's cash box, a provider's clearing account, the staff desk)
against property-fee revenue (and late-fee revenue), or against the building's
maintenance fund for a contribution, which is then an entry of the fund's chain.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from central.db.schema import accounts, units
from central.errors import InvalidRequest, NotFound, Refused
from central.fees.billing import FUND_CONTRIBUTION, PROPERTY_FEE, building_of_unit
from central.fees.fund import fund_account, record_entry
from central.fees.tables import bill_instalments, bill_payments, bills
from central.ledger import accounts as acc
from central.ledger.operations import reverse
from central.ledger.plans import Context, DbResolver, money_source
from central.ledger.posting import Leg, post
from domain.fees import FeeError, instalment_dates, split_instalments
from domain.money import Money
from domain.wallets import Purpose, revenue_code

WHAT = ("whole", "next_instalment")
WALLET = "wallet"
WALLET_OF = {PROPERTY_FEE: Purpose.PROPERTY_FEE, FUND_CONTRIBUTION: Purpose.MAINTENANCE_FUND}


def _bill(conn: Connection, bill_id: int, *, lock: bool = False) -> Any:
    query = (
        select(bills, units.c.code.label("unit"))
        .join(units, units.c.id == bills.c.unit_id)
        .where(bills.c.id == bill_id)
    )
    if lock:
        query = query.with_for_update(of=bills)
    row = conn.execute(query).first()
    if row is None:
        raise NotFound(f"there is no bill {bill_id}", code="unknown_bill")
    return row


def _instalments(conn: Connection, bill_id: int) -> list[Any]:
    return list(
        conn.execute(
            select(bill_instalments)
            .where(bill_instalments.c.bill_id == bill_id)
            .order_by(bill_instalments.c.seq)
        ).all()
    )


def outstanding(row: Any) -> int:
    return int(row.amount - row.paid + row.late_fee - row.late_fee_paid)


def bill_view(conn: Connection, bill_id: int) -> dict[str, Any]:
    row = _bill(conn, bill_id)
    plan = _instalments(conn, bill_id)
    next_due = next((i for i in plan if i.paid_at is None), None)
    return {
        "bill_id": row.id,
        "unit": row.unit,
        "kind": row.kind,
        "period": row.period,
        "memo": row.memo,
        "amount": row.amount,
        "late_fee": row.late_fee,
        "paid": row.paid + row.late_fee_paid,
        "outstanding": outstanding(row),
        "due_on": row.due_on.isoformat(),
        "status": row.status,
        "instalments": [
            {
                "seq": i.seq,
                "amount": i.amount,
                "due_on": i.due_on.isoformat(),
                "paid": i.paid_at is not None,
            }
            for i in plan
        ],
        "next_instalment": None
        if next_due is None
        else {"seq": next_due.seq, "amount": _instalment_due(row, plan, next_due)},
    }


def _instalment_due(row: Any, plan: list[Any], instalment: Any) -> int:
    """An instalment's principal, plus the late fee owed if it is the last one unpaid."""
    unpaid = [i for i in plan if i.paid_at is None]
    late = row.late_fee - row.late_fee_paid if unpaid and unpaid[-1].seq == instalment.seq else 0
    return int(instalment.amount + late)


def unit_bills(conn: Connection, unit: str, *, open_only: bool = True) -> list[dict[str, Any]]:
    query = (
        select(bills.c.id).join(units, units.c.id == bills.c.unit_id).where(units.c.code == unit)
    )
    if open_only:
        query = query.where(bills.c.status == "open")
    if conn.execute(select(units.c.id).where(units.c.code == unit)).first() is None:
        raise NotFound(f"there is no unit {unit!r}", code="unknown_unit")
    ids = conn.execute(query.order_by(bills.c.due_on, bills.c.id)).scalars().all()
    return [bill_view(conn, bill_id) for bill_id in ids]


def plan_instalments(
    conn: Connection, *, bill_id: int, count: int, every_months: int, first_due: date | None
) -> dict[str, Any]:
    """Split what is left of the bill's amount into ``count`` instalments."""
    row = _bill(conn, bill_id, lock=True)
    if row.status != "open":
        raise Refused(f"bill {bill_id} is already paid", code="bill_paid")
    if _instalments(conn, bill_id):
        raise Refused(f"bill {bill_id} already has an instalment plan", code="plan_exists")
    if not 1 <= every_months <= 12:
        raise InvalidRequest("instalments fall 1 to 12 months apart")
    try:
        amounts = split_instalments(int(row.amount - row.paid), count)
    except FeeError as err:
        raise InvalidRequest(str(err), code="invalid_plan") from err
    try:
        dates = instalment_dates(first_due or row.due_on, count, every_months)
    except (ValueError, OverflowError):
        raise InvalidRequest("the instalments would fall past the calendar's end") from None
    conn.execute(
        bill_instalments.insert(),
        [
            {"bill_id": bill_id, "seq": seq, "amount": amount, "due_on": due}
            for seq, (amount, due) in enumerate(zip(amounts, dates, strict=True), start=1)
        ],
    )
    return bill_view(conn, bill_id)


def _origin(conn: Connection, ctx: Context, row: Any, method: str, source: str) -> acc.Account:
    if method == WALLET:
        return acc.wallet(conn, row.unit, WALLET_OF[row.kind])
    return money_source(ctx, DbResolver(conn, ctx.estate.currency), method, source)


def pay_bill(
    conn: Connection,
    ctx: Context,
    *,
    bill_id: int,
    what: str,
    method: str,
    source: str = "",
    expected: int | None = None,
    unit: str | None = None,
) -> dict[str, Any]:
    """Pay the whole of what a bill still owes, or its next instalment.

    ``expected``: the amount the payer was shown; if the bill changed since (a
    late fee added), the payment is refused rather than taking a different sum.
    ``unit``: when given, the bill must be this unit's (a resident, a kiosk session).
    """
    if what not in WHAT:
        raise InvalidRequest(f"pay one of: {', '.join(WHAT)}", code="invalid_request")
    row = _bill(conn, bill_id, lock=True)
    if unit is not None and row.unit != unit:
        raise NotFound(f"there is no bill {bill_id}", code="unknown_bill")
    if row.status != "open":
        raise Refused(f"bill {bill_id} is already paid", code="bill_paid")
    plan = _instalments(conn, bill_id)
    unpaid = [i for i in plan if i.paid_at is None]
    late = int(row.late_fee - row.late_fee_paid)
    if what == "next_instalment":
        if not unpaid:
            raise Refused(f"bill {bill_id} has no instalment plan", code="no_plan")
        covering = unpaid[:1]
        principal = int(covering[0].amount)
        late = late if len(unpaid) == 1 else 0
    else:
        covering = unpaid
        principal = int(row.amount - row.paid)
    total = principal + late
    if expected is not None and expected != total:
        raise Refused(
            f"this payment is now {total}, not {expected}: show the payer the new amount",
            code="amount_changed",
        )
    origin = _origin(conn, ctx, row, method, source)
    legs = [Leg(origin, -total)]
    if row.kind == FUND_CONTRIBUTION:
        building_id, building = building_of_unit(conn, row.unit_id)
        target = fund_account(conn, building, ctx.estate.currency)
        legs.append(Leg(target, total))
    else:
        resolve = DbResolver(conn, ctx.estate.currency)
        legs.append(Leg(resolve.system(revenue_code("property_fee"), "revenue"), principal))
        if late:
            legs.append(Leg(resolve.system(revenue_code("late_fee"), "revenue"), late))
    posted = post(
        conn,
        kind="bill_payment",
        idempotency_key=ctx.idempotency_key,
        legs=legs,
        created_at=ctx.now,
        actor=ctx.actor,
        method=method,
        terminal_id=ctx.terminal_id,
        memo=f"bill {bill_id}: {row.memo}"[:400],
    )
    closes = principal == row.amount - row.paid and late == row.late_fee - row.late_fee_paid
    conn.execute(
        update(bills)
        .where(bills.c.id == bill_id)
        .values(
            paid=bills.c.paid + principal,
            late_fee_paid=bills.c.late_fee_paid + late,
            status="paid" if closes else "open",
            paid_at=ctx.now if closes else None,
        )
    )
    if covering:
        conn.execute(
            update(bill_instalments)
            .where(bill_instalments.c.id.in_([i.id for i in covering]))
            .values(paid_at=ctx.now, transaction_id=posted.transaction_id)
        )
    seq = covering[0].seq if what == "next_instalment" else None
    conn.execute(
        bill_payments.insert().values(
            bill_id=bill_id,
            transaction_id=posted.transaction_id,
            principal=principal,
            late_fee=late,
            instalment_seq=seq,
            method=method,
            at=ctx.now,
        )
    )
    if row.kind == FUND_CONTRIBUTION:
        record_entry(
            conn,
            building=building_id,
            at=ctx.now,
            kind="contribution",
            amount=total,
            transaction_id=posted.transaction_id,
            reference=f"bill {bill_id} {row.period}"[:96],
            unit=row.unit,
        )
    after = bill_view(conn, bill_id)
    return {
        "transaction_id": posted.transaction_id,
        "kind": "bill_payment",
        "bill_id": bill_id,
        "amount": total,
        "balances": posted.balances,
        "bill": after,
        "receipt": receipt(
            ctx,
            unit=row.unit,
            bill=after,
            paid=total,
            principal=principal,
            late=late,
            instalment=None if seq is None else {"seq": seq, "of": len(plan)},
            method=method,
            transaction_id=posted.transaction_id,
            at=ctx.now,
        ),
    }


def receipt(
    ctx: Context,
    *,
    unit: str,
    bill: dict[str, Any],
    paid: int,
    principal: int,
    late: int,
    instalment: dict[str, int] | None,
    method: str,
    transaction_id: str,
    at: datetime,
) -> dict[str, Any]:
    """What a kiosk prints and a phone shows: the estate, the bill, the money. No names."""
    currency = ctx.estate.currency
    return {
        "title": "Property fee receipt" if bill["kind"] == PROPERTY_FEE else "Fund receipt",
        "estate": ctx.estate.name,
        "legal_name": ctx.estate.legal_name,
        "tax_number": ctx.estate.tax_number,
        "unit": unit,
        "bill_id": bill["bill_id"],
        "period": bill["period"],
        "description": bill["memo"],
        "instalment": instalment,
        "principal": principal,
        "late_fee": late,
        "paid": paid,
        "paid_text": Money(paid, currency).format(),
        "remaining": bill["outstanding"],
        "remaining_text": Money(bill["outstanding"], currency).format(),
        "method": method,
        "terminal": ctx.terminal_id,
        "transaction_id": transaction_id,
        "at": at.astimezone(ctx.estate.zone).isoformat(timespec="seconds"),
    }


def payments_made(conn: Connection, bill_id: int) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(bill_payments)
            .where(bill_payments.c.bill_id == bill_id)
        ).scalar_one()
    )


def reverse_payment(
    conn: Connection, ctx: Context, *, transaction_id: str, reason: str
) -> dict[str, Any]:
    """Undo a bill payment: the ledger posts its mirror image and the bill owes it again.

    A contribution's reversal takes the money back out of the building's fund (only
    if the fund still holds it) and is an entry of the fund's chain like any other.
    """
    paid = conn.execute(
        select(bill_payments).where(
            bill_payments.c.transaction_id == transaction_id, bill_payments.c.principal >= 0
        )
    ).first()
    if paid is None:
        raise NotFound(
            f"no bill was paid by transaction {transaction_id!r}", code="unknown_payment"
        )
    row = _bill(conn, paid.bill_id, lock=True)
    reversal = reverse(conn, ctx, transaction_id=transaction_id, reason=reason)
    conn.execute(
        update(bills)
        .where(bills.c.id == row.id)
        .values(
            paid=bills.c.paid - paid.principal,
            late_fee_paid=bills.c.late_fee_paid - paid.late_fee,
            status="open",
            paid_at=None,
        )
    )
    conn.execute(
        update(bill_instalments)
        .where(bill_instalments.c.transaction_id == transaction_id)
        .values(paid_at=None, transaction_id=None)
    )
    conn.execute(
        bill_payments.insert().values(
            bill_id=row.id,
            transaction_id=reversal["transaction_id"],
            principal=-paid.principal,
            late_fee=-paid.late_fee,
            instalment_seq=paid.instalment_seq,
            method="reversal",
            at=ctx.now,
        )
    )
    if row.kind == FUND_CONTRIBUTION:
        building_id, _ = building_of_unit(conn, row.unit_id)
        record_entry(
            conn,
            building=building_id,
            at=ctx.now,
            kind="contribution",
            amount=-(paid.principal + paid.late_fee),
            transaction_id=reversal["transaction_id"],
            reference=f"reversal of bill {row.id} payment"[:96],
            unit=row.unit,
        )
    return {**reversal, "bill": bill_view(conn, row.id)}


def available(conn: Connection, account_id: int) -> int:
    row = conn.execute(
        select(accounts.c.balance, accounts.c.held, accounts.c.floor).where(
            accounts.c.id == account_id
        )
    ).one()
    return int(row.balance - row.held - (row.floor or 0))
