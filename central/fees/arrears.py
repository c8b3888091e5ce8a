"""The daily job: collect what falls due from wallets, add late fees, queue reminders.

Reminders are recorded in ``fee_reminders``, one row per bill and kind (before
or after the due date), so each goes once however often the job runs; the
messages go into the server's notification outbox (``notifications``, built
with metering's low-balance warnings), one per resident and channel, and its
worker sends them through the SMS, e-mail and in-app channels with retries.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from central.db.schema import residents, units
from central.errors import CentralError
from central.estate.settings import Estate
from central.fees.billing import PROPERTY_FEE, FeePolicy, load_policy
from central.fees.payments import (
    WALLET,
    WALLET_OF,
    available,
    outstanding,
    pay_bill,
    payments_made,
)
from central.fees.tables import bill_instalments, bills, fee_reminders
from central.ledger import accounts as acc
from central.ledger.plans import Context
from central.metering.tables import notifications
from domain.fees import late_fee_increment, late_fee_total
from domain.money import Money

log = logging.getLogger("central.fees")

SYSTEM_ACTOR = "system:fees"


def _open_bills(conn: Connection) -> list[Any]:
    return list(
        conn.execute(
            select(bills, units.c.code.label("unit"))
            .join(units, units.c.id == bills.c.unit_id)
            .where(bills.c.status == "open")
            .order_by(bills.c.due_on, bills.c.id)
        ).all()
    )


def _unpaid_instalments(conn: Connection, bill_id: int) -> list[Any]:
    return list(
        conn.execute(
            select(bill_instalments)
            .where(bill_instalments.c.bill_id == bill_id, bill_instalments.c.paid_at.is_(None))
            .order_by(bill_instalments.c.seq)
        ).all()
    )


def collect_due(conn: Connection, estate: Estate, now: datetime) -> list[dict[str, Any]]:
    """Pay each bill (or instalment) that is due from the unit's wallet, if it holds enough.

    Each payment runs in a savepoint: one that fails leaves the others standing.
    """
    today = now.astimezone(estate.zone).date()
    paid: list[dict[str, Any]] = []
    for row in _open_bills(conn):
        plan = _unpaid_instalments(conn, row.id)
        steps: list[tuple[str, int]] = []
        if plan:
            due = [i for i in plan if i.due_on <= today]
            steps = [("next_instalment", i.seq) for i in due]
        elif row.due_on <= today:
            steps = [("whole", 0)]
        wallet = acc.wallet(conn, row.unit, WALLET_OF[row.kind])
        for what, seq in steps:
            current = conn.execute(select(bills).where(bills.c.id == row.id)).one()
            amount = outstanding(current)
            if what == "next_instalment":
                amount = int(plan[seq - plan[0].seq].amount) + (
                    int(current.late_fee - current.late_fee_paid) if seq == plan[-1].seq else 0
                )
            if available(conn, wallet.id) < amount:
                break
            ctx = Context(
                estate=estate,
                # The count of the bill's payments (reversals included) only grows.
                idempotency_key=f"fees:auto:{row.id}:{payments_made(conn, row.id)}",
                actor=SYSTEM_ACTOR,
                now=now,
            )
            try:
                with conn.begin_nested():
                    result = pay_bill(conn, ctx, bill_id=row.id, what=what, method=WALLET)
            except CentralError as err:
                log.info("auto-payment refused", extra={"bill": row.id, "code": err.code})
                break
            paid.append(
                {"bill_id": row.id, "unit": row.unit, "amount": result["amount"], "what": what}
            )
    return paid


def accrue_late_fees(conn: Connection, policy: FeePolicy, today: date) -> list[dict[str, Any]]:
    """Bring each overdue property-fee bill's late fee up to what it has earned, capped."""
    rule = policy.late_fee
    if rule is None:
        return []
    changed: list[dict[str, Any]] = []
    currency = None
    for row in _open_bills(conn):
        if row.kind != PROPERTY_FEE or row.due_on >= today:
            continue
        plan = _unpaid_instalments(conn, row.id)
        overdue = (
            [(int(i.amount), i.due_on) for i in plan if i.due_on < today]
            if plan
            else [(int(row.amount - row.paid), row.due_on)]
        )
        if currency is None:
            currency = acc.wallet(conn, row.unit, WALLET_OF[row.kind]).currency
        earned = late_fee_total(
            bill=int(row.amount), overdue=overdue, today=today, rule=rule, currency=currency
        )
        add = late_fee_increment(earned, int(row.late_fee))
        if add:
            conn.execute(
                update(bills).where(bills.c.id == row.id).values(late_fee=bills.c.late_fee + add)
            )
            changed.append({"bill_id": row.id, "unit": row.unit, "added": add})
    return changed


TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "en": {
        "before": (
            "Your {what} is due on {due}",
            "Unit {unit}: {owed} for {period} is due on {due}. Pay at the lobby kiosk, at the "
            "office or in the app; a balance in the wallet is taken on the due date.",
        ),
        "after": (
            "Your {what} is overdue",
            "Unit {unit}: {owed} for {period} was due on {due} and is still open. "
            "Please pay at the lobby kiosk, at the office or in the app.",
        ),
    },
    "zh_CN": {
        "before": (
            "{what_zh}将于{due}到期",
            "{unit}户：{period}的{what_zh}{owed}将于{due}到期。可在大堂自助机、物业前台或手机上缴纳；"
            "到期日将从钱包余额中自动扣缴。",
        ),
        "after": (
            "{what_zh}已逾期",
            "{unit}户：{period}的{what_zh}{owed}已于{due}到期，尚未缴清。"
            "请在大堂自助机、物业前台或手机上缴纳。",
        ),
    },
}


def _facts(row: Any, estate: Estate) -> dict[str, str]:
    fee = row.kind == PROPERTY_FEE
    return {
        "unit": row.unit,
        "owed": Money(outstanding(row), estate.currency).format(),
        "period": row.period,
        "due": row.due_on.isoformat(),
        "what": "property fee" if fee else "maintenance fund contribution",
        "what_zh": "物业费" if fee else "专项维修资金",
    }


def _queue(conn: Connection, row: Any, kind: str, estate: Estate, now: datetime) -> int:
    """One message per current resident and channel into the notification outbox."""
    facts = _facts(row, estate)
    people = conn.execute(
        select(residents.c.id, residents.c.phone, residents.c.email, residents.c.language).where(
            residents.c.unit_id == row.unit_id, residents.c.moved_out_at.is_(None)
        )
    ).all()
    count = 0
    for person in people:
        language = person.language if person.language in TEMPLATES else "en"
        subject, body = (t.format(**facts) for t in TEMPLATES[language][kind])
        for channel, address in (("sms", person.phone), ("email", person.email), ("app", "")):
            if channel != "app" and not address:
                continue
            conn.execute(
                insert(notifications).values(
                    dedupe_key=f"fee:{row.id}:{kind}:{person.id}:{channel}",
                    unit_id=row.unit_id,
                    resident_id=person.id,
                    channel=channel,
                    kind=f"fee_{kind}",
                    language=language,
                    subject=subject,
                    body=body,
                    status="pending",
                    next_attempt_at=now,
                    created_at=now,
                )
            )
            count += 1
    return count


def queue_reminders(
    conn: Connection, policy: FeePolicy, estate: Estate, now: datetime
) -> list[dict[str, Any]]:
    """One reminder before the due date and one after it, per bill, ever."""
    today = now.astimezone(estate.zone).date()
    sent = {
        (r.bill_id, r.kind)
        for r in conn.execute(select(fee_reminders.c.bill_id, fee_reminders.c.kind))
    }
    queued: list[dict[str, Any]] = []
    for row in _open_bills(conn):
        kind = None
        if row.due_on + timedelta(days=policy.remind_days_after) <= today:
            kind = "after"
        elif row.due_on - timedelta(days=policy.remind_days_before) <= today < row.due_on:
            kind = "before"
        if kind is None or (row.id, kind) in sent:
            continue
        messages = _queue(conn, row, kind, estate, now)
        conn.execute(
            insert(fee_reminders).values(
                bill_id=row.id, kind=kind, created_at=now, messages=messages
            )
        )
        queued.append({"bill_id": row.id, "unit": row.unit, "kind": kind, "messages": messages})
    return queued


def daily(conn: Connection, estate: Estate, now: datetime) -> dict[str, Any]:
    """The day's fee work, in order: late fees first (so a wallet pays them too), then
    collection from wallets, then reminders for what is still open."""
    policy = load_policy(conn)
    today = now.astimezone(estate.zone).date()
    late = accrue_late_fees(conn, policy, today)
    collected = collect_due(conn, estate, now)
    reminders = queue_reminders(conn, policy, estate, now)
    return {
        "day": today.isoformat(),
        "late_fees": late,
        "collected": collected,
        "reminders": reminders,
    }
